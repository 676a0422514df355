#!/usr/bin/env node
// Proves the two OAuth test pieces work together before Gatehouse sits between them: provider.mjs (an
// oidc-provider authorization server) issues tokens, and the Gatehouse.Testing upstream in oauth-protected
// mode accepts exactly the ones meant for it. Run from the repository root:
//
//   tests/e2e/node_modules/.bin/node tests/e2e/oauth/smoke.mjs
//
// It builds tests/Gatehouse.Testing first (set SMOKE_SKIP_BUILD=1 to skip), prints a short summary and
// exits 0 when every check passed.

import { strict as assert } from 'node:assert';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { E2E_DIR, run, startFixture } from '../lib/harness.mjs';
import {
  authorizeHeadless,
  control,
  CookieJar,
  decodeJwtPayload,
  discover,
  pkcePair,
  postForm,
  registerClient,
  startProvider,
} from './client.mjs';

const ACCESS_TOKEN_TTL = 2;
const REDIRECT_URI = 'http://127.0.0.1:9/cb'; // never contacted: the walk stops at the Location header
const OTHER_RESOURCE = 'http://127.0.0.1:1/other/mcp';

const checks = [];
function pass(name) {
  checks.push(name);
  if (process.env.E2E_VERBOSE) process.stderr.write(`ok - ${name}\n`);
}

/** The counters provider.mjs should report, kept in step with every token-endpoint call made below. */
const expected = {
  tokenRequests: 0,
  authorizationCodeGrants: 0,
  refreshGrants: 0,
  clientCredentialsGrants: 0,
  registrations: 0,
  revocations: 0,
  failedRefreshes: 0,
  injectedFailures: 0,
};

