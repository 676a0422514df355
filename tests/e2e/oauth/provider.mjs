#!/usr/bin/env node
// An independent OAuth 2 authorization server for Gatehouse's upstream-OAuth tests: the npm package
// oidc-provider (not written here), configured the way an MCP upstream's AS is usually met in the wild —
// open dynamic client registration, PKCE S256, resource indicators with JWT access tokens whose `aud` is
// the resource, rotating refresh tokens — and with a headless login + consent so no browser is needed.
//
// Usage (Node 22, e.g. tests/e2e/node_modules/.bin/node):
//   node tests/e2e/oauth/provider.mjs [--port 0] [--access-token-ttl 60] [--refresh-token-ttl 86400]
//                                     [--scopes "mcp:tools mcp:admin"] [--identity-claims]
// --identity-claims makes it an organisation's identity provider as well: the profile, email and groups scopes release
// name, preferred_username, email and groups (at userinfo; the ID token carries sub), for the accounts that
// POST /_test/account describes. Without it, scopes_supported and every token are exactly as before.
// Prints exactly one line on stdout, `listening on http://127.0.0.1:PORT` (the issuer), and runs until
// SIGTERM/SIGINT or until stdin closes (when stdin is a pipe), so it dies with the test that started it.
//
// Test control endpoints (plain JSON, same server): GET /_test/stats, POST /_test/reset-stats,
// POST /_test/revoke-all, POST /_test/forget-clients, POST /_test/fail-token-endpoint?count=N&status=503,
// POST /_test/account ({sub, name, preferred_username, email, groups}: describes an account and makes it the one a
// headless login without login_hint signs in). See README.md beside this file.
//
// Counting: tokenRequests is every POST /token (injected failures included); the grant counters come from
// oidc-provider's grant.success event, failedRefreshes from grant.error with grant_type=refresh_token,
// registrations from registration_create.success, revocations from the revocation policy hook (a request
// that revoked a known token; oidc-provider 9 has no revocation.success event). Events fire before the
// response is written, so a client that got its answer always sees the counter already moved.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

import { MemoryStore, REVOCABLE_MODELS } from './memory-adapter.mjs';

// oidc-provider prints its notices with console.info, i.e. on stdout, which belongs to the one readiness
// line. Everything it says goes to stderr instead; the readiness line is written with process.stdout.
console.info = (...args) => console.error(...args);
console.log = (...args) => console.error(...args);

const { default: Provider, errors, interactionPolicy } = await import('oidc-provider');

const USAGE =
  'usage: provider.mjs [--port N] [--access-token-ttl SECONDS] [--refresh-token-ttl SECONDS] [--scopes "a b"] [--identity-claims]';

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      'access-token-ttl': { type: 'string', default: '60' },
      'refresh-token-ttl': { type: 'string', default: '86400' },
      scopes: { type: 'string', default: 'mcp:tools mcp:admin' },
      'identity-claims': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }
  const integer = (name, min, max) => {
    const text = values[name];
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) {
      process.stderr.write(`--${name} needs a whole number between ${min} and ${max}\n${USAGE}\n`);
      process.exit(2);
    }
    return n;
  };
  return {
    port: integer('port', 0, 65535),
    accessTokenTtl: integer('access-token-ttl', 1, 10 * 365 * 86400),
    refreshTokenTtl: integer('refresh-token-ttl', 1, 10 * 365 * 86400),
    scopes: values.scopes.split(/\s+/).filter(Boolean),
    identityClaims: values['identity-claims'],
  };
}

function newSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
}

function isHttpUrl(value) {
  const url = URL.parse(value);
  return url !== null && (url.protocol === 'http:' || url.protocol === 'https:');
}

function emptyStats() {
  return {
    tokenRequests: 0,
    authorizationCodeGrants: 0,
    refreshGrants: 0,
    clientCredentialsGrants: 0,
    registrations: 0,
    revocations: 0,
    failedRefreshes: 0,
    // Not asked for by name, but needed to tell an injected 503 from a real one when reading the others.
    injectedFailures: 0,
  };
}

const GRANT_COUNTERS = {
  authorization_code: 'authorizationCodeGrants',
  refresh_token: 'refreshGrants',
  client_credentials: 'clientCredentialsGrants',
};

