// Loopback-only reverse proxy that adds `Authorization: Bearer <token>` to every request.
//
// The MCP conformance CLI cannot send an Authorization header, so it talks to this adapter,
// which forwards everything to Gatehouse:
//   * all methods, request and response bodies streamed both ways (no buffering),
//     SSE responses flushed chunk by chunk;
//   * the Host and Origin headers are forwarded exactly as the client sent them (the Host
//     header is NOT rewritten to the target), so Gatehouse's DNS-rebinding check sees what the
//     client sent;
//   * when the client goes away, the upstream request is aborted (so SSE streams close).
//
// Library use:   const a = await startGrantAdapter({ target: 'http://127.0.0.1:5000', token });
//                a.url  -> 'http://127.0.0.1:PORT'; await a.close();
// CLI use:       node scripts/grant-adapter.mjs --target http://127.0.0.1:5000 --token T [--port 0]
//                prints `listening on http://127.0.0.1:PORT`.

import http from 'node:http';
import { fileURLToPath } from 'node:url';

// Hop-by-hop headers (RFC 9110 §7.6.1) are connection-specific and never forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Copies raw headers (preserving case, order and repeats) minus hop-by-hop ones. */
function forwardableHeaders(rawHeaders, extraDrop = []) {
  const connectionTokens = new Set();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === 'connection') {
      for (const t of rawHeaders[i + 1].split(',')) connectionTokens.add(t.trim().toLowerCase());
    }
  }
  const drop = new Set([...HOP_BY_HOP, ...connectionTokens, ...extraDrop]);
  const out = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!drop.has(rawHeaders[i].toLowerCase())) out.push([rawHeaders[i], rawHeaders[i + 1]]);
  }
  return out;
}

/**
 * @param {{ target: string, token: string, port?: number, log?: (msg: string) => void }} options
 * @returns {Promise<{ url: string, port: number, server: http.Server, close: () => Promise<void> }>}
 */
export async function startGrantAdapter({ target, token, port = 0, log = () => {} }) {
  const targetUrl = new URL(target);
  if (targetUrl.protocol !== 'http:') throw new Error(`grant adapter: only http:// targets are supported (${target})`);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(targetUrl.hostname)) {
    throw new Error(`grant adapter: target must be a loopback address (${target})`);
  }
  const agent = new http.Agent({ keepAlive: true });

  const server = http.createServer((req, res) => {
    // Drop any client Authorization header: the adapter's token is the one that counts.
    const headers = forwardableHeaders(req.rawHeaders, ['authorization']);
    headers.push(['Authorization', `Bearer ${token}`]);
    // Host is in `headers` already, exactly as the client sent it (if it sent one).

    const upstream = http.request({
      protocol: 'http:',
      hostname: targetUrl.hostname.replace(/^\[|\]$/g, ''),
      port: targetUrl.port || 80,
      method: req.method,
      path: req.url, // path + query exactly as received
      headers: headers.flat(), // raw [name, value, name, value, ...] array, like rawHeaders
      setHost: false, // never add/replace Host: forward the client's one
      agent,
    });
    upstream.setNoDelay?.(true);

    let finished = false;
    const abortBoth = () => {
      if (!upstream.destroyed) upstream.destroy();
      if (!res.writableEnded && !res.destroyed) res.destroy();
    };

    upstream.on('response', (upRes) => {
      const resHeaders = forwardableHeaders(upRes.rawHeaders);
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, resHeaders.flat());
      res.flushHeaders(); // SSE: let the client see the headers before the first event
      res.socket?.setNoDelay(true);
      upRes.on('data', (chunk) => {
        // write() is unbuffered apart from backpressure; pause the upstream if the client is slow.
        if (!res.write(chunk)) {
          upRes.pause();
          res.once('drain', () => upRes.resume());
        }
      });
      upRes.on('end', () => {
        finished = true;
        res.end();
      });
      upRes.on('error', abortBoth);
      // Upstream connection dropped mid-body: propagate by resetting the client's response.
      upRes.on('close', () => {
        if (!upRes.complete) abortBoth();
      });
    });

    upstream.on('error', (err) => {
      log(`upstream error for ${req.method} ${req.url}: ${err.message}`);
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`grant adapter: upstream error: ${err.message}\n`);
      } else {
        abortBoth();
      }
    });

    // Client went away (e.g. closed an SSE stream): abort the upstream request too.
    res.on('close', () => {
      if (!finished) abortBoth();
    });
    req.on('error', abortBoth);

    req.pipe(upstream); // streams the request body; ends the upstream request when done
  });

  // Long-lived SSE streams: no server-side timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.timeout = 0;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = server.address().port;
  return {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--target') opts.target = argv[++i];
    else if (a === '--token') opts.token = argv[++i];
    else if (a === '--port') opts.port = Number(argv[++i]);
    else throw new Error(`unknown argument: ${a}`);
  }
  opts.token ??= process.env.GATEHOUSE_TOKEN;
  if (!opts.target || !opts.token) {
    throw new Error('usage: grant-adapter.mjs --target http://127.0.0.1:PORT --token TOKEN [--port N]  (or env GATEHOUSE_TOKEN)');
  }
  return opts;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    const adapter = await startGrantAdapter({ ...opts, log: (m) => console.error(m) });
    console.log(`listening on ${adapter.url}`);
    const shutdown = () => adapter.close().then(() => process.exit(0));
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
}
