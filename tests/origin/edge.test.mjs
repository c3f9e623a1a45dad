// The Lambda@Edge origin-response handler (index.mjs + wasm, exactly as packaged) in real Node,
// on real origin-response events, against a real S3 server. Assertions are on the bucket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import {
  bodyOf, capturingLogs, get, head, header, imageInfo, list, loadHandler, noise, originResponse, photo,
  png, put, uriOf,
} from './harness.mjs';
import { G } from '../keys.mjs';

const handler = await loadHandler();
const VARIANT_CACHE_CONTROL = 'public, max-age=3600, s-maxage=31536000';
// The error table's answer for a missing original, in every mode (resize-lambda's Failure).
const MISSING_BODY = '404 Not Found: missing: the original image does not exist\n';

async function invoke(uri, status, opts) {
  const [result, logs] = await capturingLogs(() => handler(originResponse(uri, status, opts)));
  return { result, log: logs.find((l) => l.uri === uri) };
}

test('S3 200 and 304 pass through untouched, as does any non-miss status', async () => {
  const uri = uriOf(`_sf/photos/pass.jpg/${G}/w640-h0-cover-q75.webp`);
  for (const [u, status] of [[uri, 200], [uri, 304], [uri, 500], [uriOf('photos/pass.jpg'), 200]]) {
    const event = originResponse(u, status);
    const [result] = await capturingLogs(() => handler(event));
    assert.deepEqual(result, event.Records[0].cf.response, `${status} ${u}`);
  }
  assert.deepEqual(await list('_sf/'), [], 'nothing was written');
});

test('S3 403 on a variant: generate, store, answer 200; then S3 200 passes through', async () => {
  const etag = await put('photos/ladybird.jpg', photo('ladybird-2560x1600.jpg'), 'image/jpeg');
  const key = `_sf/photos/ladybird.jpg/${G}/w640-h0-cover-q75.webp`;
  const { result, log } = await invoke(uriOf(key), 403);

  assert.equal(result.status, '200');
  assert.equal(header(result, 'content-type'), 'image/webp');
  assert.equal(header(result, 'cache-control'), VARIANT_CACHE_CONTROL);
  assert.equal(header(result, 'vary'), 'Accept', 'the default spec negotiates formats');
  assert.equal(header(result, 'transfer-encoding'), 'chunked', 'read-only header kept');
  assert.equal(result.bodyEncoding, 'base64');
  const body = bodyOf(result);
  assert.deepEqual(imageInfo(body), { format: 'webp', width: 640, height: 400 });

  const stored = await get(key);
  assert.ok(stored, 'the variant is in the bucket');
  assert.ok(stored.bytes.equals(body), 'stored bytes = answered bytes');
  assert.equal(stored.ContentType, 'image/webp');
  assert.equal(stored.CacheControl, VARIANT_CACHE_CONTROL);
  assert.equal(stored.Metadata['source-etag'], etag);
  assert.ok(stored.bytes.length < photo('ladybird-2560x1600.jpg').length);
  assert.deepEqual(await list('_sf/'), [key], 'exactly the variant was written, under the prefix');

  assert.equal(log.outcome, 'generated');
  assert.equal(log.status, 200);
  assert.equal(log.variant, key);
  assert.equal(log.source, 'photos/ladybird.jpg');
  assert.equal(log.bytes_out, body.length);
  for (const step of ['decide', 'stored', 'header', 'read', 'transform', 'write', 'total']) {
    assert.equal(typeof log.ms[step], 'number', `ms.${step}`);
  }
  console.log(`# generated ${key}: ${log.bytes_in} → ${log.bytes_out} bytes, ms ${JSON.stringify(log.ms)}`);

  const before = (await head(key)).LastModified;
  const again = await invoke(uriOf(key), 200);
  assert.deepEqual(again.result, originResponse(uriOf(key), 200).Records[0].cf.response);
  assert.equal(again.log, undefined, 'a pass-through costs no log line (and no wasm)');
  assert.deepEqual((await head(key)).LastModified, before, 'not written again');
});

