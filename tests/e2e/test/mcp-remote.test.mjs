// mcp-remote (npm), the stdio-to-remote bridge many desktop MCP clients launch, signs in to Gatehouse's own
// authorization server and calls a tool through it, headlessly.
//
// mcp-remote has no flag to skip the browser. It prints the authorization URL on stderr ("Please authorize this client
// by visiting:") and opens it with the `open` package, whose bundled xdg-open falls back to `$BROWSER <url>` when no
// desktop is detected. So the test clears DISPLAY / WAYLAND_DISPLAY / XDG_CURRENT_DESKTOP and points BROWSER at a
// script that only records the URL it was given; the test itself then plays the person (login with the admin token,
// consent) and visits mcp-remote's loopback callback with the code, as the browser would. mcp-remote exchanges the code,
// connects, and the test speaks newline-delimited JSON-RPC on its stdio: initialize, tools/list, tools/call.
//
// MCP_REMOTE_CONFIG_DIR keeps its client registration and tokens in a temporary folder; --allow-http and
// --host 127.0.0.1 let it use a plain-http loopback Gatehouse and register http://127.0.0.1:<port>/oauth/callback.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { approveInBrowser } from '../lib/browser.mjs';
import { Child, E2E_DIR, Gatehouse, startFixture } from '../lib/harness.mjs';

const SERVER = 'echo';
const TEST_TIMEOUT_MS = 60_000;
const MCP_REMOTE = path.join(E2E_DIR, 'node_modules', 'mcp-remote', 'dist', 'proxy.js');

let fixture;
let gatehouse;
let scratch;

/** Newline-delimited JSON-RPC over a child's stdin/stdout: requests resolve with the response carrying their id. */
class StdioRpc {
  constructor(child) {
    this.child = child;
    this.pending = new Map();
    this.buffer = '';
    this.nextId = 1;
    child.proc.stdout.on('data', (chunk) => {
      this.buffer += chunk;
      let newline;
      while ((newline = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, newline).trim();
        this.buffer = this.buffer.slice(newline + 1);
        if (!line) continue;
        const message = JSON.parse(line);
        const waiter = message.id !== undefined && this.pending.get(message.id);
        if (waiter) {
          this.pending.delete(message.id);
          waiter(message);
        }
      }
    });
  }

  request(method, params) {
    const id = this.nextId++;
    const answered = new Promise((resolve, reject) => {
      this.pending.set(id, resolve);
      this.child.exitPromise.then(() => reject(new Error(`mcp-remote exited before answering ${method}.\n${this.child.outputReport()}`)));
    });
    this.child.proc.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
    return answered;
  }

  notify(method, params) {
    this.child.proc.stdin.write(JSON.stringify({ jsonrpc: '2.0', method, params }) + '\n');
  }
}

describe('mcp-remote signs in to Gatehouse headlessly and calls a tool', { timeout: 300_000 }, () => {
  before(async () => {
    fixture = await startFixture('streamable');
    gatehouse = new Gatehouse();
    await gatehouse.addServer(SERVER, fixture.url, 'streamable-http');
    await gatehouse.serve();
    scratch = mkdtempSync(path.join(tmpdir(), 'gatehouse-mcp-remote-'));
  });

  after(async () => {
    await gatehouse?.dispose();
    await fixture?.child.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  test('discovers, registers, authorizes through the BROWSER hook, and proxies tools/call', { timeout: TEST_TIMEOUT_MS }, async () => {
    const adminToken = readFileSync(path.join(gatehouse.dataDir, 'admin.token'), 'utf8').trim();
    const opened = path.join(scratch, 'opened-urls.txt');
    const browser = path.join(scratch, 'browser.sh');
    writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${opened}'\n`);
    chmodSync(browser, 0o755);

    const remote = new Child('mcp-remote', process.execPath, [MCP_REMOTE, gatehouse.mcpUrl(SERVER), '--allow-http', '--host', '127.0.0.1'], {
      env: {
        MCP_REMOTE_CONFIG_DIR: path.join(scratch, 'config'),
        BROWSER: browser,
        DISPLAY: '',
        WAYLAND_DISPLAY: '',
        XDG_CURRENT_DESKTOP: '',
      },
    });
    try {
      const [, printed] = await remote.waitForLine(/^(http:\/\/127\.0\.0\.1:\d+\/oauth2\/authorize\?\S+)$/, TEST_TIMEOUT_MS);
      await remote.waitForLine(/Browser opened automatically/, TEST_TIMEOUT_MS);
      const authorizationUrl = new URL(readFileSync(opened, 'utf8').trim());
      // mcp-remote re-encodes the URL before opening it ('+' becomes '%20'): compare parameters, not strings.
      assert.deepEqual([...authorizationUrl.searchParams], [...new URL(printed).searchParams], 'the BROWSER hook got the URL mcp-remote printed');
      assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
      assert.equal(authorizationUrl.searchParams.get('resource'), gatehouse.mcpUrl(SERVER));
      assert.match(authorizationUrl.searchParams.get('client_id') ?? '', /^ghc_/, 'mcp-remote registered itself (RFC 7591)');

      const callback = await approveInBrowser(authorizationUrl, adminToken, {
        checkConsent: (page) => assert.match(page, /MCP CLI Proxy/, 'the consent page names mcp-remote'),
      });
      assert.equal(callback.origin, new URL(authorizationUrl.searchParams.get('redirect_uri')).origin);
      assert.ok(callback.searchParams.get('code'), `no code in ${callback}`);
      const landed = await fetch(callback);
      assert.equal(landed.status, 200, 'mcp-remote accepted the callback');
      await landed.arrayBuffer();

      await remote.waitForLine(/Proxy established successfully/, TEST_TIMEOUT_MS);
      const rpc = new StdioRpc(remote);
      const init = await rpc.request('initialize', {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'gatehouse-e2e-mcp-remote', version: '0.0.0' },
      });
      assert.ok(init.result?.protocolVersion, JSON.stringify(init));
      rpc.notify('notifications/initialized');

      const list = await rpc.request('tools/list', {});
      assert.ok(list.result?.tools?.some((t) => t.name === 'echo'), JSON.stringify(list));

      const call = await rpc.request('tools/call', { name: 'echo', arguments: { text: 'bridged by mcp-remote' } });
      assert.notEqual(call.result?.isError, true, JSON.stringify(call));
      assert.match(call.result.content.map((c) => c.text ?? '').join(''), /bridged by mcp-remote/);
      assert.doesNotMatch(remote.stderr, new RegExp(adminToken), 'the admin token never appears in mcp-remote output');
    } catch (err) {
      err.message += `\n${remote.outputReport()}`;
      throw err;
    } finally {
      await remote.stop();
    }
  });
});
