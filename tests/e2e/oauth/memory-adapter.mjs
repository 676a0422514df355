// The storage behind provider.mjs: every oidc-provider model (clients, grants, codes, refresh tokens,
// sessions, interactions) lives in one in-process Map. oidc-provider's built-in adapter would do for a
// single test run too, but it cannot list what it holds, and POST /_test/revoke-all has to find every
// token and grant issued so far. Nothing is persisted: a restarted provider starts empty.

/** Models that belong to a grant and die with it (revocation, refresh-token reuse detection). */
const GRANT_MEMBERS = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'ClientCredentials',
]);

/** What POST /_test/revoke-all removes: every issued credential and every grant, so no refresh can succeed. */
export const REVOCABLE_MODELS = [...GRANT_MEMBERS, 'Grant'];

// Records outlive their own `exp` by this much: the models check expiry themselves and answer with a
// precise error ("refresh token is expired") that a test can assert, which a vanished record would not give.
const RETENTION_SLACK_MS = 60_000;

export class MemoryStore {
  #records = new Map(); // `${model}:${id}` -> { model, id, payload, expiresAt }
  #uidIndex = new Map(); // session uid -> session id
  #userCodeIndex = new Map(); // device user code -> device code id

  /** An adapter class for oidc-provider's `adapter` option, bound to this store. */
  adapterClass() {
    const store = this;
    return class MemoryAdapter {
      constructor(model) {
        this.model = model;
      }

      async upsert(id, payload, expiresIn) {
        store.upsert(this.model, id, payload, expiresIn);
      }

      async find(id) {
        return store.find(this.model, id);
      }

      async findByUid(uid) {
        const id = store.#uidIndex.get(uid);
        return id === undefined ? undefined : store.find(this.model, id);
      }

      async findByUserCode(userCode) {
        const id = store.#userCodeIndex.get(userCode);
        return id === undefined ? undefined : store.find(this.model, id);
      }

      async consume(id) {
        const payload = store.find(this.model, id);
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      }

      async destroy(id) {
        store.destroy(this.model, id);
      }

      async revokeByGrantId(grantId) {
        store.revokeByGrantId(grantId);
      }
    };
  }

  upsert(model, id, payload, expiresIn) {
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 + RETENTION_SLACK_MS : Infinity;
    this.#records.set(`${model}:${id}`, { model, id, payload, expiresAt });
    if (model === 'Session' && payload.uid) this.#uidIndex.set(payload.uid, id);
    if (payload.userCode) this.#userCodeIndex.set(payload.userCode, id);
  }

  find(model, id) {
    const key = `${model}:${id}`;
    const record = this.#records.get(key);
    if (!record) return undefined;
    if (record.expiresAt <= Date.now()) {
      this.destroy(model, id);
      return undefined;
    }
    return record.payload;
  }

  destroy(model, id) {
    const key = `${model}:${id}`;
    const record = this.#records.get(key);
    if (!record) return;
    this.#records.delete(key);
    if (record.payload.uid && this.#uidIndex.get(record.payload.uid) === id) this.#uidIndex.delete(record.payload.uid);
    if (record.payload.userCode && this.#userCodeIndex.get(record.payload.userCode) === id) {
      this.#userCodeIndex.delete(record.payload.userCode);
    }
  }

  revokeByGrantId(grantId) {
    // A linear scan: a test provider holds at most a few thousand records.
    for (const record of [...this.#records.values()]) {
      if (GRANT_MEMBERS.has(record.model) && record.payload.grantId === grantId) {
        this.destroy(record.model, record.id);
      }
    }
  }

  /** Removes every record of the given models; returns how many of each were removed. */
  destroyAll(models) {
    const wanted = new Set(models);
    const removed = Object.fromEntries(models.map((m) => [m, 0]));
    for (const record of [...this.#records.values()]) {
      if (wanted.has(record.model)) {
        this.destroy(record.model, record.id);
        removed[record.model] += 1;
      }
    }
    return removed;
  }
}
