#!/usr/bin/env bash
# The test command: the whole vitest suite (SQLite, and PostgreSQL/Redis on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d proto_deps ] || bash scripts/proto-deps.sh
npx vitest run "$@"
