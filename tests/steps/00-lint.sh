#!/usr/bin/env bash
# Formatting and lints over the whole workspace, natively and for wasm32.
set -euo pipefail
cd "$ROOT"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The crates that also build for wasm32 (Lambda@Edge's module, the browser preview), linted there too:
# cfg(target_arch = "wasm32") code is invisible to the native run.
cargo clippy --target wasm32-unknown-unknown -p viewer-fn -p image-core -p resize-lambda --lib --quiet -- -D warnings
echo "lint ok"