test('S3 404 on a variant is generated too (a role with s3:ListBucket)', async () => {
  await put('photos/storm 404.jpg', photo('storm-1920x1280.jpg'), 'image/jpeg');
  const key = `_sf/photos/storm 404.jpg/${G}/w384-h256-cover-q75.jpeg`;
  const { result } = await invoke(uriOf(key), 404);
  assert.equal(result.status, '200');
  assert.deepEqual(imageInfo(bodyOf(result)), { format: 'jpeg', width: 384, height: 256 });
  assert.ok((await get(key)).bytes.equals(bodyOf(result)));
});

test('original missing: 404 with a short body and a short cache lifetime, nothing written', async () => {
  const key = `_sf/photos/never-uploaded.jpg/${G}/w640-h0-cover-q75.webp`;
  const { result, log } = await invoke(uriOf(key), 403);
  assert.equal(result.status, '404');
  assert.equal(header(result, 'cache-control'), 'public, max-age=30');
  assert.equal(bodyOf(result).toString(), MISSING_BODY);
  assert.equal(await get(key), null);
  assert.match(log.error, /S3 404/);
  assert.equal(log.kind, 'missing');
});

test('a refused original (not a variant): 404 with the same body when missing, 502 when only CloudFront is refused, never the wasm', async () => {
  // A package without its wasm module: these answers must not need it.
  const noWasm = await loadHandler({}, { removeWasm: true });
  for (const status of [403, 404]) {
    const [result, logs] = await capturingLogs(() => noWasm(originResponse(uriOf('photos/not-there yet.jpg'), status)));
    assert.equal(result.status, '404');
    assert.equal(bodyOf(result).toString(), MISSING_BODY, 'the same body as regional mode and as a variant of it');
    assert.equal(header(result, 'cache-control'), 'public, max-age=30');
    assert.equal(header(result, 'transfer-encoding'), 'chunked', 'read-only header kept');
    assert.equal(logs[0].status, 404);
  }
  const [headResult] = await capturingLogs(() => noWasm(originResponse(uriOf('photos/not-there yet.jpg'), 403, { method: 'HEAD' })));
  assert.equal(headResult.status, '404');
  assert.equal(header(headResult, 'cache-control'), 'no-store');
  // The role reads it, CloudFront was refused: its origin access is broken.
  await put('photos/exists.jpg', photo('storm-1920x1280.jpg'), 'image/jpeg');
  const [unreadable] = await capturingLogs(() => noWasm(originResponse(uriOf('photos/exists.jpg'), 403)));
  assert.equal(unreadable.status, '502');
  assert.match(bodyOf(unreadable).toString(), /origin-access: .*bucket policy/);
  // And a 200 passes through untouched, also without the wasm.
  const ok = originResponse(uriOf(`_sf/photos/x.jpg/${G}/w640-h0-cover-q75.webp`), 200);
  assert.deepEqual(await noWasm(ok), ok.Records[0].cf.response);
});

test('a variant already stored is answered from storage: no resize, no write, no loop', async () => {
  await put('photos/twice.jpg', photo('storm-1920x1280.jpg'), 'image/jpeg');
  const key = `_sf/photos/twice.jpg/${G}/w384-h0-cover-q75.webp`;
  const first = await invoke(uriOf(key), 403);
  assert.equal(first.log.outcome, 'generated');
  const before = (await head(key)).LastModified;
  // Another regional edge cache was told 403 before the PUT landed.
  const again = await invoke(uriOf(key), 403);
  assert.equal(again.result.status, '200');
  assert.equal(again.log.outcome, 'stored');
  assert.ok(bodyOf(again.result).equals(bodyOf(first.result)), 'the stored bytes');
  assert.equal(header(again.result, 'content-type'), 'image/webp');
  assert.equal(header(again.result, 'cache-control'), VARIANT_CACHE_CONTROL);
  assert.equal(header(again.result, 'vary'), 'Accept');
  assert.equal(again.log.ms.transform, undefined, 'no resize');
  assert.deepEqual((await head(key)).LastModified, before, 'not written again');
});

