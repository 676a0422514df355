#!/usr/bin/env bash
# End-to-end tests for Gatehouse with independent MCP tooling.
# Precondition: the solution has been built (`dotnet build` at the repository root), so that
#   src/Gatehouse.Host/bin/Debug/net10.0/gatehouse.dll and
#   tests/Gatehouse.Testing/bin/Debug/net10.0/Gatehouse.Testing.dll exist
# (or GATEHOUSE_DLL / FIXTURE_DLL point at them).
# Runs `npm test` (TypeScript SDK client tests) and `npm run conformance` (MCP conformance suite,
# direct vs through Gatehouse); exits non-zero if either fails.
set -uo pipefail

cd "$(dirname "$0")"

if ! command -v npm >/dev/null 2>&1; then
  echo "run.sh: npm not found on PATH (Node.js >= 18 with npm is required to bootstrap; Node 22 is installed from npm)" >&2
  exit 2
fi

# (Re)install when node_modules is missing or was installed from a different package-lock.json.
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.e2e-lock-sha256"
if [[ ! -d node_modules || ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
  echo "run.sh: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error || { echo "run.sh: npm ci failed" >&2; exit 2; }
  echo "$lock_hash" > "$stamp"
fi

status=0

echo "run.sh: npm test" >&2
npm test
test_rc=$?
[[ $test_rc -ne 0 ]] && status=1

echo "run.sh: npm run conformance" >&2
npm run --silent conformance
conf_rc=$?
[[ $conf_rc -ne 0 ]] && status=1

echo "run.sh: npm test exit code ${test_rc}, conformance exit code ${conf_rc} (report: tests/e2e/out/conformance.md)" >&2
exit $status
