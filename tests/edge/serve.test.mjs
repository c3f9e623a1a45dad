// End to end over HTTP against a real `scalefront serve` over a folder: the generated viewer
// function, the edge cache, the folder origin and the origin-side flow, as a browser sees them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { serve, fixtureFolder, imageSize, walk, BIN, SAMPLE } from './harness.mjs';
import { G } from '../keys.mjs';

let dir;
let edge;
const JPEG_ONLY = { accept: 'image/jpeg,*/*;q=0.8' };
const WEBP_OK = { accept: 'image/webp,*/*;q=0.8' };

before(async () => {
  dir = fixtureFolder('serve');
  edge = await serve([dir]);
});
after(async () => {
  if (edge) await edge.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function get(p, headers = {}, method = 'GET') {
  const res = await fetch(edge.base + p, { headers, method, redirect: 'manual' });
  const body = Buffer.from(await res.arrayBuffer());
  return { res, body, h: (n) => res.headers.get(n) };
}

/** One raw HTTP/1.1 request, for paths fetch() would normalise (`..`). */
function raw(target, host = '127.0.0.1') {
  const { hostname, port } = new URL(edge.base);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), hostname, () => s.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let data = '';
    s.setEncoding('latin1');
    s.on('data', (d) => { data += d; });
    s.on('end', () => resolve({ status: Number(data.split(' ')[1]), data }));
    s.on('error', reject);
  });
}

test('an original passes through untouched, then comes from the edge cache', async () => {
  const file = fs.readFileSync(path.join(dir, 'cups.jpg'));
  const a = await get('/cups.jpg');
  assert.equal(a.res.status, 200);
  assert.ok(a.body.equals(file), 'same bytes as the file');
  assert.equal(a.h('content-type'), 'image/jpeg');
  assert.equal(a.h('content-length'), String(file.length));
  assert.equal(a.h('x-cache'), 'Miss from cloudfront');
  assert.match(a.h('etag'), /^"[0-9a-f]+-[0-9a-f]+"$/);
  assert.match(a.h('server-timing'), /viewer;dur=[0-9.]+, edge;dur=[0-9.]+;desc="Miss from cloudfront", origin;dur=/);
  const b = await get('/cups.jpg');
  assert.equal(b.h('x-cache'), 'Hit from cloudfront');
  assert.ok(b.body.equals(file));
  assert.equal(b.h('etag'), a.h('etag'));
  // A query without a transform parameter is still the original.
  const c = await get('/cups.jpg?utm_source=x');
  assert.equal(c.res.status, 200);
  assert.ok(c.body.equals(file));
});

test('a variant is generated once, stored under the prefix, then served from the cache', async () => {
  const a = await get('/cups.jpg?w=640&f=jpeg', JPEG_ONLY);
  assert.equal(a.res.status, 200, a.body.toString());
  assert.equal(a.h('x-cache'), 'Miss from cloudfront');
  assert.equal(a.h('x-scalefront-origin'), 'generated');
  assert.equal(a.h('content-type'), 'image/jpeg');
  assert.equal(a.h('content-length'), String(a.body.length));
  assert.deepEqual(imageSize(a.body), { format: 'jpeg', width: 640, height: 400 });
  assert.equal(a.h('x-scalefront-uri'), `/_sf/cups.jpg/${G}/w640-h0-cover-q75.jpeg`);
  assert.match(a.h('server-timing'), /transform;dur=/);
  const stored = path.join(dir, `_sf/cups.jpg/${G}/w640-h0-cover-q75.jpeg`);
  assert.ok(fs.readFileSync(stored).equals(a.body), 'the variant is stored in the folder');
  const b = await get('/cups.jpg?w=640&f=jpeg', JPEG_ONLY);
  assert.equal(b.h('x-cache'), 'Hit from cloudfront');
  assert.ok(b.body.equals(a.body));
  // Another spelling of the same variant shares the key (and the cache entry).
  const c = await get('/cups.jpg?width=600&format=jpg&q=70', JPEG_ONLY);
  assert.equal(c.h('x-scalefront-uri'), `/_sf/cups.jpg/${G}/w640-h0-cover-q75.jpeg`);
  assert.equal(c.h('x-cache'), 'Hit from cloudfront');
  // The original is untouched.
  assert.ok(fs.readFileSync(path.join(dir, 'cups.jpg')).equals(fs.readFileSync(path.join(SAMPLE, 'cups.jpg'))));
});

