// Shared helpers for the Gatehouse end-to-end harness: locating the built .NET
// assemblies, starting child processes and waiting for their "listening on" line,
// running Gatehouse CLI commands, and making sure every child dies with us.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** tests/e2e */
export const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const DEFAULT_GATEHOUSE_DLL = '../../src/Gatehouse.Host/bin/Debug/net10.0/gatehouse.dll';
export const DEFAULT_FIXTURE_DLL = '../Gatehouse.Testing/bin/Debug/net10.0/Gatehouse.Testing.dll';

/** Milliseconds to wait for a child's readiness line (env E2E_STARTUP_TIMEOUT_MS, default 60 s). */
export const STARTUP_TIMEOUT_MS = Number(process.env.E2E_STARTUP_TIMEOUT_MS) || 60_000;

const DOTNET = process.env.DOTNET || 'dotnet';

const DOTNET_ENV = {
  DOTNET_CLI_TELEMETRY_OPTOUT: '1',
  DOTNET_NOLOGO: '1',
  DOTNET_SKIP_FIRST_TIME_EXPERIENCE: '1',
};

function resolveDll(envName, fallback, what) {
  const p = path.resolve(E2E_DIR, process.env[envName] || fallback);
  if (!existsSync(p)) {
    throw new Error(
      `${what} not found at ${p}.\n` +
        `Build the solution first (dotnet build at the repository root) or set ${envName} ` +
        `to the path of the built assembly.`,
    );
  }
  return p;
}

export function gatehouseDll() {
  return resolveDll('GATEHOUSE_DLL', DEFAULT_GATEHOUSE_DLL, 'gatehouse.dll (env GATEHOUSE_DLL)');
}

export function fixtureDll() {
  return resolveDll('FIXTURE_DLL', DEFAULT_FIXTURE_DLL, 'Gatehouse.Testing.dll (env FIXTURE_DLL)');
}

// ---------------------------------------------------------------------------
// Child process bookkeeping
// ---------------------------------------------------------------------------

const children = new Set();
const tempDirs = new Set(); // Gatehouse data dirs still to delete (also on signals)
let exitHooksInstalled = false;

function removeTempDirsSync() {
  if (process.env.E2E_KEEP_DATA) return;
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
    tempDirs.delete(dir);
  }
}

