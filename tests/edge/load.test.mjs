// Load on loopback: hundreds of concurrent requests for a mix of cached and uncached variants.
// Every request must succeed, each distinct variant must be generated exactly once (single
// flight), the whole burst must finish in bounded time, and the edge's memory must stay bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { serve, fixtureFolder, walk } from './harness.mjs';

const CONCURRENCY = 250;
let dir;
let edge;
let agent;

before(async () => {
  dir = fixtureFolder('load');
  // A small cache (16 MiB), so eviction happens under load too.
  edge = await serve([dir, '--cache-mb', '16']);
  agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
});
after(async () => {
  agent?.destroy();
  if (edge) await edge.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function get(p, headers = {}) {
  const { hostname, port } = new URL(edge.base);
  return new Promise((resolve, reject) => {
    const req = http.get({ hostname, port, path: p, agent, headers }, (res) => {
      let n = 0;
      res.on('data', (d) => { n += d.length; });
      res.on('end', () => resolve({ status: res.statusCode, bytes: n, xcache: res.headers['x-cache'], origin: res.headers['x-scalefront-origin'], length: Number(res.headers['content-length']) }));
    });
    req.on('error', reject);
  });
}

function rss(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(s.match(new RegExp(`${k}:\\s+(\\d+)`))[1]);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

test(`${CONCURRENCY}+ concurrent requests: no error, each variant generated once, bounded time and memory`, async () => {
  const photos = ['cups.jpg', 'by-the-water.jpg', 'storm.jpg', 'nature/ladybird.jpg'];
  // Cached before the burst: the originals and one variant each.
  for (const p of photos) {
    assert.equal((await get(`/${p}`)).status, 200);
    assert.equal((await get(`/${p}?w=256&f=jpeg`)).status, 200);
  }
  const fresh = [];
  for (const p of photos) for (const w of [384, 640, 828]) for (const f of ['jpeg', 'webp']) fresh.push(`/${p}?w=${w}&f=${f}`);
  const cached = photos.flatMap((p) => [`/${p}`, `/${p}?w=256&f=jpeg`]);
  // Each fresh variant asked for 12 times at once, interleaved with cache hits.
  const burst = [];
  for (let i = 0; i < 12; i++) for (const u of fresh) { burst.push(u); burst.push(cached[(burst.length) % cached.length]); }
  assert.ok(burst.length >= 2 * CONCURRENCY);

  const t0 = performance.now();
  const results = await Promise.all(burst.map((u) => get(u).then((r) => ({ u, ...r }))));
  const secs = (performance.now() - t0) / 1000;
  const mem = rss(edge.proc.pid);

  const errors = results.filter((r) => r.status !== 200 || r.bytes !== r.length);
  assert.deepEqual(errors, [], 'every request answered 200 with its full body');
  const generated = new Map();
  for (const r of results) if (r.origin === 'generated') generated.set(r.u, (generated.get(r.u) || 0) + 1);
  assert.equal(generated.size, fresh.length, 'every fresh variant was generated');
  assert.ok([...generated.values()].every((n) => n === 1), `generated more than once: ${JSON.stringify([...generated])}`);
  const stats = await (await fetch(edge.base + '/_scalefront/api/stats')).json();
  assert.equal(stats.edge.generated, fresh.length + photos.length, 'the flow ran once per distinct variant');
  assert.equal(walk(path.join(dir, '_sf')).length, fresh.length + photos.length, 'one stored file per variant');
  assert.ok(stats.cache.bytes <= 16 << 20, 'the edge cache stays within its bound');
  assert.ok(secs < 120, `burst took ${secs.toFixed(1)} s`);
  assert.ok(mem.peakMiB < 768, `peak RSS ${mem.peakMiB.toFixed(0)} MiB`);
  console.log(`# burst: ${burst.length} requests (${fresh.length} variants to make) in ${secs.toFixed(2)} s; RSS ${mem.rssMiB.toFixed(0)} MiB, peak ${mem.peakMiB.toFixed(0)} MiB`);

  // Cache hits only, CONCURRENCY connections kept alive: the edge's steady state.
  const hits = [];
  for (let i = 0; i < 20000; i++) hits.push(cached.concat(fresh)[i % (cached.length + fresh.length)]);
  let next = 0;
  const t1 = performance.now();
  let bad = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < hits.length) {
      const r = await get(hits[next++]);
      if (r.status !== 200 || r.xcache !== 'Hit from cloudfront') bad++;
    }
  }));
  const hitSecs = (performance.now() - t1) / 1000;
  assert.equal(bad, 0, 'cache-hit phase: every request a 200 Hit');
  assert.ok(hitSecs < 120);
  const after = rss(edge.proc.pid);
  assert.ok(after.peakMiB < 768, `peak RSS ${after.peakMiB.toFixed(0)} MiB`);
  console.log(`# cache hits: ${hits.length} requests over ${CONCURRENCY} connections in ${hitSecs.toFixed(2)} s = ${(hits.length / hitSecs).toFixed(0)} req/s (node client on the same 2 cores)`);
});
