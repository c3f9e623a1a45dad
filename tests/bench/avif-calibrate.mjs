// AVIF calibration: which ravif quality gives the DSSIM sharp (libvips → libheif → aom) gives at
// the same q, and what each encoder setting then costs in bytes and time, next to libwebp's WebP
// on the same pixels. The numbers behind `quality::avif` (wasm/src/encode.rs) and the default
// spec's `avif_max_side` (scalefront.toml).
//
//   node tests/bench/avif-calibrate.mjs OUT_DIR PHOTO...     env AVIF_POINTS = the native binary
//   (cargo build --release -p image-core --example avif_points), WIDTHS (default 320,640,1200,1920),
//   SHARP_QUALITIES (default 40,50,60,75,80,90), and avif_points' own AVIF_SPEEDS, AVIF_DEPTHS,
//   AVIF_QUALITIES, WEBP_QUALITIES.
//
// Every candidate is scored against the same reference: the pipeline's own lossless resize of
// the photo at that width, so the encoders alone differ. sharp encodes with its defaults (effort
// 4, 4:4:4, 8 bit) on one thread; AVIF files are decoded to PNG by sharp for scoring.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const sharp = require(path.join(here, '../node_modules/sharp'));
sharp.concurrency(1);
sharp.cache(false);

const [outDir, ...photos] = process.argv.slice(2);
if (!outDir || photos.length === 0) {
  console.error('usage: node tests/bench/avif-calibrate.mjs OUT_DIR PHOTO...');
  process.exit(2);
}
const bin = process.env.AVIF_POINTS;
const widths = process.env.WIDTHS || '320,640,1200,1920';
const sharpQ = (process.env.SHARP_QUALITIES || '40,50,60,75,80,90').split(',').map(Number);

function run(args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`avif_points ${args[0]} failed`);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split('\t'));
}

// 1. references and our candidates
console.error(`encoding ravif and libwebp candidates for ${photos.length} photos at ${widths} px …`);
const points = run(['encode', outDir, widths, ...photos]).map(([file, ref, encoder, speed, depth, q, bytes, ms]) => ({
  file, ref, encoder: encoder === 'ravif' ? `ravif s${speed} d${depth}` : encoder, speed: +speed, q: +q, bytes: +bytes, ms: +ms,
}));

// 2. sharp's AVIF at the same pixels
const refs = [...new Set(points.map((p) => p.ref))];
console.error(`sharp AVIF at q ${sharpQ.join(',')} for ${refs.length} references …`);
for (const ref of refs) {
  for (const q of sharpQ) {
    const file = ref.replace(/\.png$/, `.sharp-q${q}.avif`);
    const out = path.join(outDir, file);
    // sharp's encodes take seconds each and depend only on the reference: kept from an earlier
    // run into the same OUT_DIR (with their time) when the reference is unchanged.
    if (existsSync(out) && statSync(out).mtimeMs >= statSync(path.join(outDir, ref)).mtimeMs) {
      const ms = existsSync(`${out}.ms`) ? +readFileSync(`${out}.ms`, 'utf8') : NaN;
      points.push({ file, ref, encoder: 'sharp', q, bytes: statSync(out).size, ms });
      continue;
    }
    const t0 = performance.now();
    const data = await sharp(path.join(outDir, ref)).avif({ quality: q }).toBuffer();
    const ms = performance.now() - t0;
    writeFileSync(out, data);
    writeFileSync(`${out}.ms`, String(ms));
    points.push({ file, ref, encoder: 'sharp', q, bytes: data.length, ms });
  }
}

// 3. scores: AVIF through sharp's decoder to PNG, WebP read by ours
console.error(`scoring ${points.length} candidates …`);
const pairs = [];
for (const p of points) {
  let cand = path.join(outDir, p.file);
  if (p.file.endsWith('.avif')) {
    const png = `${cand}.png`;
    await sharp(cand).png({ compressionLevel: 1 }).toFile(png);
    cand = png;
  }
  p.scored = cand;
  pairs.push(`${path.join(outDir, p.ref)}=${cand}`);
}
pairs.sort();
const scores = new Map(run(['score', ...pairs]).map(([c, d]) => [c, +d]));
for (const p of points) p.dssim = scores.get(p.scored);
writeFileSync(path.join(outDir, 'points.json'), JSON.stringify(points, null, 1));

