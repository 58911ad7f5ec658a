#!/usr/bin/env bash
# Runs test files many times in a row, each run in a fresh vitest process with a time limit, and
# stops at the first run that fails or hangs: a check for crashes that only show now and then.
#   bash scripts/repeat-tests.sh [runs] [test files...]    (default: 30 runs of test/device.test.ts)
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
shift || true
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(test/device.test.ts)
log=$(mktemp)
for i in $(seq "$runs"); do
  timeout 300 npx vitest run "${files[@]}" >"$log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    [ $rc -eq 124 ] && what="hung (killed after 300 s)" || what="failed (exit $rc)"
    echo "repeat-tests: run $i of $runs $what: ${files[*]}"
    tail -40 "$log"
    rm -f "$log"
    exit 1
  fi
  echo "repeat-tests: run $i of $runs passed"
done
rm -f "$log"
echo "repeat-tests: $runs of $runs runs passed: ${files[*]}"
