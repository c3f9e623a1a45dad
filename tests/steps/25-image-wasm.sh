#!/usr/bin/env bash
# Image core, wasm: builds wasm/pkg/node and wasm/pkg/web (`cargo xtask wasm`, simd128), then runs
# the core's corpus in real Node against the native build's recorded bytes, the error kinds, the
# web build through initSync, and the import check (nothing but wasm-bindgen's glue).
set -euo pipefail
cd "$ROOT"
cargo xtask wasm
node --test tests/image/ 2>&1
