#!/usr/bin/env bash
# Local edge: `scalefront serve --s3` against a real S3 server (s3s-fs).
set -euo pipefail
cd "$ROOT"
bash tests/edge/build.sh
node --test --test-concurrency=1 tests/edge/s3.test.mjs
