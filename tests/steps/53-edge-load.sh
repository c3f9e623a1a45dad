#!/usr/bin/env bash
# Local edge: load on loopback: 250 concurrent connections, cached + uncached variants, single flight, bounded memory; prints cache-hit req/s.
set -euo pipefail
cd "$ROOT"
bash tests/edge/build.sh
node --test --test-concurrency=1 tests/edge/load.test.mjs
