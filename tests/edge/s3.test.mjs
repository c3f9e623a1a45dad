// `scalefront serve --s3` against a real S3 protocol server (s3s-fs, SigV4 checked): originals
// read from the bucket, variants generated and PUT back under the prefix, then cached.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { S3Client, PutObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { serve, tmpdir, imageSize, corruptJpeg, SAMPLE, BIN } from './harness.mjs';
import { G } from '../keys.mjs';
import { KMS_KEY, encryptionHeaders, requireEncryption, s3Policy, signedHeaders } from '../s3-policy.mjs';

const KEY = 'sf-test-key';
const SECRET = 'sf-test-secret';
const BUCKET = 'photos';
let s3fs;
let root;
let edge;
let s3;
let endpoint;
const ENV = { AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };

async function freePort() {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitForPort(port, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`s3s-fs did not listen on ${port}`);
}

before(async () => {
  root = tmpdir('s3');
  fs.mkdirSync(path.join(root, BUCKET));
  const port = await freePort();
  s3fs = spawn('s3s-fs', ['--host', '127.0.0.1', '--port', String(port), '--access-key', KEY, '--secret-key', SECRET, root], { stdio: 'inherit' });
  await waitForPort(port);
  endpoint = `http://127.0.0.1:${port}`;
  s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  for (const key of ['cups.jpg', 'nature/ladybird.jpg']) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `photos/${key}`, Body: fs.readFileSync(path.join(SAMPLE, key)), ContentType: 'image/jpeg' }));
  }
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'photos/corrupt.jpg', Body: corruptJpeg(), ContentType: 'image/jpeg' }));
  edge = await serve(['--s3', `s3://${BUCKET}`, '--s3-endpoint', endpoint], { env: ENV });
});

after(async () => {
  if (edge) await edge.stop();
  if (s3fs) s3fs.kill();
  fs.rmSync(root, { recursive: true, force: true });
});

async function get(p, headers = {}) {
  const res = await fetch(edge.base + p, { headers });
  return { res, body: Buffer.from(await res.arrayBuffer()), h: (n) => res.headers.get(n) };
}

test('originals come from the bucket with their S3 ETag', async () => {
  const r = await get('/photos/cups.jpg');
  assert.equal(r.res.status, 200, r.body.toString());
  assert.ok(r.body.equals(fs.readFileSync(path.join(SAMPLE, 'cups.jpg'))));
  assert.equal(r.h('content-type'), 'image/jpeg');
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'photos/cups.jpg' }));
  assert.equal(r.h('etag'), head.ETag);
  assert.equal((await get('/photos/cups.jpg')).h('x-cache'), 'Hit from cloudfront');
});

test('a variant is generated, PUT to the bucket under the prefix with its headers, then cached', async () => {
  const a = await get('/photos/cups.jpg?w=384&f=webp');
  assert.equal(a.res.status, 200, a.body.toString());
  assert.equal(a.h('x-scalefront-origin'), 'generated');
  assert.deepEqual(imageSize(a.body), { format: 'webp', width: 384, height: 240 });
  const key = `_sf/photos/cups.jpg/${G}/w384-h0-cover-q75.webp`;
  const stored = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  assert.equal(stored.ContentType, 'image/webp');
  assert.equal(stored.CacheControl, 'public, max-age=3600, s-maxage=31536000');
  assert.ok(Buffer.from(await stored.Body.transformToByteArray()).equals(a.body));
  const b = await get('/photos/cups.jpg?w=384&f=webp');
  assert.equal(b.h('x-cache'), 'Hit from cloudfront');
  const rotated = await get('/photos/nature/ladybird.jpg?w=256&f=jpeg');
  assert.deepEqual(imageSize(rotated.body), { format: 'jpeg', width: 256, height: 160 });
});

test('missing, corrupt and forged keys fail with their status and write nothing', async () => {
  assert.equal((await get('/photos/nope.jpg')).res.status, 404);
  assert.equal((await get('/photos/nope.jpg?w=640')).res.status, 404);
  assert.equal((await get('/photos/corrupt.jpg?w=640')).res.status, 415);
  assert.equal((await get(`/_sf/photos/cups.jpg/${G}/w9999-h0-cover-q75.webp`)).res.status, 400);
  const list = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  const keys = list.Contents.map((o) => o.Key).sort();
  assert.deepEqual(keys.filter((k) => !k.startsWith('_sf/')), ['photos/corrupt.jpg', 'photos/cups.jpg', 'photos/nature/ladybird.jpg']);
  assert.ok(keys.filter((k) => k.startsWith('_sf/')).every((k) => !k.includes('corrupt') && !k.includes('nope')));
});

test('the preview page lists the bucket', async () => {
  const site = JSON.parse((await get('/_scalefront/api/site')).body);
  assert.match(site.origin, /s3:\/\/photos/);
  assert.deepEqual(site.photos.map((p) => p.key), ['photos/corrupt.jpg', 'photos/cups.jpg', 'photos/nature/ladybird.jpg']);
});