test('f=auto follows Accept, and every response of the behaviour carries Vary: Accept', async () => {
  const webp = await get('/storm.jpg?w=384', WEBP_OK);
  assert.equal(webp.res.status, 200, webp.body.toString());
  assert.equal(webp.h('content-type'), 'image/webp');
  assert.equal(imageSize(webp.body).format, 'webp');
  assert.equal(imageSize(webp.body).width, 384);
  assert.match(webp.h('vary') || '', /accept/i);
  const jpeg = await get('/storm.jpg?w=384', JPEG_ONLY);
  assert.equal(jpeg.h('content-type'), 'image/jpeg');
  assert.match(jpeg.h('vary') || '', /accept/i);
  assert.notEqual(webp.h('x-scalefront-uri'), jpeg.h('x-scalefront-uri'));
  const avif = await get('/storm.jpg?w=384', { accept: 'image/avif,image/webp,*/*' });
  assert.equal(avif.h('content-type'), 'image/avif');
  assert.equal(imageSize(avif.body).format, 'avif');
  // As the response headers policy does on CloudFront: hits, originals, explicit f= and errors too.
  for (const p of ['/storm.jpg?w=384', '/storm.jpg', '/storm.jpg?w=384&f=jpeg', '/nope.jpg']) {
    assert.equal((await get(p, WEBP_OK)).h('vary'), 'Accept', p);
  }
});

test('HEAD first: the variant is made and stored, the bodyless answer is not cached, a GET then gets the image', async () => {
  const p = '/by-the-water.jpg?w=256&f=webp';
  const head = await get(p, {}, 'HEAD');
  assert.equal(head.res.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.h('x-scalefront-origin'), 'generated');
  assert.equal(head.h('cache-control'), 'no-store');
  assert.ok(fs.existsSync(path.join(dir, `_sf/by-the-water.jpg/${G}/w256-h0-cover-q75.webp`)), 'stored');
  const g = await get(p);
  assert.equal(g.res.status, 200);
  assert.equal(g.h('x-cache'), 'Miss from cloudfront', 'the HEAD left no entry behind');
  assert.equal(g.h('x-scalefront-origin'), null, 'read from storage, not made again');
  assert.equal(g.h('cache-control'), 'public, max-age=3600, s-maxage=31536000');
  assert.equal(imageSize(g.body).width, 256);
  assert.equal((await get(p)).h('x-cache'), 'Hit from cloudfront');
});

test('errors are cached as CloudFront caches them: a broken original is not fetched again per request', async () => {
  const first = await get('/corrupt.jpg?w=384');
  assert.equal(first.res.status, 415);
  assert.equal(first.h('x-cache'), 'Error from cloudfront');
  assert.equal(first.h('cache-control'), 'public, max-age=300');
  assert.match(first.h('server-timing'), /origin;dur=/);
  const again = await get('/corrupt.jpg?w=384');
  assert.equal(again.res.status, 415);
  assert.equal(again.h('x-cache'), 'Error from cloudfront');
  assert.doesNotMatch(again.h('server-timing'), /origin;dur=/, 'served from the edge cache');
  assert.equal(again.h('x-scalefront-origin'), null);
});

