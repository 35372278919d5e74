#!/usr/bin/env bash
# The project's test command: installs what is missing, checks format and lint, type-checks the tree, runs every Deno
# test file in its own process (a hung GPU test cannot stall the others: each file has a time
# limit), then the Bun smoke tests, and ends with one plain line "N passed, N failed"
# (exit 1 on any failure).
set -uo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/ssl-webgpu-xdg}"; mkdir -p "$XDG_RUNTIME_DIR"
export NO_COLOR=1
DENO=node_modules/.bin/deno
passed=0; failed=0; skipped=0
quiet() { grep --line-buffered -v "artificially reduced"; }

# the house rules: one format (deno fmt) and the linter's recommended rules (deno lint)
for habit in "fmt --check" "lint"; do
  if $DENO $habit 2>&1 | tail -n 30; then
    passed=$((passed + 1)); echo "deno $habit ... ok"
  else
    failed=$((failed + 1)); echo "deno $habit ... FAILED"
  fi
done

if $DENO check mod.ts pipelines/*.ts examples/*.ts bench/*.ts tools/*.ts run/*.ts web/*.ts tests/ 2>&1 | quiet; then
  passed=$((passed + 1)); echo "typecheck ... ok"
else
  failed=$((failed + 1)); echo "typecheck ... FAILED"
fi

for f in tests/*_test.ts; do
  start=$(date +%s)
  out=$(timeout "${TEST_FILE_TIMEOUT:-900}" $DENO test -A --no-check "$f" 2>&1 | quiet); rc=${PIPESTATUS[0]}
  summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' <<<"$out" | tail -1)
  p=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary"); p=${p:-0}
  q=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary"); q=${q:-0}
  if [ "$rc" != 0 ] && [ "$q" = 0 ]; then q=1; fi
  passed=$((passed + p)); failed=$((failed + q))
  if [ "$q" != 0 ]; then echo "$out"; fi
  echo "$f: $p passed, $q failed ($(( $(date +%s) - start )) s)$([ "$rc" != 0 ] && echo " exit $rc")"
  # a test whose prerequisite (data set, tool, adapter feature) is missing is skipped by name, never passed
  while IFS= read -r name; do
    [ -n "$name" ] && { skipped=$((skipped + 1)); echo "  skipped: $name"; }
  done < <(sed -nE 's/^(.*) \.\.\. ignored.*/\1/p' <<<"$out")
done

# Bun and Node (through tsx): runtime + a training step through the same compiler
for rt in bun node; do
  if [ "$rt" = bun ]; then cmd=(node_modules/.bin/bun run tests/bun/smoke.ts); else cmd=(node --import tsx tests/bun/smoke.ts); fi
  rt_out=$(timeout 600 "${cmd[@]}" 2>&1 | quiet); rt_rc=${PIPESTATUS[0]}
  echo "$rt_out"
  rp=$(grep -cE "^$rt ok " <<<"$rt_out"); rf=$(grep -cE "^$rt FAILED " <<<"$rt_out")
  if [ "$rt_rc" != 0 ] && [ "$rf" = 0 ]; then rf=1; fi
  if [ "$rp" = 0 ] && [ "$rf" = 0 ]; then rf=1; fi
  passed=$((passed + rp)); failed=$((failed + rf))
done
[ "$skipped" = 0 ] || echo "${skipped} skipped (named above)"
echo "${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
