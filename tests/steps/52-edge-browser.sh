#!/usr/bin/env bash
# Local edge: the preview page in headless Chromium: wasm resize, bytes equal to the edge's native output.
set -euo pipefail
cd "$ROOT"
bash tests/edge/build.sh
node --test --test-concurrency=1 tests/edge/preview.test.mjs
