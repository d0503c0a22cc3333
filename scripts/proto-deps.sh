#!/usr/bin/env bash
# Copies the googleapis protos our contract imports from the npm package
# google-proto-files into proto_deps/ (git-ignored), so buf never needs a
# registry.
set -euo pipefail
cd "$(dirname "$0")/.."
src=node_modules/google-proto-files
rm -rf proto_deps
for f in google/api/annotations.proto google/api/http.proto google/api/httpbody.proto google/rpc/status.proto; do
  mkdir -p "proto_deps/$(dirname "$f")"
  cp "$src/$f" "proto_deps/$f"
done
