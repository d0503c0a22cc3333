#!/usr/bin/env bash
# Regenerates gen/ from proto/: ts-proto code and the descriptor set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/proto-deps.sh
npx buf generate
npx buf build -o gen/payments.binpb
# The OpenAPI reference (docs/openapi.json), built from that descriptor set.
npx tsx gateway/openapi/write.ts
