#!/usr/bin/env bash
# The hostile corpus through the real binary: each case's error kind, time to refusal and peak
# memory (GNU time's maximum resident set size; the time is the whole process, start-up included). Targets: at most 1 s and 300 MiB a case.
#   bash wasm/bench/hostile.sh [SCALEFRONT_BIN]      (default target/release/scalefront)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/release/scalefront}
[ -x "$bin" ] || { echo "no $bin: cargo build --release -p scalefront, or pass the binary"; exit 1; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
cargo run -q -p image-core --example hostile -- "$dir" > /dev/null
printf '%-22s %-12s %8s %10s\n' case refused ms 'peak MiB'
for f in "$dir"/*; do
  [ "${f##*.}" = tsv ] && continue
  t0=$(date +%s%N)
  out=$( { /usr/bin/time -f 'TIME %M' "$bin" resize "$f" -o "$dir/out.jpg" --w 256 2>&1; } || true)
  t1=$(date +%s%N)
  kind=$(grep -o 'too-large\|corrupt\|unsupported' <<<"$out" | head -1)
  read -r _ kib < <(grep '^TIME ' <<<"$out")
  [ -e "$dir/out.jpg" ] && { echo "$(basename "$f"): an output was written"; exit 1; }
  printf '%-22s %-12s %8.1f %10.1f\n' "$(basename "$f")" "${kind:-NONE}" "$(echo "($t1-$t0)/1000000" | bc -l)" "$(echo "$kib/1024" | bc -l)"
done
