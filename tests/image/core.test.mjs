// The image core's wasm build (wasm/pkg/node and wasm/pkg/web, made by `cargo xtask wasm`) in real
// Node: the native test corpus (wasm/tests/expected/cases.tsv) must give the same bytes, errors must
// carry their kind, and the module may import nothing but wasm-bindgen's glue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'wasm/tests/fixtures');
const fixture = (name) => readFileSync(path.join(fixtures, name));
const require = createRequire(import.meta.url);
const node = require(path.join(root, 'wasm/pkg/node/image_core.js'));
// AVIF output is a separate, larger module (`cargo xtask wasm --avif`).
const nodeAvif = require(path.join(root, 'wasm/pkg/node-avif/image_core.js'));

function fnv64(bytes) {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

const cases = readFileSync(path.join(root, 'wasm/tests/expected/cases.tsv'), 'utf8')
  .trim().split('\n').slice(1).map((line) => {
    const [fixture, w, h, fit, q, f, outW, outH, bytes, hash] = line.split('\t');
    const options = { fit, q: Number(q), f };
    if (w !== '-') options.w = Number(w);
    if (h !== '-') options.h = Number(h);
    return { fixture, options, outW: Number(outW), outH: Number(outH), bytes: Number(bytes), hash };
  });

test('the corpus gives the same bytes as the native build', () => {
  assert.ok(cases.length >= 20, `only ${cases.length} cases`);
  assert.ok(cases.some((c) => c.options.f === 'avif'), 'the corpus has no AVIF case');
  for (const c of cases) {
    const out = (c.options.f === 'avif' ? nodeAvif : node).resize(fixture(c.fixture), c.options);
    const what = `${c.fixture} ${JSON.stringify(c.options)}`;
    assert.ok(out.data instanceof Uint8Array, what);
    assert.equal(out.contentType, `image/${c.options.f}`, what);
    assert.deepEqual([out.width, out.height], [c.outW, c.outH], what);
    assert.equal(out.data.length, c.bytes, `${what}: byte count differs from native`);
    assert.equal(fnv64(out.data), c.hash, `${what}: bytes differ from native`);
  }
});

test('bad inputs throw errors that carry their kind and HTTP status', () => {
  const table = [
    ['truncated.jpg', 'corrupt', 415],
    ['truncated.png', 'corrupt', 415],
    ['empty.jpg', 'corrupt', 415],
    ['html.jpg', 'unsupported', 415],
    ['corrupt-header.png', 'corrupt', 415],
    ['bomb-65536.png', 'too-large', 400],
    ['bomb-10000.png', 'too-large', 400],
    ['bomb.jpg', 'too-large', 400],
  ];
  for (const [name, kind, status] of table) {
    const started = performance.now();
    assert.throws(() => node.resize(fixture(name), { w: 100 }), (e) => {
      assert.ok(e instanceof Error, name);
      assert.ok(e.message.startsWith(`${kind}: `), `${name}: ${e.message}`);
      assert.equal(e.kind, kind, name);
      assert.equal(e.status, status, name);
      return true;
    });
    if (kind === 'too-large') assert.ok(performance.now() - started < 50, `${name} was not refused from the header`);
  }
});

test('the hostile corpus is refused in wasm as natively: its kind, the limit named, quickly', () => {
  const dir = process.env.HOSTILE_DIR;
  if (!dir) throw new Error('HOSTILE_DIR is not set: run this through tests/steps/25-image-wasm.sh');
  const manifest = readFileSync(path.join(dir, 'manifest.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
  assert.ok(manifest.length >= 10);
  for (const [name, kind, says] of manifest) {
    const input = readFileSync(path.join(dir, name));
    const started = performance.now();
    assert.throws(() => node.resize(input, { w: 256, f: 'jpeg' }), (e) => {
      assert.equal(e.kind, kind, `${name}: ${e.message}`);
      assert.ok(e.message.includes(says), `${name}: ${e.message} does not say ${says}`);
      return true;
    });
    assert.ok(performance.now() - started < 1000, `${name} took ${performance.now() - started} ms`);
  }
});

test('bad options are refused with a message', () => {
  const input = fixture('landscape-1.jpg');
  for (const options of [{ w: -1 }, { w: 1.5 }, { w: '600' }, { q: 101 }, { fit: 'squash' }, { f: 'bmp' }]) {
    assert.throws(() => node.resize(input, options), /^Error: unsupported: /, JSON.stringify(options));
  }
  // No options: the original size, re-encoded as JPEG without metadata.
  const out = node.resize(input, {});
  assert.deepEqual([out.width, out.height, out.contentType], [240, 150, 'image/jpeg']);
  assert.deepEqual(node.probe(fixture('landscape-6.jpg')), { format: 'jpeg', width: 240, height: 150, orientation: 6 });
});

test('the web build gives the same bytes through initSync', async () => {
  const web = await import(path.join(root, 'wasm/pkg/web/image_core.js'));
  web.initSync({ module: readFileSync(path.join(root, 'wasm/pkg/web/image_core_bg.wasm')) });
  for (const c of cases.slice(0, 6)) {
    assert.equal(fnv64(web.resize(fixture(c.fixture), c.options).data), c.hash, c.fixture);
  }
});

test('the modules import nothing but wasm-bindgen glue', () => {
  for (const dir of ['node', 'web']) {
    const mod = new WebAssembly.Module(readFileSync(path.join(root, `wasm/pkg/${dir}/image_core_bg.wasm`)));
    const imports = WebAssembly.Module.imports(mod);
    assert.ok(imports.length > 0, dir);
    const stray = imports.filter((i) => !/^(\.\/image_core_bg\.js|wbg|__wbindgen_placeholder__)$/.test(i.module));
    assert.deepEqual(stray, [], `${dir}: imports outside wasm-bindgen's glue (env.* or wasi_*: a C symbol the shim lacks)`);
  }
});
