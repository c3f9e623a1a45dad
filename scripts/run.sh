#!/usr/bin/env bash
# The main job: set up a fresh machine, build, and run the local edge over the bundled sample photos.
# Extra arguments go to `scalefront serve` (e.g. a folder of your own photos, --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
export PATH="$HOME/.cargo/bin:$PATH"
cargo xtask wasm >/dev/null   # the in-browser preview's wasm, embedded in the binary
SCALEFRONT_REQUIRE_PREVIEW=1 cargo build --release --quiet -p scalefront
exec target/release/scalefront serve "$@"
