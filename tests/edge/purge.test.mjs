// Freshness against a real `scalefront serve` over a folder: `scalefront purge` deletes one
// original's stored variants (every generation, no neighbour's) and drops them from the edge cache,
// so a replaced photo is the new image on the next request and a deleted one answers 404.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { serve, imageSize, walk, tmpdir, BIN, SAMPLE } from './harness.mjs';
import { G } from '../keys.mjs';

let dir;
let edge;
const JPEG = { accept: 'image/jpeg' };

before(async () => {
  dir = tmpdir('purge');
  fs.cpSync(SAMPLE, dir, { recursive: true });
  // x.jpg/ is also the folder of another original: purging x.jpg must not reach it.
  fs.copyFileSync(path.join(dir, 'storm.jpg'), path.join(dir, 'x.jpg'));
  // The CLI's purge, alone: no watcher purging behind the tests' backs.
  edge = await serve([dir, '--no-watch']);
});
after(async () => {
  if (edge) await edge.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const get = async (p) => {
  const res = await fetch(edge.base + p, { headers: JPEG });
  return { res, body: Buffer.from(await res.arrayBuffer()), h: (n) => res.headers.get(n) };
};
const purge = (...args) => execFileSync(BIN, ['purge', ...args, '--serve', edge.base], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const variants = () => walk(dir).filter((f) => f.startsWith('_sf/')).sort();

test('replace an original, purge it: the next request is the new image; the neighbours keep theirs', async () => {
  const a = await get('/cups.jpg?w=384');
  assert.equal(a.res.status, 200);
  assert.deepEqual(imageSize(a.body), { format: 'jpeg', width: 384, height: 240 });
  assert.equal((await get('/storm.jpg?w=256')).res.status, 200);
  // An old generation's leftover, and a variant of another original under cups.jpg/.
  const old = path.join(dir, '_sf/cups.jpg/g0000000/w384-h0-cover-q75.jpeg');
  fs.mkdirSync(path.dirname(old), { recursive: true });
  fs.writeFileSync(old, a.body);
  assert.equal((await get('/cups.jpg?w=640')).h('x-cache'), 'Miss from cloudfront');
  assert.equal((await get('/cups.jpg?w=384')).h('x-cache'), 'Hit from cloudfront');

  // Replace cups.jpg with another photo: the cache and the store still hold the old one.
  fs.copyFileSync(path.join(dir, 'storm.jpg'), path.join(dir, 'cups.jpg'));
  const stale = await get('/cups.jpg?w=384');
  assert.equal(stale.h('x-cache'), 'Hit from cloudfront');

  const dry = purge('cups.jpg', '--dry-run');
  assert.match(dry, new RegExp(`would delete _sf/cups.jpg/${G}/w384-h0-cover-q75.jpeg`));
  assert.match(dry, /would delete _sf\/cups.jpg\/g0000000\/w384-h0-cover-q75.jpeg/);
  assert.match(dry, /would invalidate #sf-[0-9a-f]{16}\nwould invalidate \/cups.jpg\n/);
  assert.ok(variants().some((f) => f.startsWith('_sf/cups.jpg/')), 'a dry run deletes nothing');

  const out = purge('cups.jpg');
  assert.equal(out.match(/^deleted /gm).length, 3, out);
  assert.deepEqual(variants().filter((f) => f.startsWith('_sf/cups.jpg/')), []);
  assert.ok(variants().some((f) => f.startsWith('_sf/storm.jpg/')), "another original's variants stay");
  const fresh = await get('/cups.jpg?w=384');
  assert.equal(fresh.h('x-cache'), 'Miss from cloudfront');
  assert.equal(fresh.h('x-scalefront-origin'), 'generated');
  assert.ok(!fresh.body.equals(a.body), 'not the old image');
  // The same bytes as the same transform of the photo it was replaced with.
  assert.ok(fresh.body.equals((await get('/storm.jpg?w=384')).body), 'the new image');
  assert.equal((await get('/storm.jpg?w=256')).h('x-cache'), 'Hit from cloudfront', 'its cache entries stay too');
});

test('delete an original, purge it: its variants are gone and answer 404', async () => {
  assert.equal((await get('/by-the-water.jpg?w=256')).res.status, 200);
  fs.rmSync(path.join(dir, 'by-the-water.jpg'));
  purge('by-the-water.jpg');
  assert.deepEqual(variants().filter((f) => f.startsWith('_sf/by-the-water.jpg/')), []);
  assert.equal((await get('/by-the-water.jpg?w=256')).res.status, 404);
  assert.equal((await get('/by-the-water.jpg')).res.status, 404);
});

test('x.jpg/ is not x.jpg: a purge reaches neither the original below it nor its variants', async () => {
  fs.mkdirSync(path.join(dir, '_sf/x.jpg/y.jpg', G), { recursive: true });
  const below = path.join(dir, '_sf/x.jpg/y.jpg', G, 'w256-h0-cover-q75.jpeg');
  fs.writeFileSync(below, 'stand-in');
  assert.equal((await get('/x.jpg?w=256')).res.status, 200);
  purge('x.jpg');
  assert.ok(fs.existsSync(below));
  assert.deepEqual(variants().filter((f) => f.startsWith('_sf/x.jpg/') && !f.startsWith('_sf/x.jpg/y.jpg/')), []);
});

test('old generations go, the current one stays; bad requests are refused', async () => {
  const old = path.join(dir, '_sf/storm.jpg/g0000000/w256-h0-cover-q75.jpeg');
  fs.mkdirSync(path.dirname(old), { recursive: true });
  fs.writeFileSync(old, 'old');
  const before = variants().filter((f) => f.includes(`/${G}/`));
  const out = purge('--all-generations-but-current');
  assert.match(out, /deleted _sf\/storm.jpg\/g0000000\/w256-h0-cover-q75.jpeg/);
  assert.ok(!fs.existsSync(old));
  assert.deepEqual(variants().filter((f) => f.includes(`/${G}/`)), before);
  assert.throws(() => purge('_sf/storm.jpg'), /not an original's key/);
  const r = await fetch(edge.base + '/_scalefront/api/purge');
  assert.equal(r.status, 405);
  // What a web page could send (no-cors: a simple content type; an Origin) is refused.
  const body = JSON.stringify({ prefix: '' });
  const page = await fetch(edge.base + '/_scalefront/api/purge', { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  assert.equal(page.status, 403);
  const foreign = await fetch(edge.base + '/_scalefront/api/purge', { method: 'POST', body, headers: { 'content-type': 'application/json', origin: 'https://evil.example' } });
  assert.equal(foreign.status, 403);
  assert.ok(variants().length > 0, 'nothing was purged');
});

test('the watcher: replacing, deleting or adding a photo needs nothing from the owner', async () => {
  const own = await serve([dir]);
  const at = async (p) => {
    const res = await fetch(own.base + p, { headers: JPEG });
    return { res, body: Buffer.from(await res.arrayBuffer()), h: (n) => res.headers.get(n) };
  };
  const until = async (what, f) => {
    const end = Date.now() + 10_000;
    for (;;) {
      if (await f()) return;
      if (Date.now() > end) throw new Error(`not within 10 s: ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  try {
    fs.copyFileSync(path.join(SAMPLE, 'cups.jpg'), path.join(dir, 'w.jpg'));
    await new Promise((r) => setTimeout(r, 1_500)); // the watcher has seen w.jpg
    const old = await at('/w.jpg?w=256');
    assert.equal(old.res.status, 200);
    fs.copyFileSync(path.join(SAMPLE, 'storm.jpg'), path.join(dir, 'w.jpg'));
    const storm = (await at('/storm.jpg?w=256')).body;
    await until('the replaced photo is served', async () => (await at('/w.jpg?w=256')).body.equals(storm));
    fs.rmSync(path.join(dir, 'w.jpg'));
    await until('the deleted photo answers 404', async () => (await at('/w.jpg?w=256')).res.status === 404);
    assert.deepEqual(variants().filter((f) => f.startsWith('_sf/w.jpg/')), []);
    // A 404 cached before the upload heals at once (S3's Object Created purges it on AWS).
    assert.equal((await at('/new.jpg?w=256')).res.status, 404);
    fs.copyFileSync(path.join(SAMPLE, 'storm.jpg'), path.join(dir, 'new.jpg'));
    await until('the uploaded photo is served', async () => (await at('/new.jpg?w=256')).res.status === 200);
    assert.match(own.output().out, /w\.jpg changed: deleted \d+ stored variant/);
  } finally {
    await own.stop();
  }
});
