// Self-test of scripts/grant-adapter.mjs (no .NET needed): the adapter used by the conformance
// comparison must add the bearer token, keep Host/Origin as sent, and stream without buffering.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startGrantAdapter } from '../scripts/grant-adapter.mjs';

let upstream;
let adapter;
const firstEventSeen = {};
firstEventSeen.promise = new Promise((resolve) => (firstEventSeen.resolve = resolve));

function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('grant adapter', () => {
  before(async () => {
    upstream = http.createServer((req, res) => {
      if (req.url === '/sse') {
        // Writes one event, then waits until the test has *received* it before finishing: an
        // adapter that buffered the response would make the test time out.
        res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': 'abc' });
        res.write('data: 0\n\n');
        firstEventSeen.promise.then(() => res.end('data: 1\n\n'));
        return;
      }
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'yes' });
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
      });
    });
    await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
    adapter = await startGrantAdapter({ target: `http://127.0.0.1:${upstream.address().port}`, token: 'tok123' });
  });

  after(async () => {
    await adapter?.close();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  test('adds the bearer token (replacing any sent) and forwards method, path, query, body, status and headers', async () => {
    const r = await request(`${adapter.url}/mcp/x?y=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer client', 'mcp-session-id': 's1' },
      body: '{"a":1}',
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers['x-upstream'], 'yes');
    const seen = JSON.parse(r.text);
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/mcp/x?y=1');
    assert.equal(seen.body, '{"a":1}');
    assert.equal(seen.headers.authorization, 'Bearer tok123');
    assert.equal(seen.headers['mcp-session-id'], 's1');
  });

  test('keeps Host and Origin exactly as the client sent them', async () => {
    const r = await request(`${adapter.url}/mcp`, {
      method: 'DELETE',
      headers: { host: 'evil.example.com', origin: 'http://evil.example.com' },
    });
    const seen = JSON.parse(r.text);
    assert.equal(seen.headers.host, 'evil.example.com');
    assert.equal(seen.headers.origin, 'http://evil.example.com');

    const r2 = await request(`${adapter.url}/mcp`);
    assert.equal(JSON.parse(r2.text).headers.host, `127.0.0.1:${adapter.port}`); // the adapter's, not the target's
  });

  test('streams SSE events as they are written (no buffering)', { timeout: 20_000 }, async () => {
    const res = await fetch(`${adapter.url}/sse`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const timer = setTimeout(() => reader.cancel(new Error('first SSE event not relayed within 5 s: the adapter buffers')), 5_000);
    while (!text.includes('data: 0\n\n')) {
      const { value, done } = await reader.read();
      assert.ok(!done, `stream ended before the first event was relayed (got ${JSON.stringify(text)})`);
      text += decoder.decode(value, { stream: true });
    }
    clearTimeout(timer);
    firstEventSeen.resolve();
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
    assert.equal(text, 'data: 0\n\ndata: 1\n\n');
  });

  test('answers 502 when the target is down', async () => {
    const dead = http.createServer();
    await new Promise((r) => dead.listen(0, '127.0.0.1', r));
    const port = dead.address().port;
    await new Promise((r) => dead.close(r));
    const a = await startGrantAdapter({ target: `http://127.0.0.1:${port}`, token: 't' });
    try {
      const r = await request(`${a.url}/mcp`);
      assert.equal(r.status, 502);
    } finally {
      await a.close();
    }
  });

  test('refuses non-loopback targets', async () => {
    await assert.rejects(startGrantAdapter({ target: 'http://example.com', token: 't' }), /loopback/);
  });
});