test('HEAD on a missing variant: made and stored, answered 200 without a body and never cached', async () => {
  await put('photos/head.jpg', photo('storm-1920x1280.jpg'), 'image/jpeg');
  const key = `_sf/photos/head.jpg/${G}/w256-h0-cover-q75.webp`;
  const { result, log } = await invoke(uriOf(key), 403, { method: 'HEAD' });
  assert.equal(result.status, '200');
  assert.equal(result.body, undefined);
  assert.equal(header(result, 'content-type'), 'image/webp');
  // GET shares HEAD's cache entry on CloudFront; the cache policy's MinTTL 0 honours no-store.
  assert.equal(header(result, 'cache-control'), 'no-store');
  assert.equal(log.outcome, 'generated');
  assert.deepEqual(imageInfo((await get(key)).bytes), { format: 'webp', width: 256, height: 171 });
});

test('a large original: a pixel bomb or a non-image costs one small ranged read', async () => {
  // Count the bytes S3 sends, through a TCP relay in front of the S3 server.
  let fromS3 = 0;
  const target = new URL(process.env.S3_ENDPOINT);
  const sockets = new Set();
  const relay = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    upstream.on('data', (d) => { fromS3 += d.length; });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise((r) => relay.listen(0, '127.0.0.1', r));
  try {
    const counted = await loadHandler({ s3Endpoint: `http://127.0.0.1:${relay.address().port}` });
    // 8000 × 8000 PNG padded to 20 MB, and 20 MB of HTML named .jpg.
    const bomb = Buffer.concat([png(8000, 8000, () => [1, 2, 3]), Buffer.alloc(20_000_000)]);
    await put('photos/bomb-20mb.png', bomb, 'image/png');
    await put('photos/html-20mb.jpg', Buffer.concat([Buffer.from('<html>'), Buffer.alloc(20_000_000, 0x20)]), 'image/jpeg');
    for (const [name, status, kind] of [['bomb-20mb.png', '400', 'too-large'], ['html-20mb.jpg', '415', 'unsupported']]) {
      fromS3 = 0;
      const key = `_sf/photos/${name}/${G}/w640-h0-cover-q75.webp`;
      const [result, logs] = await capturingLogs(() => counted(originResponse(uriOf(key), 403)));
      assert.equal(result.status, status, bodyOf(result).toString());
      assert.equal(logs[0].kind, kind);
      assert.ok(fromS3 < 200_000, `${name}: ${fromS3} bytes came from S3`);
      console.log(`# ${name} (20 MB): refused after ${fromS3} bytes from S3`);
      assert.equal(header(result, 'cache-control'), 'public, max-age=300', 'CloudFront keeps it: no refetch per request');
    }
  } finally {
    // The handler's S3 client keeps connections alive: end them, or the process never exits.
    for (const s of sockets) s.destroy();
    relay.close();
  }
});

test('corrupt or non-image original: 415 (cached), the kind in the body, nothing written, original untouched', async () => {
  const good = photo('ladybird-2560x1600.jpg');
  const corrupt = Buffer.concat([good.subarray(0, 2000), Buffer.alloc(3000, 0x5a)]);
  await put('photos/corrupt.jpg', corrupt, 'image/jpeg');
  await put('photos/not-an-image.jpg', Buffer.from('<html>hello</html>'), 'image/jpeg');
  for (const [name, kind] of [['corrupt.jpg', 'corrupt'], ['not-an-image.jpg', 'unsupported']]) {
    const key = `_sf/photos/${name}/${G}/w640-h0-cover-q75.webp`;
    const { result, log } = await invoke(uriOf(key), 403);
    assert.equal(result.status, '415', name);
    assert.equal(header(result, 'content-type'), 'text/plain; charset=utf-8');
    assert.equal(header(result, 'cache-control'), 'public, max-age=300');
    assert.ok(bodyOf(result).toString().startsWith(`415 Unsupported Media Type: ${kind}: `), bodyOf(result).toString());
    assert.equal(log.kind, kind);
    assert.equal(log.outcome, 'client-error');
    assert.equal(await get(key), null, `${name}: nothing written`);
  }
  assert.ok((await get('photos/corrupt.jpg')).bytes.equals(corrupt));
});

