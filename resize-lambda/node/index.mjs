// scalefront origin-response handler for Lambda@Edge (nodejs22.x; also runs on Node 20).
// This file only talks to S3. Lambda@Edge has no environment variables: bucket, region, rule
// spec, an optional S3 endpoint and the `shim` facts are baked into config.json by
// `scalefront package`.
//
// Origin-response runs on every cache miss, S3 200s included, so the common case must be cheap:
// the baked `shim` facts (made by the Rust side from the same rules as the flow) decide before
// anything heavy is loaded. The S3 client (most of a cold start) is imported on the first request
// that talks to S3; the wasm module only for a 403/404 on a variant key.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const configJson = readFileSync(new URL('config.json', import.meta.url), 'utf8');
const config = JSON.parse(configJson);
const shim = config.shim;
if (!shim) throw new Error('config.json has no `shim` facts: rebuild the package with `scalefront package`');

// Loaded on the first variant miss; a bad config throws there, loudly, on every such request.
let flow = null;
function load() {
  delete require.cache[require.resolve('./resize_lambda.js')];
  return new (require('./resize_lambda.js').Handler)(configJson);
}

// The standard credential chain (the function's execution role in Lambda), made once.
let sdk = null;
let client = null;
async function s3() {
  if (!client) {
    sdk = await import('@aws-sdk/client-s3');
    client = new sdk.S3Client({
      region: config.region,
      ...(config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : {}),
    });
  }
  return client;
}

export const handler = async (event) => {
  const cf = event?.Records?.[0]?.cf;
  const status = Number(cf?.response?.status);
  const method = cf?.request?.method;
  const uri = cf?.request?.uri ?? '';
  try {
    if (cf?.config?.eventType !== 'origin-response') {
      throw new Error(`this function handles origin-response events, not ${JSON.stringify(cf?.config?.eventType)}: check the cache behaviour's association`);
    }
    if (!shim.statuses.includes(status) || !shim.methods.includes(method)) return cf.response;
    if (!uri.startsWith(shim.variantPrefix)) return await original(cf, uri, method);
    return await runFlow(event);
  } catch (err) {
    // A bug, never an S3 or image problem (the flow answers those): log it, answer 500, and
    // replace a wasm instance that trapped (its state is unusable after a panic).
    if (err instanceof WebAssembly.RuntimeError) flow = null;
    return internalError(cf, err);
  }
};

async function runFlow(event) {
  flow ??= load();
  const inv = flow.start(JSON.stringify(event));
  try {
    for (;;) {
      const step = JSON.parse(inv.step());
      if (step.kind === 'read') await read(inv, step);
      else if (step.kind === 'write') await write(inv, step);
      else {
        console.log(step.log);
        return step.result;
      }
    }
  } finally {
    inv.free();
  }
}

// CloudFront was refused an original. The role may list the bucket, so S3 tells it 404 for a
// missing key: answer the error table's 404 (cached briefly), the same body as regional mode.
// If the role can read what CloudFront could not, CloudFront's origin access is broken: say so.
async function original(cf, uri, method) {
  let key;
  try {
    key = decodeURIComponent(uri.slice(1));
  } catch {
    return cf.response;
  }
  const which = method === 'HEAD' ? 1 : 0;
  let answer;
  let kind;
  let detail;
  try {
    await (await s3()).send(new sdk.HeadObjectCommand({ Bucket: config.bucket, Key: key }));
    [answer, kind] = [shim.unreadable[which], 'origin-access'];
    detail = 'the role reads the original, CloudFront was refused it';
  } catch (err) {
    if (err.$metadata?.httpStatusCode === 404) {
      [answer, kind] = [shim.missing[which], 'missing'];
      detail = `S3 404 ${err.name}`;
    } else {
      // Refused to the role too, or S3 failing: S3's own answer stands (the flow's rule).
      detail = `S3 HeadObject ${key}: ${describe(err)}`;
    }
  }
  const result = answer ? withReadOnlyHeaders(structuredClone(answer), cf.response) : cf.response;
  console.log(JSON.stringify({
    msg: 'scalefront origin', uri, origin_status: Number(cf.response.status), source: key,
    outcome: answer ? (Number(result.status) >= 500 ? 'failed' : 'client-error') : 'pass',
    status: Number(result.status), kind, error: detail,
  }));
  return result;
}