test('purge over the bucket: replace and delete originals; their variants follow, the others stay', async () => {
  const keys = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: '_sf/' }))).Contents || []).map((o) => o.Key).sort();
  const purge = (...args) => execFileSync(BIN, ['purge', ...args, '--serve', edge.base], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const before = await get('/photos/cups.jpg?w=256&f=jpeg');
  assert.equal(before.res.status, 200);
  assert.equal((await get('/photos/nature/ladybird.jpg?w=128&f=jpeg')).res.status, 200);
  // The stored variant carries the tag CloudFront invalidates by (x-amz-meta-cache-tag).
  const stored = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `_sf/photos/cups.jpg/${G}/w256-h0-cover-q75.jpeg` }));
  assert.match(stored.Metadata['cache-tag'], /^sf-[0-9a-f]{16}$/);
  assert.ok(stored.Metadata['source-etag']);

  // Replace: the next request after the purge is the new photo.
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'photos/cups.jpg', Body: fs.readFileSync(path.join(SAMPLE, 'storm.jpg')), ContentType: 'image/jpeg' }));
  assert.equal((await get('/photos/cups.jpg?w=256&f=jpeg')).h('x-cache'), 'Hit from cloudfront');
  const out = purge('photos/cups.jpg');
  assert.match(out, new RegExp(`deleted _sf/photos/cups.jpg/${G}/w256-h0-cover-q75.jpeg`));
  assert.match(out, /invalidated #sf-[0-9a-f]{16}\ninvalidated \/photos\/cups.jpg\n/);
  assert.ok(!(await keys()).some((k) => k.startsWith('_sf/photos/cups.jpg/')));
  assert.ok((await keys()).some((k) => k.startsWith('_sf/photos/nature/ladybird.jpg/')), 'another original keeps its variants');
  const after = await get('/photos/cups.jpg?w=256&f=jpeg');
  assert.equal(after.h('x-scalefront-origin'), 'generated');
  assert.ok(!after.body.equals(before.body), 'the new photo');

  // Delete: gone from the bucket, and 404.
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'photos/nature/ladybird.jpg' }));
  purge('photos/nature/ladybird.jpg');
  assert.ok(!(await keys()).some((k) => k.startsWith('_sf/photos/nature/ladybird.jpg/')));
  assert.equal((await get('/photos/nature/ladybird.jpg?w=128&f=jpeg')).res.status, 404);
});

test('behind a bucket policy: --sse puts signed encryption headers on each PUT; a read refused is role-denied, never "no object"', async () => {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'photos/locked.jpg', Body: fs.readFileSync(path.join(SAMPLE, 'cups.jpg')), ContentType: 'image/jpeg' }));
  const encryption = requireEncryption({ algorithm: 'aws:kms', keyId: KMS_KEY });
  const policy = await s3Policy(endpoint, (r) => (r.key === 'photos/locked.jpg' ? 'explicit deny' : encryption(r)));
  // --sse is checked as a package's putEncryption is.
  await assert.rejects(serve(['--s3', `s3://${BUCKET}`, '--s3-endpoint', policy.endpoint, '--sse', 'aws:kms'], { env: ENV }), /aws\/s3/);
  const kms = await serve(['--s3', `s3://${BUCKET}`, '--s3-endpoint', policy.endpoint, '--sse', 'aws:kms', '--sse-kms-key-id', KMS_KEY, '--sse-bucket-key', 'false'], { env: ENV });
  try {
    const at = async (p) => {
      const res = await fetch(kms.base + p);
      return { status: res.status, body: await res.text(), h: (n) => res.headers.get(n) };
    };
    const made = await at('/photos/cups.jpg?w=128&f=webp');
    assert.equal(made.status, 200, made.body);
    const [putReq] = policy.requests.filter((r) => r.method === 'PUT');
    assert.equal(putReq.denied, null);
    assert.deepEqual(encryptionHeaders(putReq), {
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY,
      'x-amz-server-side-encryption-bucket-key-enabled': 'false',
    });
    for (const name of Object.keys(encryptionHeaders(putReq))) assert.ok(signedHeaders(putReq).includes(name), name);
    const stored = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `_sf/photos/cups.jpg/${G}/w128-h0-cover-q75.webp` }));
    assert.equal(stored.ContentType, 'image/webp');

    // Refused reads (S3 403 to credentials that may list the bucket): a variant is role-denied.
    const variant = await at('/photos/locked.jpg?w=640&f=webp');
    assert.equal(variant.status, 502, variant.body);
    assert.match(variant.body, /^502 Bad Gateway: role-denied: /);
    // The original itself: S3's 403 stands, saying refused, and the cause reaches the log.
    const original = await at('/photos/locked.jpg');
    assert.equal(original.status, 403);
    assert.equal(original.body, '403 Forbidden: the origin refused /photos/locked.jpg\n');
    const { out } = kms.output();
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.kind === 'role-denied' && /403/.test(l.error)), out);
    assert.ok(lines.some((l) => l.outcome === 'pass' && l.uri === '/photos/locked.jpg' && /HeadObject .*403/.test(l.error)), out);
    assert.ok(!/does not exist|no object/.test(variant.body + original.body));
  } finally {
    await kms.stop();
    await policy.close();
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'photos/locked.jpg' }));
  }
});
