// The packaged regional `bootstrap` (regional.zip, as Lambda's provided.al2023 runs it) against a
// stand-in for the Lambda Runtime API on loopback and the real S3 server: the binary starts,
// takes function URL events, and writes variants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { endpoint, get, imageInfo, photo, put, uriOf } from './harness.mjs';
import { KMS_KEY, encryptionHeaders, requireEncryption, s3Policy, signedHeaders } from '../s3-policy.mjs';
import { G } from '../keys.mjs';

const dir = process.env.REGIONAL_PACKAGE_DIR;
if (!dir) throw new Error('REGIONAL_PACKAGE_DIR is not set: run this through tests/steps/30-origin.sh');
const fixture = JSON.parse(readFileSync(resolve(import.meta.dirname,
  '../../resize-lambda/regional/tests/fixtures/function-url-request.json'), 'utf8'));

/** Serves `events` one by one to the runtime's long poll; resolves each with the runtime's reply. */
function runtimeApi(events) {
  const replies = events.map(() => { let r; const p = new Promise((res) => { r = res; }); return { p, r }; });
  let next = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const m = req.url.match(/^\/2018-06-01\/runtime\/invocation\/(next|([^/]+)\/(response|error))$/);
      if (req.method === 'GET' && m?.[1] === 'next') {
        if (next >= events.length) return; // long poll: hold until the test ends
        const id = String(next);
        res.writeHead(200, {
          'content-type': 'application/json',
          'lambda-runtime-aws-request-id': id,
          'lambda-runtime-deadline-ms': String(Date.now() + 30_000),
          'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:eu-west-1:111122223333:function:scalefront-regional',
          'lambda-runtime-trace-id': 'Root=1-00000000-000000000000000000000000',
        });
        res.end(JSON.stringify(events[next++]));
        return;
      }
      if (req.method === 'POST' && m?.[2] !== undefined) {
        replies[Number(m[2])].r({ kind: m[3], body: JSON.parse(body) });
        res.writeHead(202).end('{}');
        return;
      }
      if (req.url.endsWith('/init/error')) {
        for (const x of replies) x.r({ kind: 'init-error', body: JSON.parse(body) });
      }
      res.writeHead(202).end('{}');
    });
  });
  return { server, replies: replies.map((x) => x.p) };
}

function event(uri) {
  const e = structuredClone(fixture);
  e.rawPath = uri;
  e.requestContext.http.path = uri;
  return e;
}

/**
 * Runs the packaged bootstrap on `events` (its config.json, or `config` patched over it through
 * $SCALEFRONT_CONFIG); resolves to the runtime's replies and the JSON log lines it printed.
 */
async function bootstrap(events, config = null) {
  const env = {};
  if (config) {
    const file = join(process.env.ORIGIN_SCRATCH, `regional-config-${process.pid}-${configs++}.json`);
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), ...config }));
    env.SCALEFRONT_CONFIG = file;
  }
  const { server, replies } = runtimeApi(events);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const child = spawn(join(dir, 'bootstrap'), [], {
    env: {
      ...process.env,
      ...env,
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${server.address().port}`,
      LAMBDA_TASK_ROOT: dir,
      AWS_LAMBDA_FUNCTION_NAME: 'scalefront-regional',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_STREAM_NAME: 'test',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/scalefront-regional',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => { stdout += c; });
  child.stderr.on('data', (c) => { stderr += c; });
  try {
    const answers = await Promise.all(replies);
    // The bootstrap logs each request's line after it posts the answer: wait for them all (a
    // loaded machine may deliver the answer first), then read them.
    const lines = () => stdout.split('\n').filter((l) => l.startsWith('{'));
    for (let waited = 0; lines().length < answers.length && waited < 10_000; waited += 20) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const logs = lines().map((l) => JSON.parse(l));
    return { answers, logs, stderr };
  } finally {
    child.kill();
    server.closeAllConnections();
    server.close();
  }
}
let configs = 0;

test('the packaged bootstrap serves function URL events against S3', async () => {
  await put('photos/bootstrap.jpg', photo('ladybird-2560x1600.jpg'), 'image/jpeg');
  const key = `_sf/photos/bootstrap.jpg/${G}/w384-h0-cover-q75.webp`;
  const forged = `_sf/photos/bootstrap.jpg/${G}/w385-h0-cover-q75.webp`;
  const { answers: [generated, rejected], logs, stderr } = await bootstrap([event(uriOf(key)), event(uriOf(forged))]);
  assert.equal(generated.kind, 'response', JSON.stringify(generated.body) + stderr);
  assert.equal(generated.body.statusCode, 200);
  assert.equal(generated.body.isBase64Encoded, true);
  assert.equal(generated.body.headers['content-type'], 'image/webp');
  const bytes = Buffer.from(generated.body.body, 'base64');
  assert.deepEqual(imageInfo(bytes), { format: 'webp', width: 384, height: 240 });
  assert.ok((await get(key)).bytes.equals(bytes), 'stored = answered');

  assert.equal(rejected.body.statusCode, 400);
  assert.equal(await get(forged), null);

  assert.deepEqual(logs.map((l) => l.outcome), ['generated', 'rejected']);
  console.log(`# regional bootstrap, one generated request: ms ${JSON.stringify(logs[0].ms)}`);
});

test('behind a bucket policy: the PUT signs putEncryption\'s headers; a read refused to the role is role-denied', async () => {
  await put('photos/bootstrap-kms.jpg', photo('ladybird-2560x1600.jpg'), 'image/jpeg');
  await put('photos/bootstrap-locked.jpg', photo('storm-1920x1280.jpg'), 'image/jpeg');
  const key = `_sf/photos/bootstrap-kms.jpg/${G}/w256-h0-cover-q75.webp`;
  const locked = `_sf/photos/bootstrap-locked.jpg/${G}/w256-h0-cover-q75.webp`;
  const encryption = requireEncryption({ algorithm: 'aws:kms', keyId: KMS_KEY });
  const policy = await s3Policy(endpoint, (r) => (r.key === 'photos/bootstrap-locked.jpg' ? 'explicit deny' : encryption(r)));
  try {
    const { answers: [stored, denied], logs, stderr } = await bootstrap([event(uriOf(key)), event(uriOf(locked))], {
      s3Endpoint: policy.endpoint,
      putEncryption: { algorithm: 'aws:kms', kmsKeyId: KMS_KEY },
    });
    assert.equal(stored.body.statusCode, 200, JSON.stringify(stored.body) + stderr);
    const [putReq] = policy.requests.filter((r) => r.method === 'PUT');
    assert.equal(putReq.denied, null);
    assert.deepEqual(encryptionHeaders(putReq), {
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY,
    });
    assert.ok(signedHeaders(putReq).includes('x-amz-server-side-encryption-aws-kms-key-id'));
    assert.ok((await get(key)).bytes.equals(Buffer.from(stored.body.body, 'base64')));

    assert.equal(denied.body.statusCode, 502);
    assert.match(denied.body.body, /^502 Bad Gateway: role-denied: /);
    assert.equal(denied.body.headers['cache-control'], 'no-store');
    assert.deepEqual(logs.map((l) => [l.outcome, l.kind ?? null]), [['generated', null], ['failed', 'role-denied']]);
    assert.match(logs[1].error, /S3 GetObject photos\/bootstrap-locked.jpg: 403 AccessDenied/);
  } finally {
    await policy.close();
  }
});
