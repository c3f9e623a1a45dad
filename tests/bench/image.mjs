// Image benchmark: scalefront native, scalefront wasm in Node and sharp (libvips), side by side in
// one run, on the photos from scripts/fetch-photos.sh. Run through `cargo xtask bench-image`
// (builds the native bench binary and the wasm package first).
//
//   node tests/bench/image.mjs [PHOTO_DIR]      env SCALEFRONT_BENCH_NATIVE = the native bench binary
//
// Every engine runs each task in its own fresh process pinned to one core (taskset), single
// threaded (sharp.concurrency(1)); medians of warm calls, first call excluded. Peak RSS is the
// process's (VmHWM / maxRSS). DSSIM is ours (wasm/src/quality.rs; about 9x the dssim tool's
// scale) against a float Lanczos3 reference made from the full-size photo.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const require = createRequire(import.meta.url);

const TASKS = [
  { name: '5120×2880 baseline JPEG → 1600 w JPEG q80', file: 'safelanding-5120x2880.jpg', w: 1600, f: 'jpeg', q: 80, iters: 9 },
  { name: '5120×2880 baseline JPEG → 600 w WebP q80', file: 'safelanding-5120x2880.jpg', w: 600, f: 'webp', q: 80, iters: 9 },
  { name: '5120×2880 progressive JPEG → 600 w JPEG q80', file: 'flow-5120x2880-progressive.jpg', w: 600, f: 'jpeg', q: 80, iters: 5 },
  { name: '5120×2880 RGBA PNG → 800 w PNG', file: 'kay-5120x2880.png', w: 800, f: 'png', q: 80, iters: 5 },
  // A WebP original: made at bench time from a bench photo with cwebp (q80, stretched to 4096²:
  // the size of the measurement), written next to the outputs.
  { name: '4096×4096 lossy WebP → 1080 w WebP q80', file: 'safelanding-4096x4096-q80.webp', w: 1080, f: 'webp', q: 80, iters: 5,
    make: { from: 'safelanding-5120x2880.jpg', cwebp: ['-q', '80', '-resize', '4096', '4096'] } },
  // Photos not used while the JPEG decoder was written (scripts/fetch-photos.sh).
  { name: 'untuned: 5120×2880 baseline 4:2:2 JPEG (honeywave) → 1600 w JPEG q80', file: 'honeywave-5120x2880.jpg', w: 1600, f: 'jpeg', q: 80, iters: 7 },
  { name: 'untuned: 5120×2880 progressive 4:4:4 JPEG (volna) → 600 w WebP q80', file: 'volna-5120x2880-progressive.jpg', w: 600, f: 'webp', q: 80, iters: 5 },
  { name: 'untuned: 2560×1600 baseline 4:2:0 JPEG (twowings) → 320 w JPEG q80', file: 'twowings-2560x1600.jpg', w: 320, f: 'jpeg', q: 80, iters: 9 },
  // Last: the cold-start task.
  { name: '1920×1200 JPEG → 320 w JPEG q80', file: 'raindrops-1920x1200.jpg', w: 320, f: 'jpeg', q: 80, iters: 15 },
];
// The JPEG decoder alone (no resize, no encode), against libjpeg-turbo's djpeg (-dct int, its
// SIMD IDCT at full size; a fresh process per call, so its times include ~1–2 ms of exec).
const DECODES = [
  { name: 'decode alone: 5120×2880 baseline, full size', file: 'safelanding-5120x2880.jpg', m: 8, iters: 7 },
  { name: 'decode alone: 5120×2880 baseline, 1/8', file: 'safelanding-5120x2880.jpg', m: 1, iters: 7 },
  { name: 'decode alone: 5120×2880 progressive, full size', file: 'flow-5120x2880-progressive.jpg', m: 8, iters: 5 },
  { name: 'decode alone: 5120×2880 progressive, 1/8', file: 'flow-5120x2880-progressive.jpg', m: 1, iters: 5 },
  { name: 'decode alone: untuned 5120×2880 baseline 4:2:2 (honeywave), 5/8', file: 'honeywave-5120x2880.jpg', m: 5, iters: 7 },
];
const ENGINES = ['native', 'wasm', 'sharp'];
// AVIF lives in a separate wasm module (wasm/pkg/node-avif, `cargo xtask wasm --avif`): measured apart,
// at each width the default spec's f=auto may pick it for and one above. q75 is calibrated to
// sharp's scale (equal DSSIM at equal q: wasm/src/encode.rs AVIF_QUALITY), so the rows compare equals.
const AVIF_TASKS = [320, 640, 828, 1200].map((w) => ({
  name: `5120×2880 baseline JPEG → ${w} w AVIF q75`, file: 'safelanding-5120x2880.jpg', w, f: 'avif', q: 75, iters: 3,
}));

