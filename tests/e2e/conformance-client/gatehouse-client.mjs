#!/usr/bin/env node
// The client command for `conformance client` (@modelcontextprotocol/conformance): makes Gatehouse the OAuth
// client of the suite's MCP server, then talks MCP to that server through Gatehouse with the official TypeScript
// SDK client.
//
//   conformance client --command "node gatehouse-client.mjs" --scenario auth/metadata-default
//   -> node gatehouse-client.mjs http://localhost:PORT/mcp      (env MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT)
//
// Steps: fresh data dir; `server add conformance --url URL --auth oauth --allow-loopback-auth` with whatever the
// scenario hands over in MCP_CONFORMANCE_CONTEXT (pre-registered client id and secret, private key) and the
// client_credentials grant for `auth/client-credentials-*`; `grant create`; `serve`; `server connect` (for
// authorization_code: follow the connect link the way a browser would, through the suite's authorization server,
// which approves at once, back to Gatehouse's callback); then initialize, tools/list and tools/call of the first
// tool through /mcp/conformance. A GH1704 answer (the upstream wants more scope) is handled like a person would:
// connect again, then retry the request. GH1705 (Gatehouse gave up stepping up) and every other failure end the
// run with exit code 1, which scenarios such as auth/scope-retry-limit and auth/resource-mismatch expect.
//
// Env:
//   GATEHOUSE_DLL   gatehouse.dll to run (relative paths: to tests/e2e); default the Release build, else Debug
//   GATEHOUSE_CLIENT_DEADLINE_MS  the wrapper gives up (exit 1, Gatehouse stopped) after this long (default 110000)
//   E2E_VERBOSE=1   echo Gatehouse's own output;  E2E_KEEP_DATA=1 keeps the temporary data directory
// Progress goes to stderr; the conformance CLI keeps it in its result directory (stderr.txt).

import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CookieJar } from '../oauth/client.mjs';
import { Child, E2E_DIR, Gatehouse, parseJsonOutput } from '../lib/harness.mjs';

const SERVER_NAME = 'conformance';
/** Reconnections (step-up) the wrapper itself allows, whatever Gatehouse does: a safety net, not the bound under test. */
const MAX_RECONNECTS = 5;
/** Redirects followed from a connect link to Gatehouse's callback page. */
const MAX_HOPS = 10;
/** Gatehouse's error ids (docs/errors.md) that this wrapper reacts to. */
const STEP_UP_NEEDED = 'GH1704';
const STEP_UP_EXHAUSTED = 'GH1705';
const RELEASE_DLL = '../../src/Gatehouse.Host/bin/Release/net10.0/gatehouse.dll';
const CLIENT_SECRET_ENV = 'GATEHOUSE_CONFORMANCE_CLIENT_SECRET';

