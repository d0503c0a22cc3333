#!/usr/bin/env bash
# buf lint + format check + breaking check against the previous commit, then tsc.
# A commit that breaks the contract on purpose says so in its message with a
# line `Breaking-Change: <why>`; the breaking check then skips that commit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/proto-deps.sh
npx buf lint proto
npx buf format --diff --exit-code proto
against="${BUF_BREAKING_AGAINST:-HEAD~1}"
if git log -1 --format=%B 2>/dev/null | grep -q '^Breaking-Change: '; then
  echo "buf breaking: skipped, HEAD declares a breaking change"
elif git cat-file -e "$against:buf.yaml" 2>/dev/null; then
  tmp=$(mktemp -d)
  git archive "$against" proto buf.yaml | tar -x -C "$tmp"
  cp -r proto_deps "$tmp/"
  (cd "$tmp" && "$OLDPWD/node_modules/.bin/buf" build proto -o image.binpb)
  npx buf breaking proto --against "$tmp/image.binpb"
  rm -rf "$tmp"
  echo "buf breaking: no breaking change against $against"
else
  echo "buf breaking: skipped, $against has no contract"
fi
npx tsc -p .
