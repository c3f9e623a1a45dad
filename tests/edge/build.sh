#!/usr/bin/env bash
# Builds what the local edge's tests run: the wasm `web` build (embedded for the preview page),
# then the release `scalefront` binary (release: the image core at opt-level 0 is far too slow).
set -euo pipefail
cd "${ROOT:-$(dirname "$0")/../..}"
cargo xtask wasm >/dev/null
SCALEFRONT_REQUIRE_PREVIEW=1 cargo build --release --quiet -p scalefront
