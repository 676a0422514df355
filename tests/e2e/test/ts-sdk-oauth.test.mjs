// The official TypeScript MCP SDK client signs in to Gatehouse's own authorization server with its OAuth
// client provider, headlessly, and calls a tool on an upstream through Gatehouse.
//
// The client is given only the server URL. It gets a 401 with `resource_metadata`, reads the protected-resource
// metadata (which names Gatehouse as the authorization server), reads the authorization-server metadata,
// registers itself (RFC 7591), and sends the person to /oauth2/authorize with PKCE S256 and `resource`.
// redirectToAuthorization plays the person: it follows the URL with a cookie jar, signs in on the login page
// with the admin token, approves the consent form, and takes the code from the redirect to the client.
// Then finishAuth(code) and a reconnect. Setup as in ts-sdk-client.test.mjs (fixture `streamable` as `echo`).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { approveInBrowser } from '../lib/browser.mjs';
import { Gatehouse, startFixture } from '../lib/harness.mjs';
import { HeadlessOAuthProvider } from '../lib/oauth-provider.mjs';

const SERVER = 'echo';
const REDIRECT_URL = 'http://127.0.0.1:33419/callback'; // never contacted: the code is taken from the Location header
const TEST_TIMEOUT_MS = 60_000;

let fixture;
let gatehouse;

/** Plays the person in the browser; resolves with the URL the authorization server sent the browser back to. */
function approve(authorizationUrl, adminToken) {
  return approveInBrowser(authorizationUrl, adminToken, {
    checkConsent: (consentPage) => {
      assert.match(consentPage, /gatehouse-e2e-oauth/, 'the consent page names the client');
      assert.match(consentPage, /127\.0\.0\.1:33419/, 'the consent page shows the redirect host');
      assert.match(consentPage, new RegExp(`<code>${SERVER}</code>`), 'the consent page names the server');
    },
  });
}

describe('official TypeScript SDK client signs in to Gatehouse (OAuth)', { timeout: 300_000 }, () => {
  before(async () => {
    fixture = await startFixture('streamable');
    gatehouse = new Gatehouse();
    await gatehouse.addServer(SERVER, fixture.url, 'streamable-http');
    await gatehouse.serve();
  });

  after(async () => {
    await gatehouse?.dispose();
    await fixture?.child.stop();
  });

  test('discovers Gatehouse, registers, signs in headlessly, and calls a tool with the token', { timeout: TEST_TIMEOUT_MS }, async () => {
    const adminToken = readFileSync(path.join(gatehouse.dataDir, 'admin.token'), 'utf8').trim();
    const provider = new HeadlessOAuthProvider({
      redirectUrl: REDIRECT_URL,
      clientMetadata: {
        client_name: 'gatehouse-e2e-oauth',
        redirect_uris: [REDIRECT_URL],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
      approve: (authorizationUrl) => approve(authorizationUrl, adminToken),
    });
    const url = new URL(gatehouse.mcpUrl(SERVER));

    const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
    const firstClient = new Client({ name: 'gatehouse-e2e-oauth', version: '0.0.0' });
    await assert.rejects(firstClient.connect(first), (err) => err instanceof UnauthorizedError);
    await firstClient.close().catch(() => {});

    // What the SDK asked for: PKCE S256 and the server's resource URL; what it got back: code, state and iss (RFC 9207).
    const asked = provider.authorizationUrl;
    assert.equal(asked.pathname, '/oauth2/authorize');
    assert.equal(asked.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(asked.searchParams.get('resource'), gatehouse.mcpUrl(SERVER));
    assert.ok(provider.clientInformation()?.client_id, 'the SDK registered itself (RFC 7591)');
    const code = provider.callback.searchParams.get('code');
    assert.ok(code, `no code in ${provider.callback}`);
    assert.equal(provider.callback.searchParams.get('state'), asked.searchParams.get('state'));
    assert.equal(provider.callback.searchParams.get('iss'), `${gatehouse.baseUrl}/`);

    await first.finishAuth(code);
    assert.ok(provider.tokens()?.access_token, 'finishAuth stored an access token');
    assert.ok(provider.tokens()?.refresh_token, 'a refresh token was issued');

    const transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
    const client = new Client({ name: 'gatehouse-e2e-oauth', version: '0.0.0' });
    await client.connect(transport);
    try {
      const echoed = await client.callTool({ name: 'echo', arguments: { text: 'signed in through Gatehouse' } });
      assert.notEqual(echoed.isError, true, JSON.stringify(echoed));
      assert.match(echoed.content.map((c) => c.text ?? '').join(''), /signed in through Gatehouse/);
    } finally {
      await client.close().catch(() => {});
    }
  });
});
