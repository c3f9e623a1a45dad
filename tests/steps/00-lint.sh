#!/usr/bin/env bash
# Formatting and lints over the whole workspace.
set -euo pipefail
cd "$ROOT"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "lint ok"