async function main() {
  if (!process.env.SMOKE_SKIP_BUILD) {
    await run('dotnet-build', process.env.DOTNET || 'dotnet', ['build', path.resolve(E2E_DIR, '../Gatehouse.Testing'), '-v', 'quiet', '-nologo'], {
      timeoutMs: 300_000,
    });
  }

  const provider = await startProvider({ accessTokenTtl: ACCESS_TOKEN_TTL });
  const stops = [() => provider.child.stop()];
  try {
    const { issuer } = provider;
    const upstream = await startFixture('oauth-protected', { extraArgs: ['--issuer', issuer] });
    stops.push(() => upstream.child.stop());
    const adminUpstream = await startFixture('oauth-protected', { extraArgs: ['--issuer', issuer, '--required-scope', 'mcp:admin'] });
    stops.push(() => adminUpstream.child.stop());
    await runChecks(issuer, upstream.url, adminUpstream.url);
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

async function runChecks(issuer, mcpUrl, adminMcpUrl) {
  // --- discovery ---------------------------------------------------------------------------------------
  const metadata = await discover(issuer);
  assert.equal(metadata.issuer, issuer);
  assert.ok(metadata.registration_endpoint && metadata.revocation_endpoint && metadata.introspection_endpoint);
  assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
  assert.deepEqual(metadata.scopes_supported, ['openid', 'offline_access', 'mcp:tools', 'mcp:admin']);
  assert.equal(metadata.authorization_response_iss_parameter_supported, true);
  pass('provider discovery document');

  // --- the upstream's challenge and metadata -----------------------------------------------------------
  const origin = new URL(mcpUrl).origin;
  const metadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
  let res = await mcpPost(mcpUrl, undefined, toolsList());
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), `Bearer resource_metadata="${metadataUrl}"`);
  const prm = await (await fetch(metadataUrl)).json();
  assert.equal(prm.resource, mcpUrl);
  assert.deepEqual(prm.authorization_servers, [issuer]);
  assert.ok(Array.isArray(prm.scopes_supported));
  pass('upstream: 401 without a token, RFC 9728 metadata');

  // A malformed token also makes the upstream fetch the issuer's JWKS now, not during the 2-second checks.
  res = await mcpPost(mcpUrl, 'not-a-jwt', toolsList());
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), `Bearer error="invalid_token", resource_metadata="${metadataUrl}"`);
  pass('upstream: 401 invalid_token for a malformed token');

  await control(issuer, 'POST', '/_test/reset-stats');

  // --- client credentials: a JWT for this upstream works, one for another resource does not ------------
  const machine = await registerClient(metadata, {
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
  });
  expected.registrations++;
  let tok = await token(metadata, machine, { grant_type: 'client_credentials', scope: 'mcp:tools', resource: mcpUrl });
  expected.clientCredentialsGrants++;
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  let claims = decodeJwtPayload(tok.body.access_token);
  assert.equal(claims.aud, mcpUrl);
  let who = await whoami(mcpUrl, tok.body.access_token);
  assert.equal(who.sub, machine.client_id);
  assert.equal(who.client_id, machine.client_id);
  pass('client_credentials JWT accepted by the upstream');

  tok = await token(metadata, machine, { grant_type: 'client_credentials', scope: 'mcp:tools', resource: OTHER_RESOURCE });
  expected.clientCredentialsGrants++;
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  assert.equal(decodeJwtPayload(tok.body.access_token).aud, OTHER_RESOURCE);
  res = await mcpPost(mcpUrl, tok.body.access_token, toolsList());
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate'), /^Bearer error="invalid_token", resource_metadata="/);
  pass('token for another resource rejected with 401');

  // --- dynamic registration + authorization code with PKCE and resource --------------------------------
  const app = await registerClient(metadata, {
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    client_name: 'oauth smoke',
  });
  expected.registrations++;
  assert.ok(app.client_id && app.client_secret);
  pass('dynamic client registration (http loopback redirect URI)');

  const session = await signIn(metadata, app, { resource: mcpUrl });
  assert.equal(session.callback.iss, issuer);
  assert.equal(session.callback.state, session.callback.sentState);
  claims = decodeJwtPayload(session.accessToken);
  assert.equal(claims.aud, mcpUrl);
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.scope, 'mcp:tools');
  assert.equal(claims.exp - claims.iat, ACCESS_TOKEN_TTL);
  assert.ok(session.refreshToken, 'a refresh token without offline_access');
  who = await whoami(mcpUrl, session.accessToken);
  assert.deepEqual(who, { sub: 'alice', client_id: app.client_id, aud: mcpUrl, scope: 'mcp:tools', jti: claims.jti });
  pass('authorization code + PKCE + resource: JWT for alice accepted, whoami matches');

  // --- expiry ------------------------------------------------------------------------------------------
  await sleep(Math.max(0, claims.exp * 1000 - Date.now()) + 250);
  res = await mcpPost(mcpUrl, session.accessToken, toolsList());
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate'), /^Bearer error="invalid_token"/);
  pass('expired access token rejected with 401');

  // --- refresh rotates; reuse of the old refresh token is invalid_grant --------------------------------
  tok = await token(metadata, app, { grant_type: 'refresh_token', refresh_token: session.refreshToken, resource: mcpUrl });
  expected.refreshGrants++;
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  const rotated = tok.body.refresh_token;
  assert.ok(rotated && rotated !== session.refreshToken, 'refresh token rotated');
  const refreshedClaims = decodeJwtPayload(tok.body.access_token);
  assert.equal(refreshedClaims.aud, mcpUrl);
  assert.notEqual(refreshedClaims.jti, claims.jti);
  who = await whoami(mcpUrl, tok.body.access_token);
  assert.equal(who.jti, refreshedClaims.jti);
  pass('refresh with resource: new JWT accepted, refresh token rotated');

  tok = await token(metadata, app, { grant_type: 'refresh_token', refresh_token: session.refreshToken, resource: mcpUrl });
  expected.failedRefreshes++;
  assert.equal(tok.status, 400);
  assert.equal(tok.body.error, 'invalid_grant');
  // oidc-provider treats reuse as theft and revokes the whole grant, rotated token included.
  tok = await token(metadata, app, { grant_type: 'refresh_token', refresh_token: rotated, resource: mcpUrl });
  expected.failedRefreshes++;
  assert.equal(tok.body.error, 'invalid_grant');
  pass('reused refresh token: invalid_grant, and the grant is revoked');

  // --- login_hint picks the account ------------------------------------------------------------------
  const bob = await signIn(metadata, app, { resource: mcpUrl, loginHint: 'bob' });
  who = await whoami(mcpUrl, bob.accessToken);
  assert.equal(who.sub, 'bob');
  pass('login_hint=bob signs in bob');

  // --- revocation endpoint ------------------------------------------------------------------------------
  tok = await postForm(metadata.revocation_endpoint, app, { token: bob.refreshToken, token_type_hint: 'refresh_token' });
  expected.revocations++;
  assert.equal(tok.status, 200);
  tok = await token(metadata, app, { grant_type: 'refresh_token', refresh_token: bob.refreshToken, resource: mcpUrl });
  expected.failedRefreshes++;
  assert.equal(tok.body.error, 'invalid_grant');
  pass('revoked refresh token: invalid_grant');

  // --- /_test/revoke-all --------------------------------------------------------------------------------
  const carol = await signIn(metadata, app, { resource: mcpUrl, loginHint: 'carol' });
  const revoked = await control(issuer, 'POST', '/_test/revoke-all');
  assert.ok(revoked.revoked.RefreshToken >= 1 && revoked.revoked.Grant >= 1, JSON.stringify(revoked));
  tok = await token(metadata, app, { grant_type: 'refresh_token', refresh_token: carol.refreshToken, resource: mcpUrl });
  expected.failedRefreshes++;
  assert.equal(tok.body.error, 'invalid_grant');
  pass('POST /_test/revoke-all: next refresh is invalid_grant');

  // --- /_test/fail-token-endpoint ---------------------------------------------------------------------
  const dave = await signIn(metadata, app, { resource: mcpUrl, loginHint: 'dave' });
  await control(issuer, 'POST', '/_test/fail-token-endpoint?count=2&status=503');
  for (let i = 0; i < 2; i++) {
    tok = await token(metadata, app, { grant_type: 'refresh_token', refresh_token: dave.refreshToken, resource: mcpUrl });
    expected.injectedFailures++;
    assert.equal(tok.status, 503);
  }
  tok = await token(metadata, app, { grant_type: 'refresh_token', refresh_token: dave.refreshToken, resource: mcpUrl });
  expected.refreshGrants++;
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  pass('POST /_test/fail-token-endpoint: the next N token requests fail, then service resumes');

  // --- required scope ---------------------------------------------------------------------------------
  const adminOrigin = new URL(adminMcpUrl).origin;
  const adminMetadataUrl = `${adminOrigin}/.well-known/oauth-protected-resource/mcp`;
  res = await mcpPost(adminMcpUrl, undefined, toolsList());
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), `Bearer resource_metadata="${adminMetadataUrl}", scope="mcp:admin"`);
  tok = await token(metadata, machine, { grant_type: 'client_credentials', scope: 'mcp:tools', resource: adminMcpUrl });
  expected.clientCredentialsGrants++;
  res = await mcpPost(adminMcpUrl, tok.body.access_token, toolCall('echo', { text: 'hi' }));
  assert.equal(res.status, 403);
  assert.equal(
    res.headers.get('www-authenticate'),
    `Bearer error="insufficient_scope", scope="mcp:admin", resource_metadata="${adminMetadataUrl}"`,
  );
  tok = await token(metadata, machine, { grant_type: 'client_credentials', scope: 'mcp:tools mcp:admin', resource: adminMcpUrl });
  expected.clientCredentialsGrants++;
  who = await whoami(adminMcpUrl, tok.body.access_token);
  assert.equal(who.scope, 'mcp:tools mcp:admin');
  pass('required scope: 403 insufficient_scope without it, accepted with it');

  // --- the official TypeScript SDK's own OAuth client finds its way from the upstream's 401 -------------
  who = await sdkOAuthWhoami(mcpUrl);
  assert.equal(who.sub, 'alice');
  assert.equal(who.aud, mcpUrl);
  expected.registrations++;
  expected.authorizationCodeGrants++;
  pass('TS SDK OAuth client: 401 -> metadata -> DCR -> PKCE + resource -> token -> whoami');

  // --- counters --------------------------------------------------------------------------------------
  const stats = await control(issuer, 'GET', '/_test/stats');
  expected.tokenRequests =
    expected.authorizationCodeGrants + expected.refreshGrants + expected.clientCredentialsGrants +
    expected.failedRefreshes + expected.injectedFailures;
  assert.deepEqual(stats, expected);
  pass(`provider /_test/stats exact: ${JSON.stringify(stats)}`);

  const authStats = await (await fetch(`${new URL(mcpUrl).origin}/_test/auth-stats`)).json();
  assert.deepEqual(authStats.subjects, ['alice', 'bob', machine.client_id].sort());
  assert.equal(authStats.rejectedTokens, 5); // none, malformed, other resource, expired, the SDK's first try
  assert.ok(authStats.acceptedTokens >= 4);
  pass(`upstream /_test/auth-stats: ${authStats.acceptedTokens} accepted, ${authStats.rejectedTokens} rejected, subjects ${authStats.subjects.join(',')}`);
}

