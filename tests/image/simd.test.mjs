// wasm/simd/include replaces a few SSE intrinsics with hand-written simd128 (SIMDe 0.7.4's own are
// lane-by-lane loops there). Each must give what SIMDe's reference version gives for every input,
// or libwebp's SSE2 paths in wasm would no longer match the native build's bytes. This compiles
// wasm/simd/check.c the way the wasm build compiles libwebp (wasm/simd/clang, -O3 -msimd128),
// links it with rustc's rust-lld and runs it on a million random and edge-value inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const simd = path.join(root, 'wasm/simd');

function rustLld() {
  const sysroot = execFileSync('rustc', ['--print', 'sysroot'], { encoding: 'utf8' }).trim();
  const host = execFileSync('rustc', ['-vV'], { encoding: 'utf8' }).match(/^host: (.+)$/m)[1];
  return path.join(sysroot, 'lib/rustlib', host, 'bin/rust-lld');
}

test("the simd128 replacements give SIMDe's results", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'simd-check-'));
  try {
    const obj = path.join(dir, 'check.o');
    const wasm = path.join(dir, 'check.wasm');
    execFileSync(path.join(simd, 'clang'), ['--target=wasm32-wasi', '-isystem', '/usr/include/wasm32-wasi',
      '-O3', '-msimd128', '-c', path.join(simd, 'check.c'), '-o', obj], { stdio: 'inherit' });
    execFileSync(rustLld(), ['-flavor', 'wasm', '--no-entry', obj, '-o', wasm], { stdio: 'inherit' });
    const { check } = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasm)), {}).exports;
    assert.equal(check(1_000_000), 0, 'mismatching results (wasm/simd/include vs SIMDe)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