/**
 * oidc-provider's default prompts, plus: a login_hint naming someone other than the signed-in account asks
 * for a login again, so one cookie jar can sign in alice and then bob.
 */
function interactionPolicyWithLoginHint() {
  const { Check } = interactionPolicy;
  const policy = interactionPolicy.base();
  policy.get('login').checks.add(
    new Check('login_hint_differs', 'login_hint names another account than the session\'s', (ctx) => {
      const hint = ctx.oidc.params.login_hint;
      const current = ctx.oidc.session.accountId;
      return hint && current && hint !== current ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    }),
  );
  return policy;
}

/** The interaction route: finishes whatever prompt is pending (login, then consent) without a page. */
async function completeInteraction(provider, req, res, defaultAccount) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (process.env.PROVIDER_DEBUG) process.stderr.write(`interaction ${JSON.stringify({ prompt, params, session })}\n`);

  if (prompt.name === 'login') {
    const accountId = typeof params.login_hint === 'string' && params.login_hint ? params.login_hint : defaultAccount();
    await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
    return;
  }

  if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    if (missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  await provider.interactionFinished(
    req,
    res,
    { error: 'access_denied', error_description: `the test provider cannot complete a '${prompt.name}' prompt` },
    { mergeWithLastSubmission: false },
  );
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    return null;
  }
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(text);
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const store = new MemoryStore();
  let stats = emptyStats();
  let failures = { remaining: 0, status: 503 };
  // Claims of the accounts POST /_test/account described, by sub; the last one described is who a login without hint is.
  const accounts = new Map();
  let defaultAccountId = 'alice';
  let provider; // created once the port, hence the issuer, is known
  let providerCallback;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      process.stderr.write(`provider: ${err?.stack ?? err}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(err?.message ?? err) });
      else res.destroy();
    });
  });

  async function handle(req, res) {
    if (!provider) {
      // Only possible in the instant between listen() and the readiness line; nobody should be calling yet.
      sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'the provider is still starting' });
      return;
    }
    const url = new URL(req.url, provider.issuer);
    const path = url.pathname;

    if (path.startsWith('/_test/')) {
      await handleControl(req, res, url);
      return;
    }

    if (req.method === 'GET' && path === '/auth' && !url.searchParams.has('scope')) {
      // RFC 6749 §3.3: without a scope parameter the server applies a default or fails. oidc-provider fails
      // (nothing granted means access_denied); MCP clients often send no scope, so the default is the scope
      // the client registered with, else every scope this server offers.
      const client = await provider.Client.find(url.searchParams.get('client_id') ?? '').catch(() => undefined);
      url.searchParams.set('scope', client?.scope ?? options.scopes.join(' '));
      req.url = `${url.pathname}${url.search}`;
    }

    if (req.method === 'GET' && path.startsWith('/interaction/')) {
      await completeInteraction(provider, req, res, () => defaultAccountId);
      return;
    }

    if (req.method === 'POST' && path === '/token') {
      stats.tokenRequests += 1;
      if (failures.remaining > 0) {
        failures.remaining -= 1;
        stats.injectedFailures += 1;
        req.resume(); // drain the body so the connection can be reused
        sendJson(res, failures.status, {
          error: failures.status === 503 ? 'temporarily_unavailable' : 'server_error',
          error_description: 'failure injected by POST /_test/fail-token-endpoint',
        });
        return;
      }
    }

    providerCallback(req, res);
  }

  async function handleControl(req, res, url) {
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /_test/stats':
        sendJson(res, 200, stats);
        return;
      case 'POST /_test/reset-stats':
        stats = emptyStats();
        sendJson(res, 200, stats);
        return;
      case 'POST /_test/revoke-all': {
        // Sessions go too, so the next authorization starts with a fresh login and a fresh grant.
        const removed = store.destroyAll([...REVOCABLE_MODELS, 'Session']);
        sendJson(res, 200, { revoked: removed });
        return;
      }
      case 'POST /_test/forget-clients': {
        // The server "loses" every dynamic registration (and what was issued to them): the next token request of
        // such a client gets invalid_client, which is how a gateway learns it must register again.
        const removed = store.destroyAll(['Client', ...REVOCABLE_MODELS, 'Session']);
        sendJson(res, 200, { forgotten: removed });
        return;
      }
      case 'POST /_test/account': {
        const account = await readJson(req);
        if (typeof account?.sub !== 'string' || !account.sub) {
          sendJson(res, 400, { error: 'the body must be a JSON object with a non-empty string sub' });
          return;
        }
        accounts.set(account.sub, account);
        defaultAccountId = account.sub;
        sendJson(res, 200, account);
        return;
      }
      case 'POST /_test/fail-token-endpoint': {
        const count = Number(url.searchParams.get('count') ?? '1');
        const status = Number(url.searchParams.get('status') ?? '503');
        if (!Number.isInteger(count) || count < 0 || !Number.isInteger(status) || status < 400 || status > 599) {
          sendJson(res, 400, { error: 'count must be a whole number >= 0 and status a 4xx or 5xx code' });
          return;
        }
        failures = { remaining: count, status };
        sendJson(res, 200, { remaining: count, status });
        return;
      }
      default:
        sendJson(res, 404, { error: `no test endpoint ${route}` });
    }
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const jwtResourceServer = {
    scope: options.scopes.join(' '),
    accessTokenTTL: options.accessTokenTtl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };

  provider = new Provider(issuer, {
    adapter: store.adapterClass(),
    jwks: { keys: [newSigningKey()] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access', ...options.scopes],
    claims: options.identityClaims
      ? { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'], groups: ['groups'] }
      : { openid: ['sub'] },
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt'],
    pkce: { required: () => true },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ ...(accounts.get(sub) ?? {}), sub }) }),
    interactions: { policy: interactionPolicyWithLoginHint(), url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // Refresh tokens for every client allowed to use them, without offline_access or prompt=consent:
    // MCP clients (and Gatehouse) ask for the resource's scopes only.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    // Tokens must not depend on the browser session the headless login created (it is thrown away).
    expiresWithSession: async () => false,
    clientBasedCORS: () => true,
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? options.accessTokenTtl,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? options.accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: options.refreshTokenTtl,
      Grant: Math.max(options.refreshTokenTtl, 14 * 86400),
      Interaction: 600,
      Session: 86400,
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, initialAccessToken: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Any authenticated client may introspect; a public one only its own tokens.
        allowedPolicy: async (ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === ctx.oidc.client.clientId,
      },
      revocation: {
        enabled: true,
        // Called only for a known, revocable token, right before it is destroyed: the one place that tells a
        // revocation that revoked something from the 200 RFC 7009 gives for unknown tokens too.
        allowedPolicy: async (_ctx, client, token) => {
          if (token.clientId !== client.clientId) {
            if (client.clientAuthMethod === 'none') return false;
            throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
          }
          stats.revocations += 1;
          return true;
        },
      },
      resourceIndicators: {
        enabled: true,
        // A client that asked for exactly one resource gets it by default at the token endpoint.
        defaultResource: async (_ctx, _client, oneOf) => (Array.isArray(oneOf) && oneOf.length === 1 ? oneOf[0] : oneOf),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (!isHttpUrl(resourceIndicator)) {
            throw new errors.InvalidTarget('this test server only knows http(s) resources');
          }
          return { ...jwtResourceServer, audience: resourceIndicator };
        },
      },
    },
  });

  providerCallback = provider.callback();

  provider.on('grant.success', (ctx) => {
    const counter = GRANT_COUNTERS[ctx.oidc.params?.grant_type];
    if (counter) stats[counter] += 1;
  });
  provider.on('grant.error', (ctx) => {
    const grantType = ctx.oidc?.params?.grant_type ?? ctx.request?.body?.grant_type;
    if (grantType === 'refresh_token') stats.failedRefreshes += 1;
  });
  provider.on('registration_create.success', () => {
    stats.registrations += 1;
  });
  provider.on('server_error', (_ctx, err) => {
    process.stderr.write(`provider server_error: ${err?.stack ?? err}\n`);
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (stdinIsPipe()) {
    // The parent keeps our stdin open while it wants us alive; end-of-file means it went away.
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }

  process.stdout.write(`listening on ${issuer}\n`);
}

/** Only a pipe means "the parent is holding us"; /dev/null or a terminal would stop us at once or never. */
function stdinIsPipe() {
  try {
    return fs.fstatSync(0).isFIFO();
  } catch {
    return false;
  }
}

await main();