/** DCR'd client signs in (headless) and exchanges the code: one authorization_code grant. */
async function signIn(metadata, client, { resource, loginHint, scope = 'mcp:tools' }) {
  const { verifier, challenge } = pkcePair();
  const callback = await authorizeHeadless(metadata, {
    clientId: client.client_id,
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    scope,
    resource,
    loginHint,
  });
  assert.ok(callback.code, `no code in ${callback.redirect}`);
  const tok = await token(metadata, client, {
    grant_type: 'authorization_code',
    code: callback.code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    resource,
  });
  expected.authorizationCodeGrants++;
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  return { callback, accessToken: tok.body.access_token, refreshToken: tok.body.refresh_token };
}

/**
 * Lets the SDK's StreamableHTTPClientTransport do discovery, registration, PKCE and the token exchange itself;
 * only the user's browser is played here (the headless redirect walk).
 */
async function sdkOAuthWhoami(url) {
  const redirectUri = 'http://127.0.0.1:9/sdk-callback';
  let clientInformation;
  let tokens;
  let verifier;
  let code;
  const authProvider = {
    get redirectUrl() {
      return redirectUri;
    },
    get clientMetadata() {
      return {
        client_name: 'gatehouse-oauth-smoke-sdk',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      };
    },
    clientInformation: () => clientInformation,
    saveClientInformation: (info) => {
      clientInformation = info;
    },
    tokens: () => tokens,
    saveTokens: (t) => {
      tokens = t;
    },
    saveCodeVerifier: (v) => {
      verifier = v;
    },
    codeVerifier: () => verifier,
    async redirectToAuthorization(authorizationUrl) {
      const jar = new CookieJar();
      let next = authorizationUrl.href;
      for (let hop = 0; hop < 12 && !code; hop++) {
        const res = await fetch(next, { redirect: 'manual', headers: { Cookie: jar.header() } });
        jar.store(res);
        next = new URL(res.headers.get('location'), next).href;
        if (next.startsWith(redirectUri)) code = new URL(next).searchParams.get('code');
      }
    },
  };
  const first = new StreamableHTTPClientTransport(new URL(url), { authProvider });
  await assert.rejects(new Client({ name: 'smoke', version: '0.0.0' }).connect(first), UnauthorizedError);
  assert.ok(code, 'the SDK sent the user through authorization');
  await first.finishAuth(code);

  const client = new Client({ name: 'smoke', version: '0.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider }));
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return JSON.parse(result.content[0].text);
  } finally {
    await client.close();
  }
}

function token(metadata, client, params) {
  return postForm(metadata.token_endpoint, client, params);
}

function toolsList() {
  return { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
}

function toolCall(name, args) {
  return { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: args } };
}

function mcpPost(url, accessToken, message) {
  const headers = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': '2025-11-25',
  };
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  return fetch(url, { method: 'POST', headers, body: JSON.stringify(message) });
}

/** Calls the upstream's whoami tool through the official TypeScript SDK client with a fixed bearer token. */
async function whoami(url, accessToken) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${accessToken}` } },
  });
  const client = new Client({ name: 'gatehouse-oauth-smoke', version: '0.0.0' });
  await client.connect(transport);
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    return JSON.parse(result.content[0].text);
  } finally {
    await client.close();
  }
}

try {
  await main();
  process.stdout.write(checks.map((c) => `ok - ${c}\n`).join(''));
  process.stdout.write(`oauth smoke: ${checks.length} passed, 0 failed\n`);
  process.exit(0);
} catch (err) {
  process.stdout.write(checks.map((c) => `ok - ${c}\n`).join(''));
  process.stderr.write(`not ok - ${err?.stack ?? err}\n`);
  process.stdout.write(`oauth smoke: ${checks.length} passed, 1 failed\n`);
  process.exit(1);
}
