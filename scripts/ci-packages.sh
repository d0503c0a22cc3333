#!/usr/bin/env bash
# The Debian packages the test suite needs beyond Node: LuaJIT (unit tests of
# the Envoy Lua filter) and Chromium (the headless receipt page test, driven
# by playwright-core). .ci/run calls this before the tests.
set -euo pipefail
packages=(luajit chromium)
# The Python gRPC client test (docs/clients.md): protoc with the well-known protos (libprotobuf-dev,
# only recommended by protobuf-compiler), its Python gRPC plugin, and the runtime.
packages+=(protobuf-compiler libprotobuf-dev protobuf-compiler-grpc python3-grpcio python3-protobuf)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "ci-packages: ${packages[*]} already installed"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends "${missing[@]}"
