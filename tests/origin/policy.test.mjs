// The Lambda@Edge package (index.mjs + wasm, as packaged) behind a bucket policy (tests/s3-policy.mjs
// in front of the real S3 server): a policy that demands an encryption header on PUT, and reads
// refused to the role. The role may list the bucket, so a 403 is a refusal: 502 role-denied with
// the cause in body and log, never "the original image does not exist".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bodyOf, capturingLogs, endpoint, get, header, imageInfo, loadHandler, originResponse, photo, put, uriOf,
} from './harness.mjs';
import { G } from '../keys.mjs';
import { KMS_KEY, encryptionHeaders, requireEncryption, s3Policy, signedHeaders } from '../s3-policy.mjs';

async function invoke(handler, uri, status = 403, opts = {}) {
  const [result, logs] = await capturingLogs(() => handler(originResponse(uri, status, opts)));
  return { result, log: logs.find((l) => l.uri === uri) };
}

const KMS = { algorithm: 'aws:kms', kmsKeyId: KMS_KEY, bucketKey: true };

test('a policy that denies PutObject without aws:kms and its key: a plain PUT is a 502, putEncryption passes it, signed', async () => {
  await put('photos/sse-kms.jpg', photo('storm-1920x1280.jpg'), 'image/jpeg');
  const key = `_sf/photos/sse-kms.jpg/${G}/w384-h0-cover-q75.webp`;
  const policy = await s3Policy(endpoint, requireEncryption({ algorithm: 'aws:kms', keyId: KMS_KEY }));
  try {
    // Without the setting (an old config.json): refused, said so, nothing stored.
    const plain = await loadHandler({ s3Endpoint: policy.endpoint });
    const refused = await invoke(plain, uriOf(key));
    assert.equal(refused.result.status, '502');
    assert.match(bodyOf(refused.result).toString(), /write-failed: could not store the variant/);
    assert.equal(refused.log.kind, 'write-failed');
    assert.match(refused.log.error, new RegExp(`^S3 PutObject ${key}: AccessDenied HTTP 403`));
    assert.equal(await get(key), null);

    // With it: the PUT carries the three headers, inside the signature, and is stored.
    const sent = policy.requests.length;
    const kms = await loadHandler({ s3Endpoint: policy.endpoint, putEncryption: KMS });
    const { result, log } = await invoke(kms, uriOf(key));
    assert.equal(result.status, '200', JSON.stringify(log));
    assert.equal(log.outcome, 'generated');
    const puts = policy.requests.slice(sent).filter((r) => r.method === 'PUT');
    assert.equal(puts.length, 1);
    assert.equal(puts[0].denied, null);
    assert.deepEqual(encryptionHeaders(puts[0]), {
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY,
      'x-amz-server-side-encryption-bucket-key-enabled': 'true',
    });
    for (const name of Object.keys(encryptionHeaders(puts[0]))) {
      assert.ok(signedHeaders(puts[0]).includes(name), `${name} is signed: ${signedHeaders(puts[0])}`);
    }
    // Reads carry none (SSE-S3 and SSE-KMS are transparent to GetObject).
    assert.ok(policy.requests.filter((r) => r.method !== 'PUT').every((r) => !Object.keys(encryptionHeaders(r)).length));
    assert.ok((await get(key)).bytes.equals(bodyOf(result)), 'stored (s3s-fs accepted the headers) = answered');
  } finally {
    await policy.close();
  }
});

test('AES256: a policy that demands SSE-S3 gets it', async () => {
  await put('photos/sse-s3.jpg', photo('storm-1920x1280.jpg'), 'image/jpeg');
  const key = `_sf/photos/sse-s3.jpg/${G}/w256-h0-cover-q75.jpeg`;
  const policy = await s3Policy(endpoint, requireEncryption({ algorithm: 'AES256' }));
  try {
    const handler = await loadHandler({ s3Endpoint: policy.endpoint, putEncryption: { algorithm: 'AES256' } });
    const { result } = await invoke(handler, uriOf(key));
    assert.equal(result.status, '200');
    const [putReq] = policy.requests.filter((r) => r.method === 'PUT');
    assert.deepEqual(encryptionHeaders(putReq), { 'x-amz-server-side-encryption': 'AES256' });
    assert.deepEqual(imageInfo((await get(key)).bytes), { format: 'jpeg', width: 256, height: 171 });
  } finally {
    await policy.close();
  }
});

