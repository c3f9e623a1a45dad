// WebP in wasm against the native build over more encoder paths than the core corpus: the outputs
// of wasm/examples/webp_cases.rs (qualities 1–100, full size and 97 px, alpha, grey, palette, WebP
// originals, an 803×601 synthetic image), which the wasm module must reproduce byte for byte. The
// wasm build runs libwebp's SSE2 code through SIMDe (wasm/simd), the native one x86 SSE2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const node = createRequire(import.meta.url)(path.join(root, 'wasm/pkg/node/image_core.js'));

function fnv64(bytes) {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

test('WebP outputs are byte-identical to the native build', () => {
  const dir = process.env.WEBP_CASES_DIR;
  if (!dir) throw new Error('WEBP_CASES_DIR is not set: run this through tests/steps/25-image-wasm.sh');
  const cases = readFileSync(path.join(dir, 'manifest.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
  assert.ok(cases.length >= 90, `only ${cases.length} cases`);
  const inputs = new Map();
  for (const [name, w, q, bytes, hash] of cases) {
    if (!inputs.has(name)) inputs.set(name, readFileSync(path.join(dir, name)));
    const options = { q: Number(q), f: 'webp' };
    if (w !== '-') options.w = Number(w);
    const out = node.resize(inputs.get(name), options);
    const what = `${name} ${JSON.stringify(options)}`;
    assert.equal(out.data.length, Number(bytes), `${what}: byte count differs from native`);
    assert.equal(fnv64(out.data), hash, `${what}: bytes differ from native`);
  }
});
