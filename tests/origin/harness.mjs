// Shared helpers for the origin-side tests: a real S3 server (s3s-fs, started by
// tests/steps/30-origin.sh), the Lambda@Edge package as `scalefront package` built it, real
// origin-response events, and image header readers to check what was generated.
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import {
  S3Client, PutObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command,
} from '@aws-sdk/client-s3';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through tests/steps/30-origin.sh`);
  return v;
}

export const endpoint = need('S3_ENDPOINT');
export const bucket = need('S3_BUCKET');
export const packageDir = need('EDGE_PACKAGE_DIR'); // origin-response.zip, unzipped
export const photos = need('PHOTOS_DIR');
const scratch = need('ORIGIN_SCRATCH');
const nodeModules = resolve(import.meta.dirname, '..', 'node_modules');

export const s3 = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });

export async function put(key, body, contentType = 'application/octet-stream') {
  const r = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  return r.ETag;
}

/** The object, or null when the bucket has no such key. */
export async function get(key) {
  try {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return { ...r, bytes: Buffer.from(await r.Body.transformToByteArray()) };
  } catch (err) {
    if (err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404) return null;
    throw err;
  }
}

export async function head(key) {
  return s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
}

/** Every key in the bucket under `prefix`. */
export async function list(prefix = '') {
  const keys = [];
  let ContinuationToken;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken }));
    for (const o of r.Contents ?? []) keys.push(o.Key);
    ContinuationToken = r.NextContinuationToken;
  } while (ContinuationToken);
  return keys.sort();
}

/** The URI CloudFront has for a key: the viewer function's canonical %-encoding. */
export function uriOf(key) {
  return '/' + encodeURIComponent(key).replace(/%2F/g, '/');
}

let copies = 0;
/**
 * Loads a copy of the Lambda@Edge package with its baked config.json patched (endpoint, limits),
 * as a separate module instance: a fresh "container".
 */
export async function loadHandler(patch = {}, { removeWasm = false } = {}) {
  const dir = join(scratch, `pkg-${process.pid}-${copies++}`);
  mkdirSync(dir, { recursive: true });
  cpSync(packageDir, dir, { recursive: true });
  // A package whose wasm cannot load: proves an answer did not need it.
  if (removeWasm) writeFileSync(join(dir, 'resize_lambda_bg.wasm'), 'not wasm');
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(nodeModules, join(dir, 'node_modules'));
  const config = { ...JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), ...patch };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const mod = await import(pathToFileURL(join(dir, 'index.mjs')).href);
  return mod.handler;
}

/** Runs `fn` and returns [its result, the JSON log lines printed meanwhile]. */
export async function capturingLogs(fn) {
  const lines = [];
  const original = console.log;
  console.log = (...args) => {
    const text = args.join(' ');
    try { lines.push(JSON.parse(text)); } catch { original(...args); }
  };
  try {
    return [await fn(), lines];
  } finally {
    console.log = original;
  }
}

/** An origin-response event as CloudFront sends it for an S3 origin (OAC). */
export function originResponse(uri, status, { method = 'GET', statusDescription } = {}) {
  const descriptions = { 200: 'OK', 304: 'Not Modified', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' };
  return {
    Records: [{
      cf: {
        config: {
          distributionDomainName: 'd111111abcdef8.cloudfront.net',
          distributionId: 'EDFDVBD6EXAMPLE',
          eventType: 'origin-response',
          requestId: `test-${Math.random().toString(36).slice(2)}`,
        },
        request: {
          clientIp: '203.0.113.178',
          headers: {
            host: [{ key: 'Host', value: `${bucket}.s3.us-east-1.amazonaws.com` }],
            'user-agent': [{ key: 'User-Agent', value: 'Amazon CloudFront' }],
            via: [{ key: 'Via', value: '2.0 8f22423015641505b8c857a37450d6c0.cloudfront.net (CloudFront)' }],
          },
          method,
          origin: {
            s3: {
              authMethod: 'none', customHeaders: {}, domainName: `${bucket}.s3.us-east-1.amazonaws.com`,
              path: '', region: 'us-east-1',
            },
          },
          querystring: '',
          uri,
        },
        response: {
          headers: {
            'content-type': [{ key: 'Content-Type', value: status === 200 ? 'image/webp' : 'application/xml' }],
            server: [{ key: 'Server', value: 'AmazonS3' }],
            'x-amz-request-id': [{ key: 'x-amz-request-id', value: 'EXAMPLE123' }],
            'transfer-encoding': [{ key: 'Transfer-Encoding', value: 'chunked' }],
          },
          status: String(status),
          statusDescription: statusDescription ?? descriptions[status] ?? '',
        },
      },
    }],
  };
}

export function header(result, name) {
  return result.headers?.[name]?.[0]?.value;
}

/** The decoded body of a generated result. */
export function bodyOf(result) {
  if (result.bodyEncoding === 'base64') return Buffer.from(result.body, 'base64');
  return Buffer.from(result.body ?? '', 'utf8');
}

/** Format and dimensions from an encoded image's header (JPEG, PNG, WebP, AVIF). */
export function imageInfo(buf) {
  if (buf[0] === 0xff && buf[1] === 0xd8) {
    for (let i = 2; i + 9 < buf.length;) {
      if (buf[i] !== 0xff) { i++; continue; }
      const marker = buf[i + 1];
      const len = buf.readUInt16BE(i + 2);
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
        return { format: 'jpeg', height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
      }
      i += 2 + len;
    }
  }
  if (buf.subarray(1, 4).toString() === 'PNG') {
    return { format: 'png', width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
  }
  if (buf.subarray(0, 4).toString() === 'RIFF' && buf.subarray(8, 12).toString() === 'WEBP') {
    const chunk = buf.subarray(12, 16).toString();
    if (chunk === 'VP8 ') return { format: 'webp', width: buf.readUInt16LE(26) & 0x3fff, height: buf.readUInt16LE(28) & 0x3fff };
    if (chunk === 'VP8X') return { format: 'webp', width: 1 + buf.readUIntLE(24, 3), height: 1 + buf.readUIntLE(27, 3) };
    if (chunk === 'VP8L') {
      const b = buf.readUInt32LE(21);
      return { format: 'webp', width: (b & 0x3fff) + 1, height: ((b >> 14) & 0x3fff) + 1 };
    }
  }
  if (buf.subarray(4, 12).toString() === 'ftypavif') {
    const at = buf.indexOf('ispe');
    return { format: 'avif', width: buf.readUInt32BE(at + 8), height: buf.readUInt32BE(at + 12) };
  }
  return { format: 'unknown' };
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
/** An RGB PNG whose pixels come from `pixel(x, y) → [r, g, b]`. */
export function png(width, height, pixel) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0, o = 0; y < height; y++) {
    raw[o++] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      raw[o++] = r; raw[o++] = g; raw[o++] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 1 })), chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Deterministic noise (xorshift): incompressible, so encoded variants stay big. */
export function noise(seed = 1) {
  let s = seed >>> 0 || 1;
  return () => {
    const v = [];
    for (let i = 0; i < 3; i++) { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; v.push(s & 0xff); }
    return v;
  };
}

export function photo(name) {
  return readFileSync(join(photos, name));
}
