// The Lambda@Edge handler's S3 reads (`readCapped` in resize-lambda/node/index.mjs) hold the byte
// cap when a body comes without Content-Length: the packaged handler, its S3 endpoint a small
// local server that answers GetObject in chunked encoding (as a proxy or an S3-compatible store
// may), on real origin-response events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { bodyOf, capturingLogs, imageInfo, loadHandler, originResponse, photo, uriOf } from './harness.mjs';
import { G } from '../keys.mjs';

/**
 * A stand-in for S3: variant keys are missing (404 NoSuchKey), a PUT is taken, and a GET of
 * anything else streams `body()` in chunks with no Content-Length, minding backpressure, so
 * `sent` counts what the client actually took before it stopped reading.
 */
async function chunkedS3(body) {
  const state = { sent: 0, puts: [] };
  const server = createServer(async (req, res) => {
    const key = decodeURIComponent(new URL(req.url, 'http://x').pathname.split('/').slice(2).join('/'));
    if (req.method === 'PUT') {
      const parts = [];
      for await (const c of req) parts.push(c);
      state.puts.push({ key, bytes: Buffer.concat(parts).length });
      res.writeHead(200, { etag: '"put"' }).end();
      return;
    }
    if (key.startsWith('_sf/')) {
      res.writeHead(404, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>');
      return;
    }
    res.writeHead(200, { 'content-type': 'image/jpeg', etag: '"chunked"' });
    let closed = false;
    res.on('close', () => { closed = true; });
    for (const chunk of body()) {
      if (closed) break;
      state.sent += chunk.length;
      if (!res.write(chunk)) {
        await new Promise((r) => {
          const on = () => { res.off('drain', on); res.off('close', on); r(); };
          res.on('drain', on).on('close', on);
        });
      }
    }
    if (!closed) res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  state.endpoint = `http://127.0.0.1:${server.address().port}`;
  state.close = () => { server.closeAllConnections(); server.close(); };
  return state;
}

test('a body without Content-Length over maxInputBytes is refused as it streams: 400, the rest never read', async () => {
  const total = 256 << 20;
  const cap = 1_000_000;
  const s3 = await chunkedS3(function* () {
    // A JPEG's first bytes, then filler: only the cap can stop it.
    yield Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
    const filler = Buffer.alloc(64 << 10, 0x5a);
    for (let n = 4; n < total; n += filler.length) yield filler;
  });
  try {
    const handler = await loadHandler({ s3Endpoint: s3.endpoint, limits: { maxInputBytes: cap } });
    const key = `_sf/photos/endless.jpg/${G}/w640-h0-cover-q75.webp`;
    const [result, logs] = await capturingLogs(() => handler(originResponse(uriOf(key), 403)));
    assert.equal(result.status, '400', bodyOf(result).toString());
    assert.match(bodyOf(result).toString(), new RegExp(`the limit is ${cap} bytes`));
    assert.equal(logs[0].kind, 'too-large');
    assert.deepEqual(s3.puts, [], 'nothing written');
    assert.ok(s3.sent < total / 4, `the server sent ${s3.sent} of ${total} bytes`);
    console.log(`# refused after the server sent ${s3.sent} of ${total} bytes (cap ${cap})`);
  } finally {
    s3.close();
  }
});

test('a body without Content-Length under the cap is read whole and resized', async () => {
  const jpeg = photo('ladybird-2560x1600.jpg');
  const s3 = await chunkedS3(function* () {
    for (let i = 0; i < jpeg.length; i += 50_000) yield jpeg.subarray(i, i + 50_000);
  });
  try {
    const handler = await loadHandler({ s3Endpoint: s3.endpoint });
    const key = `_sf/photos/chunked.jpg/${G}/w640-h0-cover-q75.webp`;
    const [result, logs] = await capturingLogs(() => handler(originResponse(uriOf(key), 403)));
    assert.equal(result.status, '200', bodyOf(result).toString());
    assert.deepEqual(imageInfo(bodyOf(result)), { format: 'webp', width: 640, height: 400 });
    assert.equal(logs[0].bytes_in, jpeg.length, 'the whole body was read');
    assert.deepEqual(s3.puts, [{ key, bytes: bodyOf(result).length }]);
  } finally {
    s3.close();
  }
});