async function read(inv, { key, len, range, maxBytes, ifMatch }) {
  let res;
  const bucket = await s3();
  const Command = len === 0 ? sdk.HeadObjectCommand : sdk.GetObjectCommand;
  try {
    res = await bucket.send(new Command({
      Bucket: config.bucket, Key: key,
      ...(range ? { Range: range } : {}),
      ...(ifMatch ? { IfMatch: ifMatch } : {}),
    }));
  } catch (err) {
    const status = err.$metadata?.httpStatusCode;
    if (status === 404) return inv.missing(404, `S3 404 ${err.name}`);
    // The role may list the bucket, so S3 says 404 for a missing key: a 403 is a refusal.
    if (status === 403) return inv.missing(403, `S3 ${Command.name.replace('Command', '')} ${key}: 403 ${err.name}: the role was refused (its policy, a KMS key, a deny)`);
    // An empty object has no byte 0 to start a range at.
    if (status === 416) return inv.found(new Uint8Array(0), JSON.stringify({ size: 0 }));
    return inv.failed(`S3 ${Command.name.replace('Command', '')} ${key}: ${describe(err)}`);
  }
  // A ranged answer names the whole size after the slash: `bytes 0-65535/4161230`.
  const total = res.ContentRange ? Number(res.ContentRange.split('/')[1]) : res.ContentLength;
  const meta = JSON.stringify({
    size: total ?? 0,
    etag: res.ETag ?? null,
    contentType: res.ContentType ?? null,
    cacheControl: res.CacheControl ?? null,
    lastModified: res.LastModified ? res.LastModified.getTime() : null,
  });
  if (total > maxBytes) {
    res.Body?.destroy?.();
    return inv.tooLarge(meta);
  }
  if (len === 0) return inv.found(new Uint8Array(0), meta);
  let body;
  try {
    body = await readCapped(res.Body, maxBytes);
  } catch (err) {
    return inv.failed(`S3 GetObject ${key} body: ${describe(err)}`);
  }
  // No Content-Length to refuse it by, and more bytes than allowed: refused all the same.
  if (body === null) return inv.tooLarge(JSON.stringify({ ...JSON.parse(meta), size: maxBytes + 1 }));
  inv.found(body, meta);
}

/** The whole body, or null as soon as it runs past `cap` bytes (the stream is dropped then). */
async function readCapped(stream, cap) {
  const parts = [];
  let n = 0;
  for await (const chunk of stream) {
    n += chunk.length;
    if (n > cap) {
      stream.destroy?.();
      return null;
    }
    parts.push(chunk);
  }
  return new Uint8Array(Buffer.concat(parts, n));
}

async function write(inv, { key, contentType, cacheControl, metadata, encryption }) {
  let put;
  try {
    put = await (await s3()).send(new sdk.PutObjectCommand({
      Bucket: config.bucket,
      Key: key,
      Body: inv.writeBody(),
      ContentType: contentType,
      CacheControl: cacheControl,
      Metadata: metadata,
      // config.json's putEncryption as the SDK's input members (made by the wasm, resize-lambda's
      // storage::Encryption): the SDK sends them as x-amz-server-side-encryption* headers and
      // signs them, so a bucket policy that demands them lets the PUT through.
      ...encryption,
    }));
  } catch (err) {
    return inv.writeFailed(`S3 PutObject ${key}: ${describe(err)}`);
  }
  // The ETag S3 gave the object (with SSE-KMS not an MD5): the generated answer carries it too.
  inv.written(put.ETag);
}

function describe(err) {
  const status = err.$metadata?.httpStatusCode;
  const cause = err.cause ? ` (cause: ${err.cause.code ?? err.cause.message ?? err.cause})` : '';
  return `${err.name ?? 'Error'}${status ? ` HTTP ${status}` : ''}: ${err.message}${cause}`;
}

// CloudFront answers 502 if a result drops a read-only header the origin sent.
function withReadOnlyHeaders(result, origin) {
  for (const name of ['transfer-encoding', 'via']) {
    if (origin?.headers?.[name]) result.headers[name] = origin.headers[name];
  }
  return result;
}

function internalError(cf, err) {
  console.log(JSON.stringify({
    msg: 'scalefront origin', uri: cf?.request?.uri, outcome: 'failed', status: 500, kind: 'host-protocol',
    error: String(err?.stack ?? err),
  }));
  const headers = {
    'content-type': [{ key: 'Content-Type', value: 'text/plain; charset=utf-8' }],
    'cache-control': [{ key: 'Cache-Control', value: 'no-store' }],
  };
  return withReadOnlyHeaders({
    status: '500', statusDescription: 'Internal Server Error', headers,
    body: '500 Internal Server Error: host-protocol: the image function failed; the cause is in its log\n', bodyEncoding: 'text',
  }, cf?.response);
}
