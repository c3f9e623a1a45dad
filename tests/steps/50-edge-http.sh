#!/usr/bin/env bash
# Local edge: its limits and folder guards (cargo test), then end to end over HTTP against `scalefront serve` on a folder (pass-through, generate+cache, Accept/Vary, 304, ranges, refusals, traversal, Ctrl-C).
set -euo pipefail
cd "$ROOT"
bash tests/edge/build.sh
# The edge's own tests: limits over real sockets (edge/tests/limits.rs), the folder origin's guards.
cargo test -q -p local-edge
# The hostile corpus (the image core's test generators) for serve to refuse.
HOSTILE_DIR=$(mktemp -d); trap 'rm -rf "$HOSTILE_DIR"' EXIT
cargo run -q -p image-core --example hostile -- "$HOSTILE_DIR"
export HOSTILE_DIR
node --test --test-concurrency=1 tests/edge/serve.test.mjs tests/edge/purge.test.mjs
