#!/usr/bin/env bash
# Builds the API reference from the TSDoc comments of the public entry points into docs/api/
# (`npm run docs:api`). TypeDoc reads sources through TypeScript's JavaScript API, which the
# project's TypeScript 7 (the native compiler) does not have, so TypeDoc runs with a TypeScript 6
# of its own, installed once under node_modules/.cache/api-docs.
set -euo pipefail
cd "$(dirname "$0")/.."
tool=node_modules/.cache/api-docs
if [ ! -x "$tool/node_modules/.bin/typedoc" ]; then
  mkdir -p "$tool"
  [ -f "$tool/package.json" ] || echo '{ "private": true }' > "$tool/package.json"
  npm install --prefix "$tool" --no-audit --no-fund --loglevel=error typedoc@0.28 typescript@6.0
fi
entries=(src/index.ts src/node.ts)
[ -f src/kernels-entry.ts ] && entries+=(src/kernels-entry.ts)
"$tool/node_modules/.bin/typedoc" --tsconfig tsconfig.build.json --entryPoints "${entries[@]}" \
  --name webgpu-backprop --readme none --out docs/api --skipErrorChecking
echo "api-docs: docs/api/index.html"
