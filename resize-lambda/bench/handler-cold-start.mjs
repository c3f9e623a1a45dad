// Cold start of the packaged Lambda@Edge handler (index.mjs + wasm) in Node: each run is a fresh
// process that imports the handler and answers one origin-response event, timed from before the
// import to the answer. Prints the median of N runs for each event kind:
//   pass  — S3 answered 200 for a variant (most misses): the shim should not touch the wasm;
//   miss  — S3 answered 403 for a variant that must be made (needs a reachable S3 with the photo).
// Usage: node resize-lambda/bench/handler-cold-start.mjs PACKAGE_DIR [RUNS=7] [MISS_KEY]
//   PACKAGE_DIR: an unzipped origin-response.zip whose config.json points at a reachable S3
//   (tests/steps/30-origin.sh makes one); MISS_KEY: an original in that bucket (e.g. photos/a.jpg).
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { G } from '../../tests/keys.mjs';

const [dir, runs = '7', missKey] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node resize-lambda/bench/handler-cold-start.mjs PACKAGE_DIR [RUNS] [MISS_KEY]');
  process.exit(2);
}
const event = (uri, status) => ({
  Records: [{
    cf: {
      config: { distributionDomainName: 'd.cloudfront.net', distributionId: 'E1', eventType: 'origin-response', requestId: 'r' },
      request: { clientIp: '203.0.113.1', headers: {}, method: 'GET', querystring: '', uri },
      response: { status: String(status), statusDescription: 'x', headers: {} },
    },
  }],
});
const child = (ev) => `
  const t0 = performance.now();
  import(${JSON.stringify('file://' + resolve(dir, 'index.mjs'))}).then(async (m) => {
    const t1 = performance.now();
    const log = console.log; console.log = () => {};
    const r = await m.handler(${JSON.stringify(ev)});
    const t2 = performance.now();
    console.log = log;
    console.log(JSON.stringify({ import: t1 - t0, invoke: t2 - t1, total: t2 - t0, status: r.status }));
  });
`;
// Each miss asks for a variant not stored yet (the default spec's widths × qualities: 48 keys).
const WIDTHS = [16, 32, 48, 64, 96, 128, 256, 384, 640, 750, 828, 1080, 1200, 1920, 2048, 3840];
const missUri = (i) => `/_sf/${encodeURIComponent(missKey).replace(/%2F/g, '/')}/${G}/` +
  `w${WIDTHS[i % 16]}-h0-cover-q${[50, 75, 90][Math.floor(i / 16) % 3]}.jpeg`;
const kinds = [['pass', () => event(`/_sf/photos/pass.jpg/${G}/w640-h0-cover-q75.webp`, 200)]];
if (missKey) kinds.push(['miss', (i) => event(missUri(i), 403)]);
for (const [kind, make] of kinds) {
  const results = [];
  for (let i = 0; i < Number(runs); i++) {
    const e = make(i);
    results.push(JSON.parse(execFileSync(process.execPath, ['--no-warnings', '--input-type=commonjs', '-e', child(e)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop()));
  }
  const median = (k) => results.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(results.length / 2)];
  console.log(`${kind}: ${runs} fresh processes, status ${results[0].status}: median import ${median('import').toFixed(1)} ms, ` +
    `first invocation ${median('invoke').toFixed(1)} ms, cold total ${median('total').toFixed(1)} ms`);
}