// ---- child mode: one engine, one task, in this fresh process -------------------------------
async function child([engine, file, w, f, q, iters, out]) {
  const input = readFileSync(file);
  let run;
  if (engine === 'wasm-decode') {
    // `w` is the scale M (decoding at M/8).
    const core = require(path.join(root, 'wasm/pkg/node/image_core.js'));
    run = () => ({ length: core.benchJpegDecode(input, Number(w)) });
  } else if (engine === 'wasm' || engine === 'wasm-avif') {
    const core = require(path.join(root, engine === 'wasm' ? 'wasm/pkg/node/image_core.js' : 'wasm/pkg/node-avif/image_core.js'));
    run = () => core.resize(input, { w: Number(w), f, q: Number(q) }).data;
  } else {
    const sharp = require(path.join(root, 'tests/node_modules/sharp'));
    sharp.concurrency(1);
    sharp.cache(false);
    run = () => {
      const s = sharp(input).rotate().resize({ width: Number(w), withoutEnlargement: true });
      const opts = { quality: Number(q) };
      const out = { png: () => s.png(), webp: () => s.webp(opts), avif: () => s.avif({ ...opts, effort: 4 }), jpeg: () => s.jpeg(opts) };
      return out[f]().toBuffer();
    };
  }
  const times = [];
  let data;
  for (let i = 0; i < Number(iters) + (Number(iters) > 1 ? 1 : 0); i++) {
    const t0 = performance.now();
    data = await run();
    times.push(performance.now() - t0);
  }
  const first = times[0];
  if (times.length > 1) times.shift();
  times.sort((a, b) => a - b);
  if (out) writeFileSync(out, data);
  const median = times[Math.floor(times.length / 2)];
  console.log(JSON.stringify({ median_ms: median, first_ms: first, bytes: data.length, peak_rss_kb: process.resourceUsage().maxRSS }));
}

// ---- driver ---------------------------------------------------------------------------------
const pin = spawnSync('taskset', ['--version']).status === 0 ? ['taskset', '-c', '1'] : [];

// One engine, one task, in a fresh process pinned to one core.
function command(engine, args) {
  return engine === 'native'
    ? [...pin, process.env.SCALEFRONT_BENCH_NATIVE, 'run', ...args]
    : [...pin, process.execPath, fileURLToPath(import.meta.url), '--child', engine, ...args];
}

function runEngine(engine, args) {
  const [cmd, ...rest] = command(engine, args);
  const t0 = performance.now();
  const r = spawnSync(cmd, rest, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${engine} ${args.join(' ')}: ${r.stderr || r.error}`);
  return { ...JSON.parse(r.stdout.trim().split('\n').pop()), wall_ms: wall };
}

// Cold start as a caller sees it: from spawning a fresh process to its result on stdout (a Lambda
// answers then; it does not exit). Process exit is timed too: V8 finishes background compilation
// of the wasm module before a Node process exits.
function coldStart(engine, args) {
  const [cmd, ...rest] = command(engine, args);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let result_ms = null;
    let out = '';
    const child = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d) => {
      out += d;
      if (result_ms === null && out.includes('\n')) result_ms = performance.now() - t0;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${engine} cold start exited ${code}`));
      else resolve({ result_ms, exit_ms: performance.now() - t0 });
    });
  });
}

