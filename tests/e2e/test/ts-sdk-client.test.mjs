// The official TypeScript MCP SDK client talking to an upstream through Gatehouse.
//
// Setup: Gatehouse.Testing fixture in `streamable` mode (tools `echo` {text} and `add` {a,b})
// registered in a fresh Gatehouse as server `echo`, one grant for it, `gatehouse serve` on a
// random loopback port. The client connects to http://127.0.0.1:PORT/mcp/echo.
// For the legacy HTTP+SSE tests a second fixture in `legacy-sse` mode is registered as
// `echo-legacy` (--transport sse) and reached at http://127.0.0.1:PORT/mcp/echo-legacy/sse.
//
// Env: GATEHOUSE_DLL, FIXTURE_DLL (see lib/harness.mjs), E2E_SKIP_LEGACY=1 skips the legacy
// HTTP+SSE (2024-11-05) test.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Gatehouse, startFixture } from '../lib/harness.mjs';

const SERVER = 'echo'; // fixture `streamable` mode, --transport streamable-http
const LEGACY_SERVER = 'echo-legacy'; // fixture `legacy-sse` mode, --transport sse
const SKIP_LEGACY = process.env.E2E_SKIP_LEGACY === '1';
const TEST_TIMEOUT_MS = 60_000;

let fixture;
let legacyFixture;
let gatehouse;
let token;
let legacyToken;

function newClient() {
  return new Client({ name: 'gatehouse-e2e-ts-sdk', version: '0.0.0' });
}

function textOf(result) {
  assert.ok(Array.isArray(result.content), `tools/call result has no content array: ${JSON.stringify(result)}`);
  return result.content
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('');
}

function isUnauthorized(err) {
  return err?.code === 401 || /\b401\b|unauthori[sz]ed/i.test(String(err?.message ?? err));
}

/** Connects with `transport`, runs `fn(client)`, always closes. */
async function withClient(transport, fn) {
  const client = newClient();
  await client.connect(transport);
  try {
    return await fn(client);
  } finally {
    await client.close().catch(() => {});
  }
}

async function exerciseEchoServer(client) {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  assert.ok(names.includes('echo'), `tools/list through Gatehouse lacks "echo": ${names.join(', ')}`);
  assert.ok(names.includes('add'), `tools/list through Gatehouse lacks "add": ${names.join(', ')}`);

  const echoed = await client.callTool({ name: 'echo', arguments: { text: 'hello from ts' } });
  assert.notEqual(echoed.isError, true, `echo returned an error: ${JSON.stringify(echoed)}`);
  assert.match(textOf(echoed), /hello from ts/);

  const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
  assert.notEqual(sum.isError, true, `add returned an error: ${JSON.stringify(sum)}`);
  assert.match(textOf(sum) || JSON.stringify(sum.structuredContent ?? {}), /\b42\b/);
}

