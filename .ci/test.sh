#!/usr/bin/env bash
# The project's test command: installs what is missing, runs the Deno suite, then the Bun
# smoke tests, and ends with one plain line "N passed, N failed" (exit 1 on any failure).
set -uo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/ssl-webgpu-xdg}"; mkdir -p "$XDG_RUNTIME_DIR"
log=$(mktemp)
NO_COLOR=1 node_modules/.bin/deno test -A --parallel tests/ 2>&1 | grep --line-buffered -v "artificially reduced" | tee "$log"
deno_rc=${PIPESTATUS[0]}
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1)
passed=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$summary"); passed=${passed:-0}
failed=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$summary"); failed=${failed:-0}
if [ -z "$summary" ] || { [ "$deno_rc" != 0 ] && [ "$failed" = 0 ]; }; then failed=$((failed + 1)); echo "deno test exited $deno_rc without a summary"; fi
# Bun: runtime + one training step through the same compiler
bun_out=$(node_modules/.bin/bun run tests/bun/smoke.ts 2>&1 | grep -v "artificially reduced"); bun_rc=$?
echo "$bun_out"
bp=$(grep -cE '^bun ok ' <<<"$bun_out"); bf=$(grep -cE '^bun FAILED ' <<<"$bun_out")
if [ "$bun_rc" != 0 ] && [ "$bf" = 0 ]; then bf=1; fi
passed=$((passed + bp)); failed=$((failed + bf))
echo "${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
