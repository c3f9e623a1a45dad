// Benchmark (not a test): median time per request of the generated CloudFront Function in Node.
// Usage: node tests/bench/viewer-fn.mjs [FUNCTION.js]   (default viewer-fn/generated/viewer-request.js)
// A realistic mix — transforms with browsers' Accept headers, originals, canonical variant URIs,
// hostile queries — is timed in batches of 1,000 fresh events; the median batch gives µs/request.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import vm from 'node:vm';
import { G } from '../keys.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = process.argv[2] || path.join(root, 'viewer-fn/generated/viewer-request.js');
const ctx = vm.createContext({ console });
vm.runInContext(readFileSync(file, 'utf8'), ctx);
const handler = ctx.handler;

const ACCEPT = [
  'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', // Chrome
  'image/avif,image/webp,*/*', // Firefox
  'image/webp,image/avif,image/jpeg,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5', // Safari 17
  '*/*',
];
const PATHS = ['/photos/Further.jpg', '/photos/2024/IMG_0001.JPG', '/gallery/My%20Photo.png', '/caf%C3%A9/a.webp'];
let seed = 1;
const rnd = (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
const q = (obj) => Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, { value: v }]));

function event() {
  const roll = rnd(100);
  let uri = PATHS[rnd(PATHS.length)];
  let querystring = {};
  if (roll < 60) querystring = q({ w: String(100 + rnd(2000)), ...(rnd(3) ? {} : { dpr: '2' }), ...(rnd(4) ? {} : { q: '80' }) });
  else if (roll < 70) querystring = q({ w: '600', h: '400', fit: 'cover', f: 'auto', utm_source: 'newsletter' });
  else if (roll < 80) uri = `/_sf/photos/Further.jpg/${G}/w640-h0-cover-q75.avif`;
  else if (roll < 90) querystring = q({ w: '600px', width: '700' });
  // else: an original, untouched
  return {
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '198.51.100.7' },
    request: { method: 'GET', uri, querystring, headers: { host: { value: 'd111.cloudfront.net' }, accept: { value: ACCEPT[rnd(ACCEPT.length)] } }, cookies: {} },
  };
}

const BATCH = 1000;
const ROUNDS = Number(process.env.ROUNDS || 300);
const perRequest = [];
for (let r = 0; r < ROUNDS + 20; r++) {
  const events = Array.from({ length: BATCH }, event);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < BATCH; i++) handler(events[i]);
  const ns = Number(process.hrtime.bigint() - t0);
  if (r >= 20) perRequest.push(ns / BATCH / 1000); // the first rounds warm the JIT
}
perRequest.sort((a, b) => a - b);
const pct = (p) => perRequest[Math.min(perRequest.length - 1, Math.floor(p * perRequest.length))].toFixed(2);
console.log(`viewer-fn bench (node ${process.versions.node}, ${path.relative(root, file)}): median ${pct(0.5)} µs/request ` +
  `(p10 ${pct(0.1)}, p90 ${pct(0.9)}; ${ROUNDS} batches of ${BATCH})`);
