// scalefront origin-response handler for Lambda@Edge (nodejs22.x; also runs on Node 20).
// This file only talks to S3; every decision is made by the flow compiled to wasm
// (resize_lambda_bg.wasm). Lambda@Edge has no environment variables: bucket, region, rule
// spec and an optional S3 endpoint are baked into config.json by `scalefront package`.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { S3Client, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';

const require = createRequire(import.meta.url);
const configJson = readFileSync(new URL('config.json', import.meta.url), 'utf8');
const config = JSON.parse(configJson);

// Throws at cold start on a bad config: fail loudly, not per request.
let flow = load();
function load() {
  delete require.cache[require.resolve('./resize_lambda.js')];
  return new (require('./resize_lambda.js').Handler)(configJson);
}

// The standard credential chain (the function's execution role in Lambda).
const s3 = new S3Client({
  region: config.region,
  ...(config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : {}),
});

export const handler = async (event) => {
  let inv;
  try {
    inv = flow.start(JSON.stringify(event));
    for (;;) {
      const step = JSON.parse(inv.step());
      if (step.kind === 'read') await read(inv, step);
      else if (step.kind === 'write') await write(inv, step);
      else {
        inv.free();
        console.log(step.log);
        return step.result;
      }
    }
  } catch (err) {
    // A bug, never an S3 or image problem (the flow answers those): log it, answer 500, and
    // replace a wasm instance that trapped (its state is unusable after a panic).
    if (err instanceof WebAssembly.RuntimeError) flow = load();
    return internalError(event, err);
  }
};

async function read(inv, { key, maxBytes }) {
  let res;
  try {
    res = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
  } catch (err) {
    const status = err.$metadata?.httpStatusCode;
    if (err.name === 'NoSuchKey' || status === 404) return inv.missing(`S3 404 ${err.name}`);
    // Without s3:ListBucket S3 says 403 for a missing key; a real permission problem shows here too.
    if (status === 403) return inv.missing(`S3 403 ${err.name}: missing, or the role may not read it`);
    return inv.failed(`S3 GetObject ${key}: ${describe(err)}`);
  }
  if (res.ContentLength > maxBytes) {
    res.Body.destroy?.();
    return inv.tooLarge(res.ContentLength);
  }
  let body;
  try {
    body = await res.Body.transformToByteArray();
  } catch (err) {
    return inv.failed(`S3 GetObject ${key} body: ${describe(err)}`);
  }
  if (body.length > maxBytes) return inv.tooLarge(body.length);
  inv.found(body, res.ETag);
}

async function write(inv, { key, contentType, cacheControl, metadata }) {
  try {
    await s3.send(new PutObjectCommand({
      Bucket: config.bucket,
      Key: key,
      Body: inv.writeBody(),
      ContentType: contentType,
      CacheControl: cacheControl,
      Metadata: metadata,
    }));
  } catch (err) {
    return inv.writeFailed(`S3 PutObject ${key}: ${describe(err)}`);
  }
  inv.written();
}

function describe(err) {
  const status = err.$metadata?.httpStatusCode;
  const cause = err.cause ? ` (cause: ${err.cause.code ?? err.cause.message ?? err.cause})` : '';
  return `${err.name ?? 'Error'}${status ? ` HTTP ${status}` : ''}: ${err.message}${cause}`;
}

function internalError(event, err) {
  const cf = event?.Records?.[0]?.cf;
  console.log(JSON.stringify({
    msg: 'scalefront origin', uri: cf?.request?.uri, outcome: 'failed', status: 500,
    error: String(err?.stack ?? err),
  }));
  // CloudFront answers 502 if a result drops a read-only header the origin sent.
  const headers = {
    'content-type': [{ key: 'Content-Type', value: 'text/plain; charset=utf-8' }],
    'cache-control': [{ key: 'Cache-Control', value: 'no-store' }],
  };
  for (const name of ['transfer-encoding', 'via']) {
    if (cf?.response?.headers?.[name]) headers[name] = cf.response.headers[name];
  }
  return {
    status: '500', statusDescription: 'Internal Server Error', headers,
    body: '500 Internal Server Error: the image function failed; the cause is in its log\n', bodyEncoding: 'text',
  };
}
