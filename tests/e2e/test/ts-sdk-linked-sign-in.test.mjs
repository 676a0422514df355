// Linked sign-in with a real client: the official TypeScript SDK client (which declares no URL elicitation) signs in
// to Gatehouse for a per-user server whose upstream account the person has not connected yet. The same browser flow
// goes from Gatehouse's consent page on to the upstream's authorization server (npm oidc-provider), back through
// Gatehouse's callback, and only then to the client with its code. The client's very first tools/call therefore
// already carries the person's own upstream token: the upstream (Gatehouse.Testing `oauth-protected`, which validates
// the JWT) reports whose token it saw.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Browser, hiddenFields } from '../lib/browser.mjs';
import { Child, E2E_DIR, Gatehouse, startFixture } from '../lib/harness.mjs';
import { HeadlessOAuthProvider } from '../lib/oauth-provider.mjs';

const SERVER = 'personal';
const UPSTREAM_ACCOUNT = 'alice-at-upstream';
const REDIRECT_URL = 'http://127.0.0.1:33421/callback'; // never contacted: the code is taken from the Location header
const TEST_TIMEOUT_MS = 90_000;

let authorizationServer;
let fixture;
let gatehouse;
let signInToken;

/**
 * Plays alice in her browser: Gatehouse login (her one-time token) and consent, then the upstream's authorization
 * server (headless: the login hint picks her account there), then back through Gatehouse until it redirects to the
 * client. Returns that redirect and every host the browser visited.
 */
async function signInThroughUpstream(authorizationUrl, issuer) {
  const browser = new Browser();
  const visited = [];
  let response = await browser.fetch(authorizationUrl);
  let here = new URL(authorizationUrl);
  assert.equal(response.status, 302);
  const login = new URL(response.headers.get('location'), here);
  assert.equal(login.pathname, '/oauth2/login');
  const loginPage = await (await browser.fetch(login)).text();
  response = await browser.postForm(new URL('/oauth2/login', login), [...hiddenFields(loginPage), ['token', signInToken]]);
  assert.equal(response.status, 302, 'the one-time sign-in token is accepted');
  here = new URL(response.headers.get('location'), login);
  const consentPage = await (await browser.fetch(here)).text();
  assert.match(consentPage, new RegExp(`<code>${SERVER}</code>`), 'the consent page names the server');
  response = await browser.postForm(new URL('/oauth2/authorize', here), [...hiddenFields(consentPage), ['consent', 'accept']]);

  let hinted = false;
  for (let hop = 0; hop < 25; hop++) {
    assert.ok([302, 303].includes(response.status), `stopped at ${here} with ${response.status}: ${await response.text()}`);
    let next = new URL(response.headers.get('location'), here);
    if (next.href.startsWith(REDIRECT_URL)) {
      return { callback: next, visited };
    }
    visited.push(next.origin);
    if (!hinted && next.origin === issuer) {
      next.searchParams.set('login_hint', UPSTREAM_ACCOUNT);
      hinted = true;
    }
    here = next;
    response = await browser.fetch(next);
  }
  throw new Error('too many redirects');
}

describe('linked sign-in: a client without elicitation support needs no extra step for a per-user server', { timeout: 300_000 }, () => {
  before(async () => {
    authorizationServer = new Child('oidc-provider', process.execPath, [path.join(E2E_DIR, 'oauth', 'provider.mjs')]);
    const issuer = (await authorizationServer.waitForLine(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1];
    fixture = await startFixture('oauth-protected', { extraArgs: ['--issuer', issuer] });
    fixture.issuer = issuer;
    gatehouse = new Gatehouse();
    await gatehouse.cli(['server', 'add', SERVER, '--url', fixture.url, '--auth', 'oauth', '--allow-loopback-auth', '--per-user']);
    const added = await gatehouse.cli(['user', 'add', 'alice']);
    signInToken = added.stdout.trim().split('\n').at(-1).trim();
    await gatehouse.serve();
  });

  after(async () => {
    await gatehouse?.dispose();
    await fixture?.child.stop();
    await authorizationServer?.stop();
  });

  test('the sign-in passes through the upstream consent and the first tools/call carries her own upstream token', { timeout: TEST_TIMEOUT_MS }, async () => {
    let visited = [];
    const provider = new HeadlessOAuthProvider({
      redirectUrl: REDIRECT_URL,
      clientMetadata: {
        client_name: 'gatehouse-e2e-linked',
        redirect_uris: [REDIRECT_URL],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
      approve: async (authorizationUrl) => {
        const result = await signInThroughUpstream(authorizationUrl, fixture.issuer);
        visited = result.visited;
        return result.callback;
      },
    });
    const url = new URL(gatehouse.mcpUrl(SERVER));

    const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
    const firstClient = new Client({ name: 'gatehouse-e2e-linked', version: '0.0.0' });
    await assert.rejects(firstClient.connect(first), (err) => err instanceof UnauthorizedError);
    await firstClient.close().catch(() => {});
    assert.ok(visited.includes(fixture.issuer), `the browser went through the upstream's authorization server: ${visited.join(' ')}`);
    assert.ok(visited.includes(gatehouse.baseUrl), 'and came back through Gatehouse');

    await first.finishAuth(provider.callback.searchParams.get('code'));
    const transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
    const client = new Client({ name: 'gatehouse-e2e-linked', version: '0.0.0' });
    await client.connect(transport);
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      assert.notEqual(result.isError, true, JSON.stringify(result));
      const seen = JSON.parse(result.content.map((c) => c.text ?? '').join(''));
      assert.equal(seen.sub, UPSTREAM_ACCOUNT, 'the upstream saw alice\'s own upstream token');
    } finally {
      await client.close().catch(() => {});
    }
  });
});