test('a missing original is 404 with a short lifetime, and heals once uploaded', async () => {
  const spec = path.join(dir, '..', `sf-spec-${process.pid}.toml`);
  fs.writeFileSync(spec, 'missing_max_age = 1\n');
  // No watcher: this is CloudFront's error caching alone (the watcher would purge the 404 at once).
  const own = await serve([dir, '--config', spec, '--no-watch']);
  try {
    const at = (p) => fetch(own.base + p).then(async (res) => ({ res, body: Buffer.from(await res.arrayBuffer()) }));
    const missing = await at('/later.jpg?w=384&f=jpeg');
    assert.equal(missing.res.status, 404);
    assert.equal(missing.res.headers.get('cache-control'), 'public, max-age=1');
    assert.equal(missing.body.toString(), '404 Not Found: missing: the original image does not exist\n');
    const original = await at('/later.jpg');
    assert.equal(original.res.status, 404);
    assert.equal(original.body.toString(), missing.body.toString(), 'the same body for an original');
    fs.copyFileSync(path.join(dir, 'storm.jpg'), path.join(dir, 'later.jpg'));
    assert.equal((await at('/later.jpg?w=384&f=jpeg')).res.status, 404, 'CloudFront keeps the 404 for its max-age');
    // The templates set 404's Error Caching Minimum TTL to 0, so the max-age holds exactly.
    await new Promise((r) => setTimeout(r, 1_200));
    const healed = await at('/later.jpg?w=384&f=jpeg');
    assert.equal(healed.res.status, 200, healed.body.toString());
    assert.equal(imageSize(healed.body).width, 384);
  } finally {
    await own.stop();
    fs.rmSync(spec, { force: true });
    fs.rmSync(path.join(dir, 'later.jpg'), { force: true });
  }
});

test('EXIF orientation is applied: the sideways-stored ladybird comes out landscape', async () => {
  const r = await get('/nature/ladybird.jpg?w=384&f=jpeg');
  assert.equal(r.res.status, 200, r.body.toString());
  assert.deepEqual(imageSize(r.body), { format: 'jpeg', width: 384, height: 240 });
});

test('ETag + If-None-Match gives 304; HEAD gives the headers and Content-Length without a body', async () => {
  const a = await get('/storm.jpg?w=256&f=jpeg');
  const etag = a.h('etag');
  assert.ok(etag);
  const b = await get('/storm.jpg?w=256&f=jpeg', { 'if-none-match': etag });
  assert.equal(b.res.status, 304);
  assert.equal(b.body.length, 0);
  assert.equal(b.h('etag'), etag);
  const c = await get('/storm.jpg?w=256&f=jpeg', { 'if-none-match': '"other"' });
  assert.equal(c.res.status, 200);
  const head = await get('/storm.jpg?w=256&f=jpeg', {}, 'HEAD');
  assert.equal(head.res.status, 200);
  assert.equal(head.h('content-length'), String(a.body.length));
  assert.equal(head.body.length, 0);
  const orig = await get('/storm.jpg', { 'if-none-match': (await get('/storm.jpg')).h('etag') });
  assert.equal(orig.res.status, 304);
});

test('range requests on originals', async () => {
  const file = fs.readFileSync(path.join(dir, 'by-the-water.jpg'));
  const r = await get('/by-the-water.jpg', { range: 'bytes=100-199' });
  assert.equal(r.res.status, 206);
  assert.equal(r.h('content-range'), `bytes 100-199/${file.length}`);
  assert.equal(r.h('content-length'), '100');
  assert.ok(r.body.equals(file.subarray(100, 200)));
  const tail = await get('/by-the-water.jpg', { range: 'bytes=-10' });
  assert.ok(tail.body.equals(file.subarray(file.length - 10)));
  const bad = await get('/by-the-water.jpg', { range: `bytes=${file.length}-` });
  assert.equal(bad.res.status, 416);
  assert.equal(bad.h('content-range'), `bytes */${file.length}`);
  assert.equal((await get('/by-the-water.jpg')).h('accept-ranges'), 'bytes');
});

test('a forged or non-canonical variant key is refused and nothing is written', async () => {
  const before = walk(dir);
  for (const p of [`/_sf/cups.jpg/${G}/w9999-h0-cover-q75.webp`, `/_sf/cups.jpg/${G}/w640-h0-cover-q74.webp`,
    `/_sf/cups.jpg/${G}/w640-h0-inside-q75.webp`, `/_sf/_sf/cups.jpg/${G}/w640-h0-cover-q75.webp/${G}/w640-h0-cover-q75.webp`,
    '/_sf/anything']) {
    const r = await get(p);
    assert.equal(r.res.status, 400, `${p}: ${r.res.status} ${r.body}`);
  }
  assert.equal((await get('/cups.jpg?w=abc')).res.status, 400);
  assert.deepEqual(walk(dir), before);
});

