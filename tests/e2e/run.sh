#!/usr/bin/env bash
# End-to-end tests for Gatehouse with independent MCP tooling.
# Precondition: the solution has been built (`dotnet build` at the repository root), so that
#   src/Gatehouse.Host/bin/Debug/net10.0/gatehouse.dll and
#   tests/Gatehouse.Testing/bin/Debug/net10.0/Gatehouse.Testing.dll exist
# (or GATEHOUSE_DLL / FIXTURE_DLL point at them).
# Runs `npm test` (TypeScript SDK client tests), `npm run conformance` (MCP conformance suite,
# direct vs through Gatehouse) and `npm run conformance:client` (the suite's client-mode auth scenarios,
# Gatehouse as the OAuth client); exits non-zero if any fails.
set -uo pipefail

cd "$(dirname "$0")"

./install.sh || exit 2

status=0

echo "run.sh: npm test" >&2
npm test
test_rc=$?
[[ $test_rc -ne 0 ]] && status=1

echo "run.sh: npm run conformance" >&2
npm run --silent conformance
conf_rc=$?
[[ $conf_rc -ne 0 ]] && status=1

echo "run.sh: npm run conformance:client" >&2
npm run --silent conformance:client
client_rc=$?
[[ $client_rc -ne 0 ]] && status=1

echo "run.sh: npm test exit code ${test_rc}, conformance exit code ${conf_rc}, conformance:client exit code ${client_rc}" \
  "(reports: tests/e2e/out/conformance.md, tests/e2e/out/conformance-client.md)" >&2
exit $status