// 4. analysis: per reference, each encoder's curve; interpolate at sharp's DSSIM for each q
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
// Value of `key` at DSSIM d on a curve (points sorted by q), linear in log DSSIM.
function at(curve, d, key) {
  const c = curve.filter((p) => p.dssim > 0).sort((a, b) => b.dssim - a.dssim); // worst first
  for (let i = 0; i + 1 < c.length; i++) {
    const [a, b] = [c[i], c[i + 1]];
    if (d <= a.dssim && d >= b.dssim) {
      const t = (Math.log(a.dssim) - Math.log(d)) / (Math.log(a.dssim) - Math.log(b.dssim) || 1);
      return key === 'bytes' ? Math.exp(Math.log(a.bytes) + t * (Math.log(b.bytes) - Math.log(a.bytes))) : a[key] + t * (b[key] - a[key]);
    }
  }
  return NaN;
}
const encoders = [...new Set(points.map((p) => p.encoder))].filter((e) => e.startsWith('ravif'));
const byRef = (e, ref) => points.filter((p) => p.encoder === e && p.ref === ref);
const widthOf = (ref) => +ref.match(/-w(\d+)\.png$/)[1];
const lines = [];
const out = (s) => { lines.push(s); console.log(s); };
out(`photos: ${photos.map((p) => path.basename(p)).join(', ')}; DSSIM ours (≈ 9× the dssim tool's scale); one thread; ms native`);
out('');
out('| width | sharp q | sharp DSSIM | sharp bytes | encoder | its q for that DSSIM | bytes × sharp | bytes × WebP at that DSSIM | ms native |');
out('|---|---|---|---|---|---|---|---|---|');
for (const w of widths.split(',').map(Number)) {
  const wrefs = refs.filter((r) => widthOf(r) === w);
  for (const q of sharpQ) {
    const s = wrefs.map((r) => points.find((p) => p.ref === r && p.encoder === 'sharp' && p.q === q));
    for (const e of encoders) {
      const qs = [], vsSharp = [], vsWebp = [], ms = [];
      wrefs.forEach((r, i) => {
        const d = s[i].dssim;
        const curve = byRef(e, r);
        qs.push(at(curve, d, 'q'));
        vsSharp.push(at(curve, d, 'bytes') / s[i].bytes);
        vsWebp.push(at(curve, d, 'bytes') / at(byRef('webp', r), d, 'bytes'));
        ms.push(at(curve, d, 'ms'));
      });
      out(`| ${w} | ${q} | ${median(s.map((x) => x.dssim)).toFixed(4)} | ${Math.round(median(s.map((x) => x.bytes)))} | ${e} | ${median(qs).toFixed(1)} (${Math.min(...qs.filter(Number.isFinite)).toFixed(0)}–${Math.max(...qs.filter(Number.isFinite)).toFixed(0)}) | ${median(vsSharp).toFixed(3)} | ${median(vsWebp).toFixed(3)} | ${median(ms).toFixed(0)} |`);
    }
  }
}

// 5. the pipeline's own AVIF (calibrated quality, speed by size) against sharp at the same q
out('');
out('| width | q | DSSIM ours / sharp (min–max) | bytes ours / sharp | bytes / WebP at equal DSSIM | bytes / WebP at the same q | speed | ms native (CPU) | sharp ms |');
out('|---|---|---|---|---|---|---|---|---|');
for (const w of widths.split(',').map(Number)) {
  const wrefs = refs.filter((r) => widthOf(r) === w);
  for (const q of sharpQ) {
    const rows = wrefs.map((r) => {
      const ours = points.find((p) => p.ref === r && p.encoder === 'scalefront' && p.q === q);
      const s = points.find((p) => p.ref === r && p.encoder === 'sharp' && p.q === q);
      const webpSameQ = points.find((p) => p.ref === r && p.encoder === 'webp' && p.q === q);
      return ours && s && {
        dssim: ours.dssim / s.dssim,
        bytes: ours.bytes / s.bytes,
        webp: ours.bytes / at(byRef('webp', r), ours.dssim, 'bytes'),
        webpSameQ: webpSameQ ? ours.bytes / webpSameQ.bytes : NaN,
        speed: ours.speed, ms: ours.ms, sharpMs: s.ms,
      };
    }).filter(Boolean);
    if (rows.length === 0) continue;
    const ds = rows.map((r) => r.dssim);
    const speeds = [...new Set(rows.map((r) => r.speed))].join('/');
    out(`| ${w} | ${q} | ${median(ds).toFixed(3)} (${Math.min(...ds).toFixed(2)}–${Math.max(...ds).toFixed(2)}) | ${median(rows.map((r) => r.bytes)).toFixed(3)} | ${median(rows.map((r) => r.webp)).toFixed(3)} | ${median(rows.map((r) => r.webpSameQ)).toFixed(3)} | ${speeds} | ${median(rows.map((r) => r.ms)).toFixed(0)} | ${median(rows.map((r) => r.sharpMs)).toFixed(0)} |`);
  }
}
writeFileSync(path.join(outDir, 'calibration.md'), lines.join('\n') + '\n');