test('missing originals are 404, corrupt images 415, oversized ones 400, and none is stored', async () => {
  const before = walk(dir).filter((f) => !f.startsWith('_sf/'));
  assert.equal((await get('/nope.jpg')).res.status, 404);
  assert.equal((await get('/nope.jpg?w=640')).res.status, 404);
  const corrupt = await get('/corrupt.jpg?w=640');
  assert.equal(corrupt.res.status, 415, corrupt.body.toString());
  assert.match(corrupt.body.toString(), /^415 Unsupported Media Type: corrupt: /);
  const huge = await get('/huge.png?w=640');
  assert.equal(huge.res.status, 400, huge.body.toString());
  assert.match(huge.body.toString(), /^400 Bad Request: too-large: .*megapixels/);
  assert.equal((await get('/notes.txt?w=640')).res.status, 400, 'not an image');
  assert.equal((await get('/notes.txt')).res.status, 200, 'other files pass through');
  assert.ok(!walk(dir).some((f) => /corrupt|huge/.test(f) && f.startsWith('_sf/')));
  assert.deepEqual(walk(dir).filter((f) => !f.startsWith('_sf/')), before);
});

test('the hostile corpus through serve: each refused with its status, nothing written', async () => {
  const src = process.env.HOSTILE_DIR;
  if (!src) throw new Error('HOSTILE_DIR is not set: run this through tests/steps/50-edge-http.sh');
  const manifest = fs.readFileSync(path.join(src, 'manifest.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
  // All named .jpg: the core reads the format from the bytes, and .gif is not transformable.
  fs.mkdirSync(path.join(dir, 'hostile'), { recursive: true });
  for (const [name] of manifest) fs.copyFileSync(path.join(src, name), path.join(dir, 'hostile', `${name}.jpg`));
  try {
    const status = { 'too-large': 400, corrupt: 415, unsupported: 415 };
    for (const [name, kind, says] of manifest) {
      const r = await get(`/hostile/${encodeURIComponent(name)}.jpg?w=256&f=jpeg`);
      assert.equal(r.res.status, status[kind], `${name}: ${r.body}`);
      assert.ok(r.body.toString().includes(says), `${name}: ${r.body}`);
    }
    assert.ok(!walk(dir).some((f) => f.startsWith('_sf/hostile/')), 'no variant written');
  } finally {
    fs.rmSync(path.join(dir, 'hostile'), { recursive: true, force: true });
  }
});

test('DNS rebinding: a Host that is not an address, localhost or --allow-host gets 403', async () => {
  assert.equal((await raw('/cups.jpg', 'evil.example:8080')).status, 403);
  assert.match((await raw('/cups.jpg', 'evil.example')).data, /--allow-host evil.example/);
  for (const host of ['127.0.0.1', 'localhost:1234', 'photos.localhost', '[::1]:80']) {
    assert.equal((await raw('/cups.jpg', host)).status, 200, host);
  }
  const own = await serve([dir, '--allow-host', 'photos.test', '--no-watch']);
  try {
    const { hostname, port } = new URL(own.base);
    const at = (host) => new Promise((resolve) => {
      const s = net.connect(Number(port), hostname, () => s.write(`GET /cups.jpg HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
      let d = '';
      s.setEncoding('latin1');
      s.on('data', (x) => { d += x; });
      s.on('end', () => resolve(Number(d.split(' ')[1])));
    });
    assert.equal(await at('Photos.Test:80'), 200);
    assert.equal(await at('other.test'), 403);
  } finally {
    await own.stop();
  }
});

test('no path leaves the folder', async () => {
  const secret = path.join(path.dirname(dir), `sf-secret-${process.pid}.jpg`);
  fs.writeFileSync(secret, 'TOPSECRET-CONTENT');
  fs.symlinkSync(secret, path.join(dir, 'link.jpg'));
  fs.writeFileSync(path.join(dir, '.hidden.jpg'), 'HIDDEN-CONTENT');
  try {
    const name = path.basename(secret);
    for (const target of [`/../${name}`, `/%2e%2e/${name}`, `/..%2f${name}`, `/nature/..%2f..%2f${name}`,
      '/../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/link.jpg', '/.hidden.jpg', '/nature%5c..%5c..%5cetc/passwd']) {
      const r = await raw(target);
      assert.ok([400, 404].includes(r.status), `${target}: ${r.status}`);
      assert.ok(!r.data.includes('TOPSECRET') && !r.data.includes('HIDDEN-CONTENT') && !r.data.includes('root:'), target);
    }
  } finally {
    fs.rmSync(secret, { force: true });
  }
});

test('only GET and HEAD', async () => {
  for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const r = await fetch(edge.base + '/cups.jpg', { method: m, body: m === 'DELETE' ? undefined : 'x' });
    assert.equal(r.status, 405, m);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
  }
  assert.ok(fs.existsSync(path.join(dir, 'cups.jpg')));
});

test('the preview page and its API are served from the binary', async () => {
  const page = await get('/_scalefront/');
  assert.equal(page.res.status, 200);
  assert.match(page.h('content-type'), /text\/html/);
  assert.match(page.body.toString(), /Resize in your browser/);
  const site = JSON.parse((await get('/_scalefront/api/site')).body);
  assert.deepEqual(site.photos.map((p) => p.key), ['by-the-water.jpg', 'corrupt.jpg', 'cups.jpg', 'huge.png', 'nature/ladybird.jpg', 'storm.jpg']);
  assert.equal(site.prefix, '_sf');
  assert.ok(site.widths.includes(640));
  const v = JSON.parse((await get('/_scalefront/api/variant?url=' + encodeURIComponent('/cups.jpg?w=600&f=webp'))).body);
  assert.equal(v.uri, `/_sf/cups.jpg/${G}/w640-h0-cover-q75.webp`);
  assert.equal(v.variant.width, 640);
  const srcset = (await get('/_scalefront/api/srcset?key=cups.jpg')).body.toString();
  assert.match(srcset, /srcset="\/cups\.jpg\?w=16 16w, .*\/cups\.jpg\?w=3840 3840w"/);
  const stats = JSON.parse((await get('/_scalefront/api/stats')).body);
  assert.ok(stats.edge.generated >= 1);
  assert.ok(stats.cache.bytes <= stats.cache.max_bytes);
  assert.equal((await get('/')).h('location'), '/_scalefront/');
});

test('scalefront srcset prints the snippet for the spec widths', () => {
  const out = execFileSync(BIN, ['srcset', 'photos/Further café.jpg', '--sizes', '(max-width: 800px) 100vw, 800px', '--alt', 'Shore']).toString();
  assert.match(out, /^<img src="\/photos\/Further%20caf%C3%A9\.jpg\?w=1080" /);
  assert.match(out, /\/photos\/Further%20caf%C3%A9\.jpg\?w=640 640w/);
  assert.match(out, /sizes="\(max-width: 800px\) 100vw, 800px" alt="Shore"/);
  assert.throws(() => execFileSync(BIN, ['srcset', 'doc.pdf'], { stdio: 'pipe' }), /image extension/);
});

test('Ctrl-C stops the edge cleanly, and a restarted edge finds stored variants in the folder', async () => {
  const code = await edge.stop();
  assert.equal(code, 0, edge.output().err);
  assert.match(edge.output().err, /stopped/);
  edge = await serve([dir]);
  const r = await get('/cups.jpg?w=640&f=jpeg', JPEG_ONLY);
  assert.equal(r.res.status, 200);
  assert.equal(r.h('x-cache'), 'Miss from cloudfront', 'served from the folder, not generated again');
  assert.equal(r.h('x-scalefront-origin'), null);
  assert.equal(r.h('cache-control'), 'public, max-age=3600, s-maxage=31536000');
  assert.equal(r.h('vary'), 'Accept', 'a variant read back from storage still varies on Accept');
});
