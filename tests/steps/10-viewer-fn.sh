#!/usr/bin/env bash
# viewer-fn: unit tests, the case table and the 18,000-request differential test (native rewrite vs
# the generated JS in Node and QuickJS), the wasm32 build, the acorn syntax gate, the CLI contracts.
set -euo pipefail
cd "$ROOT"
command -v node >/dev/null || { echo "node is required (Node 20)"; exit 1; }
[ -d tests/node_modules/acorn ] || (cd tests && npm ci --no-audit --no-fund --loglevel=error)

# --nocapture shows the differential counts and the generated sizes next to the summary lines.
cargo test -p viewer-fn -- --nocapture 2>&1 | grep -vE '^test .* \.\.\. ok$'
test "${PIPESTATUS[0]}" = 0

# The origin side compiles viewer-fn into the Lambda@Edge wasm module.
cargo build -q -p viewer-fn --target wasm32-unknown-unknown
echo "viewer-fn builds for wasm32-unknown-unknown"

cargo build -q -p scalefront
bin="$ROOT/target/debug/scalefront"
wide="$ROOT/target/viewer-fn-tests/wide-viewer-request.js"
"$bin" viewer-fn --config viewer-fn/tests/specs/wide.toml -o "$wide"
SCALEFRONT_BIN="$bin" SCALEFRONT_VIEWER_FNS="$ROOT/viewer-fn/generated/viewer-request.js:$ROOT/viewer-fn/generated/viewer-request-signed.js:$wide" \
  node --test tests/viewer-fn/syntax.test.mjs tests/viewer-fn/cli.test.mjs 2>&1 | grep -vE '^ *(---|\.\.\.|duration_ms|type:)'
test "${PIPESTATUS[0]}" = 0
