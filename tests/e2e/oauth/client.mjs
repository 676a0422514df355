// Helpers for driving provider.mjs from Node tests the way an OAuth client (and its user's browser) would:
// start it, discover it, register a client, run a headless authorization with PKCE, call the token and
// revocation endpoints. Nothing here is Gatehouse code; it is the "other side" a test needs.

import * as crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Child, E2E_DIR } from '../lib/harness.mjs';

/** tests/e2e/oauth/provider.mjs */
export const PROVIDER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'provider.mjs');

/** The Node 22 that tests/e2e installs (oidc-provider wants 22+), else the one running us. */
export function nodeBinary() {
  const bundled = path.join(E2E_DIR, 'node_modules', '.bin', 'node');
  return existsSync(bundled) ? bundled : process.execPath;
}

/**
 * Starts provider.mjs and waits for its `listening on ISSUER` line.
 * @returns {Promise<{ child: Child, issuer: string }>}
 */
export async function startProvider({ accessTokenTtl, refreshTokenTtl, scopes, port = 0 } = {}) {
  const args = [PROVIDER_SCRIPT, '--port', String(port)];
  if (accessTokenTtl !== undefined) args.push('--access-token-ttl', String(accessTokenTtl));
  if (refreshTokenTtl !== undefined) args.push('--refresh-token-ttl', String(refreshTokenTtl));
  if (scopes !== undefined) args.push('--scopes', Array.isArray(scopes) ? scopes.join(' ') : scopes);
  const child = new Child('oauth-provider', nodeBinary(), args);
  try {
    const m = await child.waitForLine(/^listening on (http:\/\/127\.0\.0\.1:\d+)$/);
    return { child, issuer: m[1] };
  } catch (err) {
    await child.stop(1000);
    throw err;
  }
}

/** A PKCE S256 verifier and its challenge. */
export function pkcePair() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/** The payload of a JWT, decoded without checking anything (tests compare it with what the server accepted). */
export function decodeJwtPayload(jwt) {
  const [, payload] = jwt.split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

/**
 * The few cookie rules a headless walk through oidc-provider's interaction needs: its cookies are keyed by
 * name, and a later Set-Cookie of the same name replaces (or, when expired, removes) the earlier one.
 */
export class CookieJar {
  #cookies = new Map();

  store(response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [key, val = ''] = a.trim().split('=');
        if (key.toLowerCase() === 'max-age') return Number(val) <= 0;
        if (key.toLowerCase() === 'expires') return Date.parse(val) <= Date.now();
        return false;
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** GET {issuer}/.well-known/openid-configuration. */
export async function discover(issuer) {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`discovery at ${issuer} answered ${res.status}`);
  return res.json();
}

/** RFC 7591 dynamic registration; returns the registration response (client_id, client_secret, …). */
export async function registerClient(metadata, body) {
  const res = await fetch(metadata.registration_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status !== 201) throw new Error(`registration answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/**
 * Runs the authorization endpoint like a browser whose user consents to everything: follows redirects
 * with a cookie jar through the login and consent interactions and stops at the first redirect to
 * `redirectUri`, without requesting it. Returns that URL's query (`code`, `state`, `iss`, or `error`).
 */
export async function authorizeHeadless(metadata, {
  clientId,
  redirectUri,
  codeChallenge,
  scope,
  resource,
  state = crypto.randomBytes(8).toString('hex'),
  loginHint,
  jar = new CookieJar(),
  maxHops = 12,
}) {
  const url = new URL(metadata.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('code_challenge', codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  if (scope) url.searchParams.set('scope', scope);
  for (const r of [resource].flat().filter(Boolean)) url.searchParams.append('resource', r);
  if (loginHint) url.searchParams.set('login_hint', loginHint);

  let next = url.href;
  let post; // a form body to submit to `next` instead of a GET
  for (let hop = 0; hop < maxHops; hop++) {
    const headers = { Cookie: jar.header() };
    if (post) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(next, { method: post ? 'POST' : 'GET', body: post, redirect: 'manual', headers });
    jar.store(res);
    post = undefined;
    const location = res.headers.get('location');
    if (res.status === 200 && !location) {
      // oidc-provider's self-submitting pages (e.g. "sign out the previous account first" when a login_hint
      // names someone else than the session's account): do what the page's script would do.
      const body = await res.text();
      const form = autoSubmitForm(body);
      if (!form) throw new Error(`authorization stopped at ${next} with 200: ${body.slice(0, 500)}`);
      next = new URL(form.action, next).href;
      post = form.fields;
      continue;
    }
    if (res.status < 300 || res.status >= 400 || !location) {
      const body = await res.text();
      throw new Error(`authorization stopped at ${next} with ${res.status}: ${body.slice(0, 500)}`);
    }
    await res.arrayBuffer().catch(() => {});
    next = new URL(location, next).href;
    if (next.startsWith(redirectUri)) {
      return { ...Object.fromEntries(new URL(next).searchParams), sentState: state, redirect: next };
    }
  }
  throw new Error(`authorization did not reach ${redirectUri} within ${maxHops} redirects`);
}

/** The action and hidden fields of a page's first POST form, when it has one. */
function autoSubmitForm(html) {
  const form = /<form[^>]*method="post"[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return undefined;
  const fields = new URLSearchParams();
  for (const input of form[2].matchAll(/<input[^>]*type="hidden"[^>]*>/gi)) {
    const name = /name="([^"]*)"/.exec(input[0]);
    const value = /value="([^"]*)"/.exec(input[0]);
    if (name) fields.append(name[1], value ? value[1] : '');
  }
  return { action: form[1].replaceAll('&amp;', '&'), fields };
}

/**
 * POSTs a form to the token (or revocation / introspection) endpoint. `client` is a registration response;
 * its token_endpoint_auth_method decides between HTTP Basic, form fields, or just client_id.
 * @returns {Promise<{ status: number, body: any }>}
 */
export async function postForm(endpoint, client, params) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const v of [value].flat()) if (v !== undefined) form.append(key, v);
  }
  switch (client.token_endpoint_auth_method) {
    case 'client_secret_basic': {
      // RFC 6749 §2.3.1: both parts are form-urlencoded before the Basic encoding.
      const id = encodeURIComponent(client.client_id);
      const secret = encodeURIComponent(client.client_secret);
      headers.Authorization = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
      break;
    }
    case 'client_secret_post':
      form.set('client_id', client.client_id);
      form.set('client_secret', client.client_secret);
      break;
    default:
      form.set('client_id', client.client_id);
  }
  const res = await fetch(endpoint, { method: 'POST', headers, body: form });
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

/** GET/POST a provider test endpoint (`/_test/...`) and return its JSON. */
export async function control(issuer, method, pathAndQuery) {
  const res = await fetch(`${issuer}${pathAndQuery}`, { method });
  if (!res.ok) throw new Error(`${method} ${pathAndQuery} answered ${res.status}`);
  return res.json();
}
