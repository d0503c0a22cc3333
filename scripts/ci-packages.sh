#!/usr/bin/env bash
# The Debian packages the test suite needs beyond Node: LuaJIT (unit tests of
# the Envoy Lua filter) and Chromium (the headless receipt page test, driven
# by playwright-core). .ci/run calls this before the tests.
set -euo pipefail
packages=(luajit chromium)
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
