#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh machine (Debian 12, rustup, Node 20).
# Idempotent: each step checks before it installs, so a warm machine passes through in seconds.
# Usage: setup.sh [run|test]   run = what building and serving needs; test (default) = everything.
set -euo pipefail
MODE="${1:-test}"
cd "$(dirname "$0")/.."
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# --- Debian packages: clang + wasi-libc (libwebp C into wasm), libsimde-dev (libwebp's SSE2 paths as
#     simd128 in wasm, wasm/simd/), nasm (ravif asm), chromium (browser test), webp (cwebp/dwebp)
need_apt=()
command -v clang >/dev/null || need_apt+=(clang)
command -v llvm-ar >/dev/null || need_apt+=(llvm)
[ -d /usr/include/wasm32-wasi ] || need_apt+=(wasi-libc)
[ -d /usr/include/simde ] || need_apt+=(libsimde-dev)
command -v nasm >/dev/null || need_apt+=(nasm)
[ "$MODE" = test ] && { command -v chromium >/dev/null || need_apt+=(chromium); }
# cwebp/dwebp: the benchmark's WebP original, and a second reference for the WebP decoder's test
[ "$MODE" = test ] && { command -v dwebp >/dev/null || need_apt+=(webp); }
# djpeg/cjpeg: image-core's JPEG conformance test (tests/jpeg_conformance.rs) compares against them.
command -v djpeg >/dev/null || need_apt+=(libjpeg-turbo-progs)
command -v zip >/dev/null || need_apt+=(zip)
command -v unzip >/dev/null || need_apt+=(unzip)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" llvm-14 >/dev/null \
    || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" llvm-14 >/dev/null
fi

# --- Rust targets and tools
rustup target list --installed | grep -qx wasm32-unknown-unknown || { say "rustup target add wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
WBG=0.2.130
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WBG" ]; then
  say "cargo install wasm-bindgen-cli $WBG (5-10 min cold)"
  cargo install wasm-bindgen-cli --version "$WBG" --quiet
fi
if [ "$MODE" = run ]; then say "ready (run)"; exit 0; fi
if ! command -v s3s-fs >/dev/null; then
  say "cargo install s3s-fs 0.14.1 (a real S3 server for the tests; a few minutes cold)"
  cargo install --locked s3s-fs --version 0.14.1 --features binary --quiet
fi

# --- Python tools (cfn-lint for the CloudFormation checks, moto for the doctor's control-plane tests,
#     the aws CLI that `scalefront deploy`/`doctor` drive; README "Deploy to AWS")
VENV=.tools/venv
if [ ! -x "$VENV/bin/cfn-lint" ] || [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/aws" ]; then
  say "python venv: cfn-lint, moto[server], awscli"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "cfn-lint==1.*" "moto[server]==5.*" "awscli==1.*" pyyaml
fi

# --- npm packages pinned by tests/package-lock.json (acorn, sharp, playwright-core, aws-sdk)
if [ -f tests/package.json ]; then
  if [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
    say "npm ci (tests/)"
    (cd tests && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
say "ready"