function installExitHooks() {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  // Last resort: synchronous kill of anything still running when node exits.
  process.on('exit', () => {
    killAllSync();
    removeTempDirsSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      killAllSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

function killAllSync() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Keeps the last `max` characters of a stream for error messages. */
function tail(text, max = 4000) {
  return text.length > max ? '…' + text.slice(-max) : text;
}

/**
 * A started child process. `stdout` / `stderr` accumulate everything printed so far.
 */
export class Child {
  constructor(name, command, args, options = {}) {
    installExitHooks();
    this.name = name;
    this.command = command;
    this.args = args;
    this.stdout = '';
    this.stderr = '';
    this.exited = false;
    this.exitCode = null;
    this.signal = null;
    this.proc = spawn(command, args, {
      // stdin stays an open pipe: the Gatehouse.Testing fixture exits when it reaches EOF, so it
      // dies with us even if we are killed without running our exit hooks.
      stdio: ['pipe', 'pipe', 'pipe'],
      ...options,
      env: { ...process.env, ...DOTNET_ENV, ...(options.env || {}) },
    });
    children.add(this.proc);
    this.proc.stdout.setEncoding('utf8');
    this.proc.stderr.setEncoding('utf8');
    this.proc.stdout.on('data', (d) => {
      this.stdout += d;
      if (process.env.E2E_VERBOSE) process.stderr.write(prefixLines(`[${name}] `, d));
    });
    this.proc.stderr.on('data', (d) => {
      this.stderr += d;
      if (process.env.E2E_VERBOSE) process.stderr.write(prefixLines(`[${name}!] `, d));
    });
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('error', (err) => {
        this.stderr += `\n[spawn error] ${err.message}`;
        this.exited = true;
        children.delete(this.proc);
        resolve();
      });
      this.proc.on('exit', (code, signal) => {
        this.exited = true;
        this.exitCode = code;
        this.signal = signal;
        children.delete(this.proc);
        resolve();
      });
    });
  }

  describe() {
    return `${this.name} (${[this.command, ...this.args].join(' ')})`;
  }

  outputReport() {
    return (
      `--- ${this.name} stdout ---\n${tail(this.stdout) || '(empty)'}\n` +
      `--- ${this.name} stderr ---\n${tail(this.stderr) || '(empty)'}`
    );
  }

  /**
   * Resolves with the first regex match found in stdout or stderr (line by line).
   * Rejects if the process exits first or `timeoutMs` passes.
   */
  waitForLine(regex, timeoutMs = STARTUP_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      let done = false;
      const check = () => {
        if (done) return;
        for (const text of [this.stdout, this.stderr]) {
          for (const line of text.split(/\r?\n/)) {
            const m = regex.exec(line);
            if (m) {
              finish();
              resolve(m);
              return;
            }
          }
        }
      };
      const onExit = () => {
        if (done) return;
        check(); // the line may have been printed right before exiting
        if (done) return;
        finish();
        reject(
          new Error(
            `${this.describe()} exited early (code ${this.exitCode}, signal ${this.signal}) ` +
              `before printing a line matching ${regex}.\n${this.outputReport()}`,
          ),
        );
      };
      const timer = setTimeout(() => {
        if (done) return;
        finish();
        reject(
          new Error(
            `Timed out after ${timeoutMs} ms waiting for ${this.describe()} to print a line ` +
              `matching ${regex}.\n${this.outputReport()}`,
          ),
        );
      }, timeoutMs);
      const finish = () => {
        done = true;
        clearTimeout(timer);
        this.proc.stdout.off('data', check);
        this.proc.stderr.off('data', check);
      };
      this.proc.stdout.on('data', check);
      this.proc.stderr.on('data', check);
      this.exitPromise.then(onExit);
      check();
    });
  }

  /** Resolves when the process has exited (or `timeoutMs` passed). */
  async wait(timeoutMs) {
    if (this.exited) return true;
    let timer;
    const timedOut = new Promise((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const ok = await Promise.race([this.exitPromise.then(() => true), timedOut]);
    clearTimeout(timer);
    return ok;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000) {
    if (this.exited) return;
    try {
      this.proc.kill('SIGTERM');
    } catch {
      /* gone */
    }
    if (!(await this.wait(graceMs))) {
      try {
        this.proc.kill('SIGKILL');
      } catch {
        /* gone */
      }
      await this.wait(graceMs);
    }
  }
}

function prefixLines(prefix, text) {
  return text
    .split(/(?<=\n)/)
    .map((l) => prefix + l)
    .join('');
}

/**
 * Runs a command to completion. Resolves with { code, stdout, stderr }.
 * Rejects (with the output) on non-zero exit, or on timeout.
 */
export async function run(name, command, args, { timeoutMs = STARTUP_TIMEOUT_MS, allowFailure = false, env } = {}) {
  const child = new Child(name, command, args, { env });
  child.proc.stdin.end(); // one-shot commands get an empty stdin (nothing may wait for input)
  const finished = await child.wait(timeoutMs);
  if (!finished) {
    await child.stop(1000);
    throw new Error(`Timed out after ${timeoutMs} ms running ${child.describe()}.\n${child.outputReport()}`);
  }
  if (child.exitCode !== 0 && !allowFailure) {
    throw new Error(
      `${child.describe()} failed (exit code ${child.exitCode}, signal ${child.signal}).\n${child.outputReport()}`,
    );
  }
  return { code: child.exitCode, stdout: child.stdout, stderr: child.stderr };
}

/** Extracts a JSON value from CLI output that might have log lines around it. */
export function parseJsonOutput(text, what = 'command') {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    /* fall through */
  }
  // Try the largest {...} block, then each line on its own.
  const first = trimmed.indexOf('{');
  const last = trimmed.lastIndexOf('}');
  if (first >= 0 && last > first) {
    try {
      return JSON.parse(trimmed.slice(first, last + 1));
    } catch {
      /* fall through */
    }
  }
  for (const line of trimmed.split(/\r?\n/).reverse()) {
    try {
      const v = JSON.parse(line);
      if (v && typeof v === 'object') return v;
    } catch {
      /* next */
    }
  }
  throw new Error(`Could not find JSON in the output of ${what}:\n${tail(text)}`);
}