test('over a limit: 400 (cached), nothing written (pixel bomb; and a file over maxInputBytes is never read)', async () => {
  // 8000 × 8000 = 64 MP > the 50 MP default, in a few hundred KB of PNG.
  const bomb = png(8000, 8000, () => [200, 200, 200]);
  assert.ok(bomb.length < 1_000_000);
  await put('photos/bomb.png', bomb, 'image/png');
  const key = `_sf/photos/bomb.png/${G}/w640-h0-cover-q75.webp`;
  const { result, log } = await invoke(uriOf(key), 403);
  assert.equal(result.status, '400');
  assert.match(bodyOf(result).toString(), /^400 Bad Request: too-large: .*megapixels/);
  assert.equal(log.bytes_in, bomb.length);
  assert.equal(await get(key), null);

  const small = await loadHandler({ limits: { maxInputBytes: 100_000 } });
  const key2 = `_sf/photos/ladybird.jpg/${G}/w640-h0-cover-q75.webp`.replace('w640', 'w384');
  const [result2, logs] = await capturingLogs(() => small(originResponse(uriOf(key2), 403)));
  assert.equal(result2.status, '400');
  assert.match(bodyOf(result2).toString(), /the limit is 100000 bytes/);
  assert.equal(logs[0].bytes_in, photo('ladybird-2560x1600.jpg').length);
  assert.equal(await get(key2), null);
});

test('forged variant key: 400, and no S3 traffic at all', async () => {
  // A package whose S3 endpoint is a socket that counts connections.
  let connections = 0;
  const server = createServer((s) => { connections++; s.destroy(); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const counted = await loadHandler({ s3Endpoint: `http://127.0.0.1:${server.address().port}` });
    const forged = [
      `_sf/photos/ladybird.jpg/${G}/w9999-h0-cover-q75.webp`, // width not in the spec
      `_sf/photos/ladybird.jpg/${G}/w640-h0-cover-q76.webp`, // quality not in the spec
      `_sf/photos/ladybird.jpg/${G}/w640-h0-inside-q75.webp`, // non-canonical fit for a free side
      `_sf/photos/ladybird.jpg/${G}/w0640-h0-cover-q75.webp`, // leading zero
      `_sf/_sf/photos/ladybird.jpg/${G}/w640-h0-cover-q75.webp/${G}/w640-h0-cover-q75.webp`, // variant of a variant
      `_sf/photos/ladybird.jpg/${G}/w640-h0-cover-q75.gif`, // format not enabled
      `_sf/photos/../secret.jpg/${G}/w640-h0-cover-q75.webp`, // dot segment
    ];
    for (const key of forged) {
      const [result, logs] = await capturingLogs(() => counted(originResponse(uriOf(key), 403)));
      assert.equal(result.status, '400', key);
      assert.equal(logs[0].outcome, 'rejected', key);
    }
    assert.equal(connections, 0, 'the flow never contacted S3');
  } finally {
    server.close();
  }
  assert.deepEqual((await list('_sf/')).filter((k) => k.includes('secret') || k.includes('w9999')), []);
});

test('large output: stored, then a redirect to the variant with no-store', async () => {
  const source = png(1200, 800, noise(7));
  await put('photos/noise.png', source, 'image/png');
  const key = `_sf/photos/noise.png/${G}/w1200-h0-cover-q75.png`;
  const { result, log } = await invoke(uriOf(key), 403);
  assert.equal(result.status, '302');
  assert.equal(header(result, 'location'), uriOf(key));
  assert.equal(header(result, 'cache-control'), 'no-store');
  assert.equal(result.body, undefined);
  const stored = await get(key);
  assert.ok(stored.bytes.length * 4 / 3 > 1_000_000, `variant is ${stored.bytes.length} bytes`);
  assert.deepEqual(imageInfo(stored.bytes), { format: 'png', width: 1200, height: 800 });
  assert.equal(stored.ContentType, 'image/png');
  assert.equal(log.outcome, 'redirect');
});

test('S3 down: 502 with the cause in the log, never the original 4xx', async () => {
  const probe = createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r)); // nothing listens there now
  const down = await loadHandler({ s3Endpoint: `http://127.0.0.1:${port}` });
  const uri = uriOf(`_sf/photos/ladybird.jpg/${G}/w640-h0-cover-q75.webp`);
  const [result, logs] = await capturingLogs(() => down(originResponse(uri, 403)));
  assert.equal(result.status, '502');
  assert.equal(header(result, 'cache-control'), 'no-store');
  assert.equal(logs.length, 1);
  assert.equal(logs[0].outcome, 'failed');
  assert.equal(logs[0].kind, 'read-failed');
  assert.ok(logs[0].error.startsWith(`S3 GetObject _sf/photos/ladybird.jpg/${G}/w640-h0-cover-q75.webp: `), logs[0].error);
  assert.match(logs[0].error, /ECONNREFUSED/);
});

