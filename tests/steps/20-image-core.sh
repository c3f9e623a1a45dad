#!/usr/bin/env bash
# Image core, native: geometry tables, EXIF, the fixture corpus against a float Lanczos3 reference
# (DSSIM + recorded output bytes), error kinds for bad inputs and bombs, the fixtures' freshness;
# then `scalefront resize` end to end (output written; bad input → non-zero exit, no file).
set -euo pipefail
cd "$ROOT"
cargo test -p image-core 2>&1

cargo build -q -p scalefront
bin="$ROOT/target/debug/scalefront"
fx="$ROOT/wasm/tests/fixtures"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
check() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $*"; fi; }

"$bin" resize "$fx/landscape-6.jpg" -o "$tmp/out.webp" --w 100 2>"$tmp/err"
check test "$(head -c 4 "$tmp/out.webp")" = "RIFF"
check grep -q '100×63 webp' "$tmp/err"
"$bin" resize "$fx/alpha.png" -o "$tmp/thumb.jpg" --w 64 --h 64 --fit cover --q 70 2>"$tmp/err"
check grep -q '64×64 jpeg' "$tmp/err"
for bad in truncated.jpg bomb-65536.png html.jpg empty.jpg; do
  if "$bin" resize "$fx/$bad" -o "$tmp/bad.jpg" --w 100 2>"$tmp/err"; then check false; fi
  check test ! -e "$tmp/bad.jpg"
  check grep -Eq 'corrupt|too-large|unsupported' "$tmp/err"
done
cp "$fx/landscape-1.jpg" "$tmp/orig.jpg"
if "$bin" resize "$tmp/orig.jpg" -o "$tmp/orig.jpg" --w 10 2>/dev/null; then check false; fi
check cmp -s "$fx/landscape-1.jpg" "$tmp/orig.jpg"
echo "scalefront resize: $passed passed, $failed failed"
[ "$failed" = 0 ]
