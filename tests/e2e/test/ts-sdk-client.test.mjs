// The official TypeScript MCP SDK client talking to an upstream through Gatehouse.
//
// Setup: Gatehouse.Testing fixture in `streamable` mode (tools `echo` {text} and `add` {a,b})
// registered in a fresh Gatehouse as server `echo`, one grant for it, `gatehouse serve` on a
// random loopback port. The client connects to http://127.0.0.1:PORT/mcp/echo.
//
// Env: GATEHOUSE_DLL, FIXTURE_DLL (see lib/harness.mjs), E2E_SKIP_LEGACY=1 skips the legacy
// HTTP+SSE (2024-11-05) test.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Gatehouse, startFixture } from '../lib/harness.mjs';

const SERVER = 'echo';
const SKIP_LEGACY = process.env.E2E_SKIP_LEGACY === '1';
const TEST_TIMEOUT_MS = 60_000;

let fixture;
let gatehouse;
let token;

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
    await gatehouse.serve();
  });

  after(async () => {
    await gatehouse?.dispose();
    await fixture?.child.stop();
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

  // LEGACY: the 2024-11-05 HTTP+SSE transport (GET .../sse + POST to the announced endpoint).
  // Set E2E_SKIP_LEGACY=1 to skip while the gateway does not support it.
  describe('legacy HTTP+SSE transport (2024-11-05) [skip with E2E_SKIP_LEGACY=1]', () => {
    // Skipped per test (not per suite) so the runner's "skipped" count shows them.
    const legacyOpts = { timeout: TEST_TIMEOUT_MS, skip: SKIP_LEGACY && 'legacy HTTP+SSE skipped by E2E_SKIP_LEGACY=1' };
    const sseUrl = () => new URL(`${gatehouse.mcpUrl(SERVER)}/sse`);

    test('SSEClientTransport with the grant token: list tools, call echo and add', legacyOpts, async () => {
      const auth = `Bearer ${token}`;
      const transport = new SSEClientTransport(sseUrl(), {
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
      await withClient(transport, exerciseEchoServer);
    });

    test('SSEClientTransport without a token is rejected with 401', legacyOpts, async () => {
      const client = newClient();
      await assert.rejects(client.connect(new SSEClientTransport(sseUrl())), (err) => {
        assert.ok(isUnauthorized(err), `expected a 401 / Unauthorized error, got: ${err?.stack ?? err}`);
        return true;
      });
      await client.close().catch(() => {});
    });
  });
});
