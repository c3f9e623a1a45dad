#!/usr/bin/env bash
# Builds what the local edge's tests run: the wasm `web` build (embedded for the preview page),
# then the debug `scalefront` binary (the workspace optimises the image core in debug builds).
set -euo pipefail
cd "${ROOT:-$(dirname "$0")/../..}"
cargo xtask wasm >/dev/null
SCALEFRONT_REQUIRE_PREVIEW=1 cargo build --quiet -p scalefront
