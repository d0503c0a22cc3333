#!/usr/bin/env bash
# `npm run gateway:envoy`: runs Envoy with gateway/envoy/envoy.yaml in front of
# the core (gRPC on CORE_HOST:CORE_PORT, default 127.0.0.1:50051): REST on
# :8080, gRPC pass-through on :9090, admin on 127.0.0.1:9901.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v envoy >/dev/null 2>&1; then
  echo "gateway:envoy: no 'envoy' binary found on the PATH." >&2
  echo "Install Envoy (https://www.envoyproxy.io/docs/envoy/latest/start/install) or use the Node gateway: npm start / npm run gateway." >&2
  exit 1
fi
[ -f gen/payments.binpb ] || npm run gen
config=$(mktemp --suffix=.yaml)
trap 'rm -f "$config"' EXIT
# The config names its files relative to the repository and the core at 127.0.0.1:50051.
sed -e "s#gen/payments.binpb#$PWD/gen/payments.binpb#" \
    -e "s#gateway/envoy/error-body.lua#$PWD/gateway/envoy/error-body.lua#" \
    -e "s#address: 127.0.0.1 \# core#address: ${CORE_HOST:-127.0.0.1} \# core#" \
    -e "s#port_value: 50051 \# core#port_value: ${CORE_PORT:-50051} \# core#" \
    gateway/envoy/envoy.yaml > "$config"
exec envoy -c "$config" --log-level "${ENVOY_LOG_LEVEL:-info}" "$@"