/** Finds a string property named `key` anywhere in a JSON value (e.g. `token` or `grant.token`). */
export function findKey(value, key) {
  if (value && typeof value === 'object') {
    if (typeof value[key] === 'string') return value[key];
    for (const v of Object.values(value)) {
      const found = findKey(v, key);
      if (found) return found;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// The .NET processes under test
// ---------------------------------------------------------------------------

/**
 * Starts the Gatehouse.Testing fixture upstream in `mode` (e.g. `conformance`, `streamable`).
 * Contract: it prints `listening on http://127.0.0.1:PORT/mcp` once ready.
 * Returns { child, url }.
 */
export async function startFixture(mode, { extraArgs = [] } = {}) {
  const dll = fixtureDll();
  const child = new Child(`fixture-${mode}`, DOTNET, [dll, mode, ...extraArgs]);
  try {
    const m = await child.waitForLine(/listening on:? (http:\/\/(?:127\.0\.0\.1|localhost):\d+\/[^\s\"']*)/i);
    return { child, url: m[1] };
  } catch (err) {
    await child.stop(1000);
    throw err;
  }
}

/**
 * A Gatehouse instance with its own fresh data directory.
 * Usage: const gh = new Gatehouse(); await gh.addServer(...); const token = await gh.createGrant(...);
 *        await gh.serve(); ... await gh.dispose();
 */
export class Gatehouse {
  constructor() {
    this.dll = gatehouseDll();
    this.dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-e2e-'));
    installExitHooks();
    tempDirs.add(this.dataDir);
    this.child = null;
    this.baseUrl = null;
  }

  cli(args, opts) {
    return run(`gatehouse ${args[0]} ${args[1] ?? ''}`.trim(), DOTNET, [this.dll, '--data', this.dataDir, ...args], opts);
  }

  /** `server add NAME --url URL --transport streamable-http --json` */
  async addServer(name, upstreamUrl, transport = 'streamable-http') {
    const r = await this.cli(['server', 'add', name, '--url', upstreamUrl, '--transport', transport, '--json']);
    return parseJsonOutput(r.stdout, 'gatehouse server add');
  }

  /** `grant create --server NAME --label LABEL --json`; returns the bearer token. */
  async createGrant(server, label) {
    const r = await this.cli(['grant', 'create', '--server', server, '--label', label, '--json']);
    const json = parseJsonOutput(r.stdout, 'gatehouse grant create');
    const token = findKey(json, 'token');
    if (!token) throw new Error(`gatehouse grant create printed no "token" field:\n${r.stdout}`);
    return token;
  }

  /**
   * `serve --urls http://127.0.0.1:0 [extraArgs]` with extra environment variables; resolves once it prints
   * `listening on http://127.0.0.1:PORT`.
   */
  async serve({ extraArgs = [], env } = {}) {
    this.child = new Child('gatehouse', DOTNET, [this.dll, '--data', this.dataDir, 'serve', '--urls', 'http://127.0.0.1:0', ...extraArgs], { env });
    const m = await this.child.waitForLine(/listening on:? (http:\/\/(?:127\.0\.0\.1|localhost):\d+)/i);
    this.baseUrl = m[1];
    return this.baseUrl;
  }

  mcpUrl(server) {
    return `${this.baseUrl}/mcp/${server}`;
  }

  async dispose() {
    if (this.child) await this.child.stop();
    if (!process.env.E2E_KEEP_DATA) rmSync(this.dataDir, { recursive: true, force: true });
    tempDirs.delete(this.dataDir);
  }
}