test('a config whose putEncryption is wrong fails loudly on the first variant miss (500, the cause logged)', async () => {
  const bad = await loadHandler({ putEncryption: { algorithm: 'aws:kms' } });
  const uri = uriOf(`_sf/photos/sse-kms.jpg/${G}/w640-h0-cover-q75.webp`);
  const [result, logs] = await capturingLogs(() => bad(originResponse(uri, 403)));
  assert.equal(result.status, '500');
  assert.match(logs[0].error, /putEncryption.*aws\/s3/s);
});

test('a 403 to the role on any read is role-denied (502, cause in body and log), never "does not exist"', async () => {
  const source = 'photos/kms-locked.jpg';
  await put(source, photo('ladybird-2560x1600.jpg'), 'image/jpeg'); // 350 KB: a header read and a rest
  const variant = (w) => `_sf/${source}/${G}/w${w}-h0-cover-q75.webp`;
  // Each read path refused in turn, as a key policy or an explicit deny would (S3: 403 AccessDenied).
  const cases = [
    ['the stored variant', variant(640), 'GET', (r) => r.key === variant(640)],
    ['the stored variant (HEAD)', variant(384), 'HEAD', (r) => r.key === variant(384)],
    ['the original\'s header', variant(256), 'GET', (r) => r.key === source && r.headers.range?.startsWith('bytes=0-')],
    ['the rest of the original', variant(128), 'GET', (r) => r.key === source && /^bytes=[1-9]/.test(r.headers.range ?? '')],
  ];
  for (const [what, key, method, refuse] of cases) {
    const policy = await s3Policy(endpoint, (r) => (refuse(r) ? 'explicit deny' : null));
    try {
      const handler = await loadHandler({ s3Endpoint: policy.endpoint });
      const { result, log } = await invoke(handler, uriOf(key), 403, { method });
      assert.ok(policy.requests.some((r) => r.denied), `${what}: the refused read happened`);
      assert.equal(result.status, '502', `${what}: ${JSON.stringify(log)}`);
      assert.equal(header(result, 'cache-control'), 'no-store', what);
      assert.equal(log.kind, 'role-denied', what);
      // A HEAD's 403 has no body, so no error code (the SDK says Unknown or Forbidden).
      assert.match(log.error, method === 'GET' ? /: 403 AccessDenied: the role was refused/ : /: 403 \w+: the role was refused/, what);
      if (method === 'GET') {
        assert.match(bodyOf(result).toString(), /^502 Bad Gateway: role-denied: the image function may not read from the bucket/, what);
      }
      assert.ok(!policy.requests.some((r) => r.method === 'PUT'), `${what}: nothing written`);
    } finally {
      await policy.close();
    }
  }
  // The original itself (no transform), refused to CloudFront and to the role: S3's own 403
  // stands (a deny may be meant, e.g. on a private prefix) and the log says why; never the 404.
  const policy = await s3Policy(endpoint, (r) => (r.key === source ? 'explicit deny' : null));
  try {
    const handler = await loadHandler({ s3Endpoint: policy.endpoint }, { removeWasm: true });
    const event = originResponse(uriOf(source), 403);
    const [result, logs] = await capturingLogs(() => handler(event));
    assert.deepEqual(result, event.Records[0].cf.response, 'S3\'s answer, as CloudFront got it');
    assert.equal(logs[0].outcome, 'pass');
    assert.equal(logs[0].kind, undefined);
    assert.match(logs[0].error, /S3 HeadObject photos\/kms-locked.jpg: .*HTTP 403/);
  } finally {
    await policy.close();
  }
});