test('a key with spaces and unicode', async () => {
  const source = 'photos/Café del Mar 2026 – ü.jpg';
  await put(source, photo('storm-1920x1280.jpg'), 'image/jpeg');
  const key = `_sf/${source}/${G}/w640-h0-cover-q75.avif`;
  const { result, log } = await invoke(uriOf(key), 403);
  assert.equal(result.status, '200', JSON.stringify(log));
  assert.deepEqual(imageInfo(bodyOf(result)), { format: 'avif', width: 640, height: 427 });
  const stored = await get(key);
  assert.ok(stored.bytes.equals(bodyOf(result)));
  assert.equal(stored.ContentType, 'image/avif');
  assert.ok((await list('_sf/')).includes(key));
  assert.equal(log.source, source);
});

test('50 concurrent invocations for one missing variant: all 200, identical bytes, one correct object', async () => {
  await put('photos/concurrent.jpg', photo('raindrops-1920x1200.jpg'), 'image/jpeg');
  const key = `_sf/photos/concurrent.jpg/${G}/w384-h0-cover-q75.jpeg`;
  const [results] = await capturingLogs(() =>
    Promise.all(Array.from({ length: 50 }, () => handler(originResponse(uriOf(key), 403)))));
  const bodies = results.map((r) => {
    assert.equal(r.status, '200');
    return bodyOf(r);
  });
  for (const b of bodies) assert.ok(b.equals(bodies[0]), 'identical bytes');
  assert.deepEqual(await list('_sf/photos/concurrent'), [key], 'exactly one object');
  const stored = await get(key);
  assert.ok(stored.bytes.equals(bodies[0]), 'the stored object is whole and correct');
  assert.deepEqual(imageInfo(stored.bytes), { format: 'jpeg', width: 384, height: 240 });
  assert.equal(stored.ContentType, 'image/jpeg');
});

test('not an origin-response event: 500 with the cause logged, and the next request still works', async () => {
  const viewerEvent = originResponse('/photos/a.jpg', 200);
  viewerEvent.Records[0].cf.config.eventType = 'viewer-request';
  for (const event of [{}, viewerEvent]) {
    const [result, logs] = await capturingLogs(() => handler(event));
    assert.equal(result.status, '500');
    assert.equal(header(result, 'cache-control'), 'no-store');
    assert.equal(logs[0].outcome, 'failed');
    assert.ok(logs[0].error.length > 0);
  }
  const ok = originResponse(uriOf('photos/x.jpg'), 200);
  assert.deepEqual(await handler(ok), ok.Records[0].cf.response);
});