describe('official TypeScript SDK client through Gatehouse', { timeout: 300_000 }, () => {
  before(async () => {
    fixture = await startFixture('streamable');
    gatehouse = new Gatehouse();
    await gatehouse.addServer(SERVER, fixture.url, 'streamable-http');
    token = await gatehouse.createGrant(SERVER, 'ts-sdk-e2e');
    if (!SKIP_LEGACY) {
      legacyFixture = await startFixture('legacy-sse');
      await gatehouse.addServer(LEGACY_SERVER, legacyFixture.url, 'sse');
      legacyToken = await gatehouse.createGrant(LEGACY_SERVER, 'ts-sdk-e2e-legacy');
    }
    await gatehouse.serve();
  });

  after(async () => {
    await gatehouse?.dispose();
    await fixture?.child.stop();
    await legacyFixture?.child.stop();
  });

  test('Streamable HTTP with the grant token: list tools, call echo and add', { timeout: TEST_TIMEOUT_MS }, async () => {
    const transport = new StreamableHTTPClientTransport(new URL(gatehouse.mcpUrl(SERVER)), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    await withClient(transport, exerciseEchoServer);
  });

  test('Streamable HTTP without a token is rejected with 401', { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = newClient();
    const transport = new StreamableHTTPClientTransport(new URL(gatehouse.mcpUrl(SERVER)));
    await assert.rejects(client.connect(transport), (err) => {
      assert.ok(isUnauthorized(err), `expected a 401 / Unauthorized error, got: ${err?.stack ?? err}`);
      return true;
    });
    await client.close().catch(() => {});
  });

  test('Streamable HTTP with a wrong token is rejected with 401', { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = newClient();
    const transport = new StreamableHTTPClientTransport(new URL(gatehouse.mcpUrl(SERVER)), {
      requestInit: { headers: { Authorization: 'Bearer not-a-real-grant-token' } },
    });
    await assert.rejects(client.connect(transport), (err) => {
      assert.ok(isUnauthorized(err), `expected a 401 / Unauthorized error, got: ${err?.stack ?? err}`);
      return true;
    });
    await client.close().catch(() => {});
  });

  // LEGACY: the 2024-11-05 HTTP+SSE transport (GET .../sse, then POST to the announced endpoint).
  // Set E2E_SKIP_LEGACY=1 to skip these while the gateway does not support it.
  describe('legacy HTTP+SSE transport (2024-11-05) [skip with E2E_SKIP_LEGACY=1]', () => {
    // Skipped per test (not per suite) so the runner's "skipped" count shows them.
    const legacyOpts = { timeout: TEST_TIMEOUT_MS, skip: SKIP_LEGACY && 'legacy HTTP+SSE skipped by E2E_SKIP_LEGACY=1' };
    const sseUrl = (server) => new URL(`${gatehouse.mcpUrl(server)}/sse`);

    function legacyTransport(server, bearer) {
      const auth = `Bearer ${bearer}`;
      return new SSEClientTransport(sseUrl(server), {
        // The GET of the event stream goes through eventSourceInit.fetch ...
        eventSourceInit: {
          fetch: (url, init) => {
            const headers = new Headers(init?.headers);
            headers.set('Authorization', auth);
            return fetch(url, { ...init, headers });
          },
        },
        // ... and the POSTs to the announced message endpoint use requestInit.
        requestInit: { headers: { Authorization: auth } },
      });
    }

    // Gatehouse relays HTTP+SSE clients to upstreams that speak HTTP+SSE themselves: the fixture in
    // `legacy-sse` mode, registered with --transport sse.
    test('SSEClientTransport with the grant token to a legacy upstream: list tools, call echo and add', legacyOpts, async () => {
      await withClient(legacyTransport(LEGACY_SERVER, legacyToken), exerciseEchoServer);
    });

    // The brief's original case: a legacy client against the Streamable-HTTP-only `echo` server.
    // Gatehouse may bridge it (then the full exchange must work) or refuse it; a refusal must be a
    // prompt HTTP error (Gatehouse answers 502 GH1507), never a hang.
    test('SSEClientTransport against the Streamable-HTTP-only server works or is refused promptly', legacyOpts, async () => {
      const started = Date.now();
      try {
        await withClient(legacyTransport(SERVER, token), exerciseEchoServer);
      } catch (err) {
        const code = err?.code;
        assert.ok(
          typeof code === 'number' && code >= 400 && code < 600,
          `expected either a working session or an HTTP 4xx/5xx refusal, got: ${err?.stack ?? err}`,
        );
        assert.notEqual(code, 401, 'the grant token was rejected (401) although it is valid for this server');
        assert.ok(Date.now() - started < 30_000, 'the refusal took longer than 30 s');
      }
    });

    test('SSEClientTransport without a token is rejected with 401', legacyOpts, async () => {
      const client = newClient();
      await assert.rejects(client.connect(new SSEClientTransport(sseUrl(LEGACY_SERVER))), (err) => {
        assert.ok(isUnauthorized(err), `expected a 401 / Unauthorized error, got: ${err?.stack ?? err}`);
        return true;
      });
      await client.close().catch(() => {});
    });
  });
});
