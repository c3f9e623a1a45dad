#!/usr/bin/env bash
# Origin side against a real S3 server (s3s-fs): the Lambda@Edge package (`scalefront package`
# output: index.mjs + wasm) in real Node on origin-response events, and the regional handler
# in-process; the flow's own tests; the package's shape and size.
set -euo pipefail
cd "$ROOT"
work="$ROOT/target/origin-test"
rm -rf "$work"; mkdir -p "$work/scratch"

photos="${PHOTOS_DIR:-/tmp/scalefront-photos}"
bash "$ROOT/scripts/fetch-photos.sh" "$photos" >/dev/null

echo "--- build: wasm module, regional bootstrap, scalefront"
cargo xtask edge-wasm
cargo xtask regional --dev
cargo build -q -p scalefront

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
cargo test -q -p scalefront --test package
