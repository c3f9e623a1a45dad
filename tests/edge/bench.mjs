// Benchmark of the local edge (not a test): generation latency for large photos and cache-hit
// throughput. Usage: node tests/edge/bench.mjs [PHOTO_DIR]   (default /tmp/scalefront-photos,
// fetched by scripts/fetch-photos.sh). Uses `wrk` for the hit rate when installed
// (apt-get install wrk), else a Node keep-alive client (which then shares the CPU with the edge).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { serve, tmpdir, imageSize, ROOT } from './harness.mjs';

const photos = process.argv[2] || '/tmp/scalefront-photos';
execFileSync('bash', [path.join(ROOT, 'scripts/fetch-photos.sh'), photos], { stdio: 'inherit' });
const dir = tmpdir('bench');
// 12 MP: the 5120×2880 JPEG cropped losslessly to 4096×2880 (11.8 MP) when jpegtran is here.
const big = path.join(photos, 'safelanding-5120x2880.jpg');
let twelve = 'safelanding-5120x2880.jpg';
fs.copyFileSync(big, path.join(dir, twelve));
if (spawnSync('jpegtran', ['-version']).status === 0 || spawnSync('which', ['jpegtran']).status === 0) {
  execFileSync('jpegtran', ['-crop', '4096x2880+0+0', '-copy', 'all', '-outfile', path.join(dir, 'safelanding-4096x2880.jpg'), big]);
  twelve = 'safelanding-4096x2880.jpg';
}
fs.copyFileSync(path.join(photos, 'flow-5120x2880-progressive.jpg'), path.join(dir, 'flow-5120x2880-progressive.jpg'));

const edge = await serve([dir]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
function get(p, headers = {}) {
  const { hostname, port } = new URL(edge.base);
  return new Promise((resolve, reject) => {
    const req = http.get({ hostname, port, path: p, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks), h: res.headers }));
    });
    req.on('error', reject);
  });
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const timing = (st, name) => Number((st.match(new RegExp(`${name};dur=([0-9.]+)`)) || [])[1]);

try {
  for (const photo of [twelve, 'flow-5120x2880-progressive.jpg']) {
    for (const f of ['jpeg', 'webp']) {
      const walls = [];
      const transforms = [];
      let dims;
      for (const w of [640, 750, 828, 1080, 1200]) {
        const t0 = performance.now();
        const r = await get(`/${photo}?w=${w}&f=${f}`);
        walls.push(performance.now() - t0);
        if (r.status !== 200 || r.h['x-scalefront-origin'] !== 'generated') throw new Error(`${photo} w=${w}: ${r.status} ${r.h['x-cache']} ${r.body}`);
        transforms.push(timing(r.h['server-timing'], 'transform'));
        dims = imageSize(r.body);
      }
      console.log(`generate ${photo} → ${f} (w 640…1200, e.g. ${dims.width}×${dims.height}): median ${median(walls).toFixed(0)} ms per request, transform ${median(transforms).toFixed(0)} ms (n=5)`);
    }
  }

  const url = `/${twelve}?w=640&f=webp`;
  const hit = await get(url);
  if (hit.h['x-cache'] !== 'Hit from cloudfront') throw new Error(`expected a hit, got ${hit.h['x-cache']}`);
  const size = hit.body.length;
  if (spawnSync('which', ['wrk']).status === 0) {
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const out = execFileSync('wrk', ['-t2', '-c200', '-d8s', edge.base + url]).toString();
      runs.push(Number(out.match(/Requests\/sec:\s+([0-9.]+)/)[1]));
    }
    console.log(`cache hits (wrk -t2 -c200, ${size} byte WebP variant, 3 runs of 8 s): median ${median(runs).toFixed(0)} req/s [${runs.map((r) => r.toFixed(0)).join(', ')}]`);
    const orig = [];
    for (let i = 0; i < 3; i++) {
      const out = execFileSync('wrk', ['-t2', '-c200', '-d8s', '-H', 'accept: image/webp', edge.base + `/${twelve}?w=640`]).toString();
      orig.push(Number(out.match(/Requests\/sec:\s+([0-9.]+)/)[1]));
    }
    console.log(`cache hits with f=auto negotiation (wrk, Accept: image/webp): median ${median(orig).toFixed(0)} req/s`);
  } else {
    const n = 30000;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 200 }, async () => { while (next++ < n) await get(url); }));
    const secs = (performance.now() - t0) / 1000;
    console.log(`cache hits (Node client, 200 connections, ${size} byte variant): ${(n / secs).toFixed(0)} req/s`);
  }
} finally {
  agent.destroy();
  await edge.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
