// The official TypeScript SDK client signs in to Gatehouse with a Client ID Metadata Document instead of registering:
// its OAuthClientProvider names `clientMetadataUrl`, Gatehouse advertises `client_id_metadata_document_supported`, so
// the SDK sends that URL as client_id and Gatehouse fetches the document, checks it and shows its host on the consent
// page.
//
// The SDK accepts only an https clientMetadataUrl (with a path), so the document is served over https on 127.0.0.1
// with a throw-away self-signed certificate made by openssl. Gatehouse trusts it through SSL_CERT_FILE (which .NET on
// Linux reads as its root store) and may fetch from loopback because of `serve --allow-loopback-client-metadata`.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { approveInBrowser } from '../lib/browser.mjs';
import { Gatehouse, run, startFixture } from '../lib/harness.mjs';
import { HeadlessOAuthProvider } from '../lib/oauth-provider.mjs';

const SERVER = 'echo';
const REDIRECT_URL = 'http://127.0.0.1:33421/callback'; // never contacted: the code is taken from the Location header
const TEST_TIMEOUT_MS = 60_000;

let fixture;
let gatehouse;
let scratch;
let documentServer;
let documentUrl;
let fetches = 0;

/** Plays the person in the browser, checking what the consent page says about a metadata document client. */
function approve(authorizationUrl, adminToken) {
  return approveInBrowser(authorizationUrl, adminToken, {
    checkConsent: (page) => {
      assert.match(page, /gatehouse-e2e-cimd/, 'the consent page shows the name from the document');
      assert.match(page, /127\.0\.0\.1:33421/, 'the consent page shows the redirect host');
      assert.match(page, new RegExp(`Identified by.*${new URL(documentUrl).host}`, 's'), 'the consent page says which host identifies the client');
    },
  });
}

describe('official TypeScript SDK client signs in with a Client ID Metadata Document', { timeout: 300_000 }, () => {
  before(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'gatehouse-cimd-'));
    const key = path.join(scratch, 'key.pem');
    const cert = path.join(scratch, 'cert.pem');
    await run('openssl', 'openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ]);

    documentServer = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      if (req.url !== '/clients/e2e.json') {
        res.writeHead(404).end();
        return;
      }
      fetches++;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=3600' });
      res.end(JSON.stringify({
        client_id: documentUrl,
        client_name: 'gatehouse-e2e-cimd',
        redirect_uris: [REDIRECT_URL],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      }));
    });
    await new Promise((resolve) => documentServer.listen(0, '127.0.0.1', resolve));
    documentUrl = `https://127.0.0.1:${documentServer.address().port}/clients/e2e.json`;

    fixture = await startFixture('streamable');
    gatehouse = new Gatehouse();
    await gatehouse.addServer(SERVER, fixture.url, 'streamable-http');
    await gatehouse.serve({ extraArgs: ['--allow-loopback-client-metadata'], env: { SSL_CERT_FILE: cert } });
  });

  after(async () => {
    await gatehouse?.dispose();
    await fixture?.child.stop();
    await new Promise((resolve) => (documentServer ? documentServer.close(resolve) : resolve()));
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  test('uses its document URL as client_id, signs in headlessly, and calls a tool', { timeout: TEST_TIMEOUT_MS }, async () => {
    const adminToken = readFileSync(path.join(gatehouse.dataDir, 'admin.token'), 'utf8').trim();
    const provider = new HeadlessOAuthProvider({
      redirectUrl: REDIRECT_URL,
      clientMetadata: { client_name: 'gatehouse-e2e-cimd', redirect_uris: [REDIRECT_URL], token_endpoint_auth_method: 'none' },
      clientMetadataUrl: documentUrl,
      approve: (authorizationUrl) => approve(authorizationUrl, adminToken),
    });
    const url = new URL(gatehouse.mcpUrl(SERVER));

    const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
    const firstClient = new Client({ name: 'gatehouse-e2e-cimd', version: '0.0.0' });
    await assert.rejects(firstClient.connect(first), (err) => err instanceof UnauthorizedError);
    await firstClient.close().catch(() => {});

    assert.equal(provider.authorizationUrl.searchParams.get('client_id'), documentUrl, 'the SDK used the document URL as client_id');
    assert.equal(fetches, 1, 'Gatehouse fetched the document once');
    const code = provider.callback.searchParams.get('code');
    assert.ok(code, `no code in ${provider.callback}`);

    await first.finishAuth(code);
    assert.ok(provider.tokens()?.access_token, 'finishAuth stored an access token');

    const transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
    const client = new Client({ name: 'gatehouse-e2e-cimd', version: '0.0.0' });
    await client.connect(transport);
    try {
      const echoed = await client.callTool({ name: 'echo', arguments: { text: 'identified by a metadata document' } });
      assert.notEqual(echoed.isError, true, JSON.stringify(echoed));
      assert.match(echoed.content.map((c) => c.text ?? '').join(''), /identified by a metadata document/);
    } finally {
      await client.close().catch(() => {});
    }
  });
});