const started = Date.now();
function log(msg) {
  console.error(`[gatehouse-client +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
}

/** A failure that ends the run with a one-line explanation (and exit code 1). */
class WrapperError extends Error {}

/** Where the `auth/basic-cimd` scenario considers the client's metadata document published. */
const CIMD_PUBLISHED_URL = 'https://conformance-test.local/client-metadata.json';

/** The `server add` options a scenario needs, from its id and MCP_CONFORMANCE_CONTEXT. */
function oauthOptions(scenario, context, dataDir) {
  const args = ['--auth', 'oauth', '--allow-loopback-auth'];
  const env = {};
  if (scenario.startsWith('auth/client-credentials-')) args.push('--oauth-grant', 'client_credentials');
  if (context.client_id) args.push('--client-id', context.client_id);
  if (context.client_secret) {
    env[CLIENT_SECRET_ENV] = context.client_secret;
    args.push('--client-secret-env', CLIENT_SECRET_ENV);
  }
  if (context.private_key_pem) {
    const keyFile = path.join(dataDir, 'conformance-client-key.pem');
    writeFileSync(keyFile, context.private_key_pem, { mode: 0o600 });
    args.push('--private-key-file', keyFile);
  }
  return { args, env };
}

function readContext() {
  const raw = process.env.MCP_CONFORMANCE_CONTEXT;
  if (!raw) return {};
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new WrapperError(`MCP_CONFORMANCE_CONTEXT is not JSON: ${err.message}`);
  }
}

/** Gatehouse with a few extra `serve` options (start-up time counts against the scenario's timeout). */
class ConformanceGatehouse extends Gatehouse {
  async serve(extra = []) {
    this.child = new Child('gatehouse', process.env.DOTNET || 'dotnet', [
      this.dll, '--data', this.dataDir, 'serve', '--urls', 'http://127.0.0.1:0', '--decision-log', 'off', '--metrics', 'off', ...extra,
    ]);
    const m = await this.child.waitForLine(/listening on:? (http:\/\/127\.0\.0\.1:\d+)/i);
    this.baseUrl = m[1];
    return this.baseUrl;
  }

  /** Runs a CLI command that may fail; returns { code, stdout, stderr }. */
  tryCli(args, env) {
    return this.cli(args, { allowFailure: true, env });
  }

  /** The last lines `serve` printed (its log lines explain refused upstream and token requests). */
  serveLog(lines = 20) {
    const text = [this.child?.stdout, this.child?.stderr].filter(Boolean).join('\n').trim();
    return text.split(/\r?\n/).slice(-lines).join('\n');
  }
}

function cliFailure(what, r) {
  const message = r.stderr.trim() || r.stdout.trim() || '(no output)';
  return new WrapperError(`${what} failed (exit code ${r.code}): ${message}`);
}

/**
 * Opens a connect link like a browser: GET, follow each redirect by hand (relative locations resolved, cookies
 * kept per host), stop at the first answer that is not a redirect. Gatehouse's callback answers 200 on success.
 */
async function followConnectLink(connectUrl) {
  const jars = new Map();
  let url = connectUrl;
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    const host = new URL(url).host;
    if (!jars.has(host)) jars.set(host, new CookieJar());
    const jar = jars.get(host);
    const cookie = jar.header();
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { Cookie: cookie } : {} });
    jar.store(res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.arrayBuffer().catch(() => {});
      const next = new URL(location, url).href;
      log(`  ${res.status} ${describeUrl(url)} -> ${describeUrl(next)}`);
      url = next;
      continue;
    }
    const text = htmlToText(await res.text());
    if (res.status !== 200) {
      throw new WrapperError(`the connect flow ended at ${describeUrl(url)} with HTTP ${res.status}: ${text.slice(0, 400)}`);
    }
    log(`  ${res.status} ${describeUrl(url)}: ${text.slice(0, 160)}`);
    return text;
  }
  throw new WrapperError(`the connect flow did not end within ${MAX_HOPS} redirects (last: ${describeUrl(url)})`);
}

/** A URL without its query values (codes, states and flow tokens do not belong in logs). */
function describeUrl(url) {
  const u = new URL(url);
  const keys = [...u.searchParams.keys()];
  return `${u.origin}${u.pathname.replace(/\/oauth\/connect\/.+$/, '/oauth/connect/…')}${keys.length ? `?${keys.join('&')}` : ''}`;
}

function htmlToText(html) {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}

/** `server connect`: for authorization_code, follow the printed link; client_credentials connects at once. */
async function connect(gh, attempt) {
  log(`server connect ${SERVER_NAME} (attempt ${attempt})`);
  const r = await gh.tryCli(['server', 'connect', SERVER_NAME, '--json']);
  if (r.code !== 0) throw cliFailure('gatehouse server connect', r);
  const json = parseJsonOutput(r.stdout, 'gatehouse server connect');
  if (json.connectUrl) {
    log(`  issuer ${json.issuer ?? '?'}, scopes ${json.scopes ?? '(none named)'}, client ${json.clientSource ?? '?'}`);
    await followConnectLink(json.connectUrl);
  } else {
    log(`  ${json.status ?? 'connected'} (issuer ${json.issuer ?? '?'}, scopes ${json.scopes ?? '(none named)'})`);
  }
}

/**
 * The Gatehouse error id (GHxxxx) carried by an SDK error: a JSON-RPC error's `data.gatehouseError` (McpError),
 * or the JSON-RPC body quoted in a transport error's message (an HTTP error status), or any GHxxxx it names.
 */
function gatehouseErrorOf(err) {
  if (!err) return undefined;
  const direct = err.data?.gatehouseError ?? err.error?.data?.gatehouseError;
  if (direct) return direct;
  const message = String(err.message ?? err);
  const brace = message.indexOf('{');
  if (brace >= 0) {
    try {
      const body = JSON.parse(message.slice(brace));
      const id = body?.error?.data?.gatehouseError ?? body?.data?.gatehouseError;
      if (id) return id;
    } catch {
      /* not a JSON body */
    }
  }
  return /\b(GH\d{4})\b/.exec(message)?.[1];
}

/** A tool result that reports an error can carry a Gatehouse error too (isError content or _meta). */
function gatehouseErrorOfResult(result) {
  if (!result?.isError) return undefined;
  return /\b(GH\d{4})\b/.exec(JSON.stringify(result))?.[1];
}

class McpSession {
  constructor(url, token) {
    this.url = url;
    this.token = token;
    this.client = null;
  }

  async open() {
    await this.close();
    const transport = new StreamableHTTPClientTransport(new URL(this.url), {
      requestInit: { headers: { Authorization: `Bearer ${this.token}` } },
    });
    const client = new Client({ name: 'gatehouse-conformance-client', version: '1.0.0' });
    await client.connect(transport);
    this.client = client;
    return client;
  }

  async close() {
    const client = this.client;
    this.client = null;
    if (client) await client.close().catch(() => {});
  }
}

async function main() {
  // A safety net for a wrapper left running when the CLI's own timeout did not reach it: exiting runs the harness's
  // exit hooks, which kill Gatehouse and delete the data directory.
  const deadlineMs = Number(process.env.GATEHOUSE_CLIENT_DEADLINE_MS) || 110_000;
  setTimeout(() => {
    log(`FAILED: gave up after ${deadlineMs} ms (GATEHOUSE_CLIENT_DEADLINE_MS)`);
    process.exit(1);
  }, deadlineMs).unref();

  const serverUrl = process.argv[2];
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '(none)';
  if (!serverUrl) throw new WrapperError('usage: gatehouse-client.mjs <mcp-server-url> (run by `conformance client`)');
  const context = readContext();
  if (!process.env.GATEHOUSE_DLL && existsSync(path.resolve(E2E_DIR, RELEASE_DLL))) process.env.GATEHOUSE_DLL = RELEASE_DLL;

  let gh;
  let session;
  try {
    gh = new ConformanceGatehouse();
    log(`scenario ${scenario}, upstream ${serverUrl}, context keys [${Object.keys(context).filter((k) => k !== 'name').join(', ')}]`);
    log(`gatehouse ${gh.dll}, data ${gh.dataDir}`);

    const oauth = oauthOptions(scenario, context, gh.dataDir);
    log(`server add ${SERVER_NAME} ${oauth.args.join(' ')}`);
    const add = await gh.tryCli(['server', 'add', SERVER_NAME, '--url', serverUrl, ...oauth.args, '--json'], oauth.env);
    if (add.code !== 0) throw cliFailure('gatehouse server add', add);
    const token = await gh.createGrant(SERVER_NAME, 'conformance-client');
    // The CIMD scenario expects the client id its suite treats as already published. Gatehouse is told that its
    // client metadata document is published there (`serve --client-metadata-url`, meant for a gateway whose document
    // lives on an HTTPS front other than its own address), so the document path itself is what gets tested.
    await gh.serve(scenario === 'auth/basic-cimd' ? ['--client-metadata-url', CIMD_PUBLISHED_URL] : []);
    log(`serve: listening on ${gh.baseUrl}`);

    let reconnects = 0;
    await connect(gh, 1);

    session = new McpSession(gh.mcpUrl(SERVER_NAME), token);
    /** Runs `op`; on GH1704 connects again (bounded) and retries. */
    const withStepUp = async (what, op) => {
      for (;;) {
        let id;
        let failure;
        try {
          const result = await op();
          id = gatehouseErrorOfResult(result);
          if (!id) return result;
          failure = new Error(`${what} returned an error result: ${JSON.stringify(result).slice(0, 400)}`);
        } catch (err) {
          id = gatehouseErrorOf(err);
          failure = err;
        }
        if (id === STEP_UP_NEEDED && reconnects < MAX_RECONNECTS) {
          reconnects++;
          log(`${what}: ${STEP_UP_NEEDED} (more scope needed): connecting again, then retrying`);
          await connect(gh, reconnects + 1);
          continue;
        }
        const why = id === STEP_UP_EXHAUSTED
          ? `Gatehouse gave up stepping up (${STEP_UP_EXHAUSTED})`
          : id === STEP_UP_NEEDED
            ? `still ${STEP_UP_NEEDED} after ${MAX_RECONNECTS} reconnections (the wrapper's own limit)`
            : id ? `Gatehouse error ${id}` : 'error';
        throw new WrapperError(`${what} failed: ${why}: ${String(failure?.message ?? failure).replace(/\s+/g, ' ').slice(0, 600)}`);
      }
    };

    const client = await withStepUp('initialize', () => session.open());
    log(`initialize: server ${client.getServerVersion()?.name ?? '?'}`);
    const { tools } = await withStepUp('tools/list', () => session.client.listTools());
    log(`tools/list: ${tools.map((t) => t.name).join(', ') || '(none)'}`);
    if (!tools.length) throw new WrapperError('tools/list returned no tools, nothing to call');
    const tool = tools[0].name;
    const result = await withStepUp(`tools/call ${tool}`, () => session.client.callTool({ name: tool, arguments: {} }));
    if (result.isError) throw new WrapperError(`tools/call ${tool} returned an error result: ${JSON.stringify(result).slice(0, 400)}`);
    log(`tools/call ${tool}: ${JSON.stringify(result.content ?? result).slice(0, 200)}`);
    log(`done: the call succeeded after ${reconnects} reconnection(s)`);
    return 0;
  } catch (err) {
    log(`FAILED: ${err instanceof WrapperError ? err.message : err.stack || err.message}`);
    const serveLog = gh?.serveLog();
    if (serveLog) log(`gatehouse serve output (last lines):\n${serveLog}`);
    return 1;
  } finally {
    await session?.close();
    await gh?.dispose();
  }
}

// Exit explicitly: an SDK stream left open must not keep the scenario waiting for its timeout.
process.exit(await main());
