#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what is missing, then runs every test step in
# tests/steps/ in name order and prints each runner's summary line and a final tally.
# Usage: scripts/test.sh [STEP-NAME-FILTER]   e.g. scripts/test.sh viewer
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export ROOT
bash scripts/setup.sh || { echo "setup failed"; exit 1; }
export PATH="$ROOT/.tools/venv/bin:$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
# A one-shot CI run gains nothing from incremental caches, which are a large part of target/
# (a CI machine ran out of disk with them); local runs keep them for the edit-test loop.
[ -n "${CI:-}" ] && export CARGO_INCREMENTAL=0
echo "disk: $(df -h . | awk 'NR==2 {print $4 " free of " $2}')"
filter="${1:-}"
logdir="$ROOT/target/test-logs"; mkdir -p "$logdir"
pass=(); fail=()
for step in tests/steps/*.sh; do
  name=$(basename "$step" .sh)
  [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
  echo "=== $name"
  start=$(date +%s)
  if bash "$step" 2>&1 | tee "$logdir/$name.log"; then rc=0; else rc=1; fi
  [ "${PIPESTATUS[0]}" = 0 ] || rc=1
  secs=$(( $(date +%s) - start ))
  if [ $rc = 0 ]; then pass+=("$name (${secs}s)"); else fail+=("$name (${secs}s)"); fi
done
echo
echo "=== summary"
# Each runner's own summary line, as it printed it.
grep -hE '^(test result:|# (pass|fail|tests)|Summary|     Summary|ok [0-9]+ (passed|tests)|[0-9]+ passed)' "$logdir"/*.log 2>/dev/null | sed 's/^/  /' || true
for p in "${pass[@]}"; do echo "  PASS $p"; done
for f in "${fail[@]}"; do echo "  FAIL $f"; done
echo "  disk: target/ $(du -sh target 2>/dev/null | cut -f1), $(df -h . | awk 'NR==2 {print $4}') free"
echo "scalefront tests: ${#pass[@]} steps passed, ${#fail[@]} failed"
[ ${#fail[@]} = 0 ]
