#!/usr/bin/env bash
# Origin side against a real S3 server (s3s-fs): the Lambda@Edge package (`scalefront package`
# output: index.mjs + wasm) in real Node on origin-response events, and the regional handler
# in-process; the flow's own tests; the package's shape and size. It builds with `cargo xtask
# install --dev`, so the scalefront here embeds the function code it just built and the packages
# tested come out of the binary; the embedded code is checked against this tree's sources, and at
# the end a copy of the installed binary deploys (--dry-run) with no checkout in reach.
set -euo pipefail
cd "$ROOT"
work="$ROOT/target/origin-test"
rm -rf "$work"; mkdir -p "$work/scratch"

photos="${PHOTOS_DIR:-/tmp/scalefront-photos}"
bash "$ROOT/scripts/fetch-photos.sh" "$photos" >/dev/null

echo "--- build: wasm module, regional bootstrap, scalefront with both embedded (cargo xtask install)"
# What a user runs, in debug: edge-wasm, regional --dev, then `cargo install --debug` of the CLI
# with them embedded (built in target/debug, so target/debug/scalefront is the same binary).
cargo xtask install --dev --root "$work/install"
export SCALEFRONT_EMBED_PACKAGES="$ROOT/target/artifacts"   # the cargo runs below embed the same

echo "--- S3 server"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export AWS_ACCESS_KEY_ID=scalefront-test AWS_SECRET_ACCESS_KEY=scalefront-test-secret AWS_REGION=us-east-1
mkdir -p "$work/s3/scalefront-test"
s3s-fs --host 127.0.0.1 --port "$port" --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" \
  "$work/s3" >"$work/s3s-fs.log" 2>&1 &
s3pid=$!
trap 'kill $s3pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
export S3_ENDPOINT="http://127.0.0.1:$port" S3_BUCKET=scalefront-test

echo "--- scalefront package"
target/debug/scalefront package --bucket "$S3_BUCKET" --region us-east-1 --s3-endpoint "$S3_ENDPOINT" --out "$work/dist"
ls -l "$work/dist"
mkdir -p "$work/edge" "$work/regional"
unzip -q "$work/dist/origin-response.zip" -d "$work/edge"
unzip -q "$work/dist/regional.zip" -d "$work/regional"
test -x "$work/regional/bootstrap"
node -e '
  const fs = require("fs");
  const m = new WebAssembly.Module(fs.readFileSync(process.argv[1]));
  const foreign = WebAssembly.Module.imports(m).filter((i) => !i.module.startsWith("./resize_lambda"));
  if (foreign.length) { console.error("the wasm module imports", foreign); process.exit(1); }
  const zip = fs.statSync(process.argv[2]).size;
  if (zip > 50 * 1024 * 1024) { console.error("origin-response.zip is over 50 MB:", zip); process.exit(1); }
  console.log("wasm imports only its glue; origin-response.zip", zip, "bytes");
' "$work/edge/resize_lambda_bg.wasm" "$work/dist/origin-response.zip"

echo "--- Lambda@Edge handler in Node $(node --version); the packaged regional bootstrap"
EDGE_PACKAGE_DIR="$work/edge" REGIONAL_PACKAGE_DIR="$work/regional" PHOTOS_DIR="$photos" ORIGIN_SCRATCH="$work/scratch" \
  node --test --test-concurrency=1 tests/origin/

echo "--- flow, event fixtures, regional handler (in-process, against the same S3 server)"
cargo test -q -p resize-lambda -p regional -p xtask
# embedded: fails when the embedded code was built from other sources than the binary's.
cargo test -q -p scalefront --test package --test embedded

echo "--- the installed scalefront deploys alone: no checkout, no artifacts directory, no aws"
start=$(date +%s)
alone=$(mktemp -d /tmp/scalefront-alone.XXXXXX)   # outside the checkout, which gets hidden
trap 'kill $s3pid 2>/dev/null || true; rm -rf "$alone"' EXIT
mkdir -p "$alone/bin" "$alone/home" "$alone/cwd" "$alone/tmp"
cp "$work/install/bin/scalefront" "$alone/bin/"
deploy_alone='cd "$A/cwd" && env -i HOME="$A/home" PATH=/usr/bin:/bin TMPDIR="$A/tmp" SCALEFRONT_AWS=/nonexistent \
  "$A/bin/scalefront" deploy --bucket example-photos --dry-run --out "$A/out" >"$A/dry.txt" 2>"$A/err.txt"'
if unshare -m true 2>/dev/null; then
  # The checkout as if deleted: an empty tmpfs over it, seen by this command only.
  A="$alone" R="$ROOT" unshare -m sh -c 'mount -t tmpfs tmpfs "$R" && test ! -e "$R/Cargo.toml" && '"$deploy_alone" \
    || { cat "$alone/err.txt"; exit 1; }
else
  echo "(unshare -m is not permitted here: the checkout stays on disk, outside the binary's cwd, HOME and environment)"
  A="$alone" sh -c "$deploy_alone" || { cat "$alone/err.txt"; exit 1; }
fi
grep 'function code: embedded in this binary' "$alone/err.txt"
unzip -p "$alone/out/origin-response.zip" resize_lambda_bg.wasm | cmp - target/artifacts/edge/resize_lambda_bg.wasm
unzip -p "$alone/out/origin-response.zip" index.mjs | cmp - target/artifacts/edge/index.mjs
unzip -p "$alone/out/regional.zip" bootstrap | cmp - target/artifacts/regional/bootstrap
echo "deploy --dry-run from $alone/bin alone packaged the wasm module and bootstrap this tree built ($(( $(date +%s) - start )) s)"
rm -rf "$alone"
