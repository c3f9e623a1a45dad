// A bucket policy in front of a real S3 server (s3s-fs), for the origin-side hosts' tests: every
// request is recorded (method, path, headers) and either refused as S3 refuses what a policy
// denies (403 AccessDenied) or forwarded unchanged — Host and Authorization included, so the
// server still checks the SigV4 signature the host made. s3s-fs ignores server-side encryption
// headers; this is where a test sees them.
import { createServer, request } from 'node:http';

/**
 * Starts the proxy in front of `target` (`http://127.0.0.1:PORT`). `deny(req)` returns a reason
 * to refuse a request (logged in `requests`), or nothing to let it through. Resolves to
 * `{ endpoint, requests, close }`; each entry of `requests` is `{ method, path, key, headers,
 * denied }` with `key` the decoded object key (path-style: `/bucket/key`).
 */
export async function s3Policy(target, deny = () => null) {
  const requests = [];
  const to = new URL(target);
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const key = decodeURIComponent(path.split('/').slice(2).join('/'));
    const entry = { method: req.method, path, key, headers: req.headers, denied: null };
    requests.push(entry);
    entry.denied = deny(entry) || null;
    if (entry.denied) {
      for await (const _ of req); // the body, so the client sees the answer, not a reset
      const xml = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
        + `<Message>Access Denied (${entry.denied})</Message></Error>`;
      res.writeHead(403, { 'content-type': 'application/xml', 'x-amz-request-id': 'POLICY' });
      res.end(req.method === 'HEAD' ? undefined : xml);
      return;
    }
    const upstream = request({
      host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers,
    }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (e) => { res.destroy(e); });
    req.pipe(upstream);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

/** The `SignedHeaders` of a recorded request's SigV4 `Authorization`. */
export function signedHeaders(entry) {
  const m = /SignedHeaders=([^,]+)/.exec(entry.headers.authorization ?? '');
  return m ? m[1].split(';') : [];
}

/**
 * AWS's documented pattern: deny `s3:PutObject` unless `x-amz-server-side-encryption` is present
 * (`"Null": {"s3:x-amz-server-side-encryption": "true"}`) and, with `algorithm`, has that value
 * (`StringNotEquals`), and, with `keyId`, names that key
 * (`s3:x-amz-server-side-encryption-aws-kms-key-id`). A header outside the signature counts as
 * absent, as it would at S3 (an unsigned x-amz-* header is refused there).
 */
export function requireEncryption({ algorithm, keyId } = {}) {
  return (req) => {
    if (req.method !== 'PUT') return null;
    const signed = signedHeaders(req);
    const header = (name) => (signed.includes(name) ? req.headers[name] : undefined);
    const sse = header('x-amz-server-side-encryption');
    if (sse === undefined) return 'PutObject without x-amz-server-side-encryption';
    if (algorithm && sse !== algorithm) return `x-amz-server-side-encryption ${sse}, not ${algorithm}`;
    const key = header('x-amz-server-side-encryption-aws-kms-key-id');
    if (keyId && key !== keyId) return `KMS key ${key}, not ${keyId}`;
    return null;
  };
}

/** The encryption headers a recorded request carried, by name. */
export function encryptionHeaders(entry) {
  return Object.fromEntries(Object.entries(entry.headers).filter(([n]) => n.startsWith('x-amz-server-side-encryption')));
}

export const KMS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