// A task's original made from a bench photo (once; kept in target/bench-image).
function made(photos, outDir, t) {
  const file = path.join(outDir, t.file);
  if (!existsSync(file)) {
    const r = spawnSync('cwebp', ['-quiet', ...t.make.cwebp, path.join(photos, t.make.from), '-o', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cwebp (Debian package webp; scripts/setup.sh installs it) for ${t.file}: ${r.stderr || r.error}`);
  }
  return file;
}

// The decoder alone: native (`bench decode`), wasm (a child process) and djpeg, each pinned.
function decodeRow(photos, d) {
  const file = path.join(photos, d.file);
  const pinned = (cmd, args) => spawnSync(pin.length ? pin[0] : cmd, pin.length ? [...pin.slice(1), cmd, ...args] : args, { encoding: 'utf8' });
  const n = pinned(process.env.SCALEFRONT_BENCH_NATIVE, ['decode', file, String(d.m), String(d.iters)]);
  if (n.status !== 0) throw new Error(`native decode: ${n.stderr}`);
  const native = JSON.parse(n.stdout.trim());
  const wasm = runEngine('wasm-decode', [file, String(d.m), 'none', '0', String(d.iters), '']);
  const times = [];
  for (let i = 0; i < d.iters; i++) {
    const t0 = performance.now();
    const r = pinned('djpeg', ['-dct', 'int', '-scale', `${d.m}/8`, '-outfile', '/dev/null', file]);
    if (r.status !== 0) return { native, wasm, djpeg: null };
    times.push(performance.now() - t0);
  }
  return { native, wasm, djpeg: median(times) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x, d = 1) => (x == null ? '—' : x.toFixed(d));

async function main(photos) {
  if (!process.env.SCALEFRONT_BENCH_NATIVE) throw new Error('set SCALEFRONT_BENCH_NATIVE (cargo xtask bench-image does)');
  const outDir = path.join(root, 'target/bench-image');
  mkdirSync(outDir, { recursive: true });
  const results = [];
  for (const t of TASKS) {
    const file = t.make ? made(photos, outDir, t) : path.join(photos, t.file);
    const row = { task: t.name };
    const outs = {};
    for (const e of ENGINES) {
      outs[e] = path.join(outDir, `${t.file}-${t.w}-${e}.${t.f}`);
      row[e] = runEngine(e, [file, String(t.w), t.f, String(t.q), String(t.iters), outs[e]]);
    }
    const d = spawnSync(process.env.SCALEFRONT_BENCH_NATIVE, ['dssim', file, ...ENGINES.map((e) => outs[e])], { encoding: 'utf8' });
    if (d.status !== 0) throw new Error(`dssim: ${d.stderr}`);
    const scores = JSON.parse(d.stdout);
    for (const e of ENGINES) row[e].dssim = scores[outs[e]];
    results.push(row);
    console.error(`  ${t.name}: sharp ${fmt(row.sharp.median_ms)} ms, wasm ${fmt(row.wasm.median_ms)} ms, native ${fmt(row.native.median_ms)} ms`);
  }
  // Cold start: a fresh process that loads its engine and runs the last task once.
  const last = TASKS[TASKS.length - 1];
  const coldArgs = [path.join(photos, last.file), String(last.w), last.f, String(last.q), '1', ''];
  const cold = {};
  const coldExit = {};
  for (const e of ENGINES) {
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await coldStart(e, coldArgs));
    cold[e] = median(runs.map((r) => r.result_ms));
    coldExit[e] = median(runs.map((r) => r.exit_ms));
  }

  const decodes = [];
  const haveDjpeg = spawnSync('djpeg', ['-version']).status === 0;
  for (const d of DECODES) {
    const r = decodeRow(photos, d);
    decodes.push({ task: d.name, ...r, djpeg: haveDjpeg ? r.djpeg : null });
    console.error(`  ${d.name}: djpeg ${fmt(r.djpeg)} ms, wasm ${fmt(r.wasm.median_ms)} ms, native ${fmt(r.native.median_ms)} ms`);
  }

  const lines = [];
  const p = (s) => lines.push(s);
  p('| task | sharp ms | wasm ms (× sharp) | native ms (× sharp) | bytes sharp / wasm / native | DSSIM sharp / wasm / native |');
  p('|---|---|---|---|---|---|');
  for (const r of results) {
    const s = r.sharp.median_ms;
    p(`| ${r.task} | ${fmt(s)} | ${fmt(r.wasm.median_ms)} (${fmt(r.wasm.median_ms / s, 2)}) | ${fmt(r.native.median_ms)} (${fmt(r.native.median_ms / s, 2)}) | ${r.sharp.bytes} / ${r.wasm.bytes} (${fmt((100 * r.wasm.bytes) / r.sharp.bytes - 100, 1)} %) / ${r.native.bytes} | ${fmt(r.sharp.dssim, 4)} / ${fmt(r.wasm.dssim, 4)} / ${fmt(r.native.dssim, 4)} |`);
  }
  p(`| cold start: fresh process, load + "${last.name}" once, spawn → result | ${fmt(cold.sharp)} | ${fmt(cold.wasm)} (${fmt(cold.wasm / cold.sharp, 2)}) | ${fmt(cold.native)} (${fmt(cold.native / cold.sharp, 2)}) | | |`);
  p(`| same, spawn → process exit | ${fmt(coldExit.sharp)} | ${fmt(coldExit.wasm)} (${fmt(coldExit.wasm / coldExit.sharp, 2)}) | ${fmt(coldExit.native)} (${fmt(coldExit.native / coldExit.sharp, 2)}) | | |`);
  const prog = results[2];
  const mib = (kb) => kb / 1024;
  p(`| peak RSS MiB, progressive row | ${fmt(mib(prog.sharp.peak_rss_kb))} | ${fmt(mib(prog.wasm.peak_rss_kb))} (${fmt(prog.wasm.peak_rss_kb / prog.sharp.peak_rss_kb, 2)}) | ${fmt(mib(prog.native.peak_rss_kb))} (${fmt(prog.native.peak_rss_kb / prog.sharp.peak_rss_kb, 2)}) | | |`);
  const wasmSize = readFileSync(path.join(root, 'wasm/pkg/node/image_core_bg.wasm')).length;
  const avifPkg = path.join(root, 'wasm/pkg/node-avif/image_core_bg.wasm');
  if (existsSync(avifPkg)) {
    const sharp = require(path.join(root, 'tests/node_modules/sharp'));
    for (const t of AVIF_TASKS) {
      const file = path.join(photos, t.file);
      const r = {};
      for (const e of ['native', 'wasm-avif', 'sharp']) {
        const out = path.join(outDir, `${t.file}-${t.w}-${e}.avif`);
        r[e] = runEngine(e, [file, String(t.w), t.f, String(t.q), String(t.iters), out]);
        // Our decoders read no AVIF: sharp turns each output into PNG for the DSSIM.
        const png = `${out}.png`;
        await sharp(out).png().toFile(png);
        r[e].png = png;
      }
      const d = spawnSync(process.env.SCALEFRONT_BENCH_NATIVE, ['dssim', file, ...Object.values(r).map((x) => x.png)], { encoding: 'utf8' });
      const scores = d.status === 0 ? JSON.parse(d.stdout) : {};
      const s = r.sharp.median_ms;
      p(`| ${t.name} (separate wasm module) | ${fmt(s)} | ${fmt(r['wasm-avif'].median_ms)} (${fmt(r['wasm-avif'].median_ms / s, 2)}) | ${fmt(r.native.median_ms)} (${fmt(r.native.median_ms / s, 2)}) | ${r.sharp.bytes} / ${r['wasm-avif'].bytes} (${fmt((100 * r['wasm-avif'].bytes) / r.sharp.bytes - 100, 1)} %) / ${r.native.bytes} | ${fmt(scores[r.sharp.png], 4)} / ${fmt(scores[r['wasm-avif'].png], 4)} / ${fmt(scores[r.native.png], 4)} |`);
      console.error(`  ${t.name}: sharp ${fmt(s)} ms, wasm ${fmt(r['wasm-avif'].median_ms)} ms, native ${fmt(r.native.median_ms)} ms`);
    }
    const avifRuns = [];
    for (let i = 0; i < 5; i++) avifRuns.push(await coldStart('wasm-avif', coldArgs));
    const coldAvif = median(avifRuns.map((r) => r.result_ms));
    p(`| cold start of the AVIF module (same JPEG task, spawn → result) | ${fmt(cold.sharp)} | ${fmt(coldAvif)} (${fmt(coldAvif / cold.sharp, 2)}) | | | |`);
    p('');
    p(`AVIF wasm module: ${readFileSync(avifPkg).length} bytes (wasm/pkg/node-avif)`);
  }
  p('');
  p('| decoder alone | djpeg ms | wasm ms (× djpeg) | native ms (× djpeg) |');
  p('|---|---|---|---|');
  for (const d of decodes) {
    const x = (v) => (d.djpeg ? ` (${fmt(v / d.djpeg, 2)})` : '');
    p(`| ${d.task} | ${fmt(d.djpeg)} | ${fmt(d.wasm.median_ms)}${x(d.wasm.median_ms)} | ${fmt(d.native.median_ms)}${x(d.native.median_ms)} |`);
  }
  p('');
  p(`wasm module: ${wasmSize} bytes (wasm/pkg/node/image_core_bg.wasm); pinned to one core: ${pin.length > 0}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  console.log(lines.join('\n'));
  writeFileSync(path.join(outDir, 'results.json'), JSON.stringify({ results, decodes, cold, coldExit, wasmSize }, null, 2));
}

if (process.argv[2] === '--child') await child(process.argv.slice(3));
else await main(process.argv[2] || '/tmp/scalefront-photos');
