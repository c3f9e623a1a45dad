// CLI contracts of `scalefront viewer-fn` and `scalefront rewrite` (issue 2, point 6), and the
// native twin: `scalefront rewrite --events` must print, line for line, what the generated function
// prints in Node for the same events.
// Needs SCALEFRONT_BIN (the built binary); events come from viewer-fn's differential test run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { G } from '../keys.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = process.env.SCALEFRONT_BIN || path.join(root, 'target/debug/scalefront');
const committed = path.join(root, 'viewer-fn/generated/viewer-request.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'sf-cli-'));

// Run in an empty directory so a ./scalefront.toml elsewhere cannot leak in.
const run = (args, input) => spawnSync(bin, args, { cwd: tmp, encoding: 'utf8', input, maxBuffer: 1 << 30 });

test('the binary exists', () => assert.ok(existsSync(bin), `${bin} (set SCALEFRONT_BIN)`));

test('viewer-fn prints the committed function for the default spec', () => {
  const r = run(['viewer-fn']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, readFileSync(committed, 'utf8'));
});

test('viewer-fn --config FILE -o FILE writes the function for that spec', () => {
  const out = path.join(tmp, 'dist/fn.js');
  const r = run(['viewer-fn', '--config', path.join(root, 'viewer-fn/tests/specs/wide.toml'), '-o', out]);
  assert.equal(r.status, 0, r.stderr);
  const js = readFileSync(out, 'utf8');
  assert.match(js, /"img-v1"/);
  assert.match(r.stderr, /bytes of 10240 allowed/);
});

test('spec prints the worst case of one original: the default is 388 variants, under a gigapixel', () => {
  const r = run(['spec']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^rule spec: the built-in defaults$/m);
  assert.match(r.stdout, /^variants per original: 388 \(97 sizes and fits × 4 format\/quality pairs\)/m);
  assert.match(r.stdout, /^ {2}total +0\.8 gigapixels/m);
  // A narrower spec: fewer of everything.
  const narrow = path.join(tmp, 'narrow.toml');
  writeFileSync(narrow, 'widths = [640, 1280]\nheights = [640]\nratios = ["1:1"]\n');
  const n = run(['spec', '--config', narrow]);
  assert.equal(n.status, 0, n.stderr);
  // (1 + 2 widths + 1 height + 2 widths × 1 shape) geometries × 4 format/quality pairs
  assert.match(n.stdout, /^variants per original: 24 \(6 sizes and fits × 4/m);
});

test('sign: a signed spec refuses unsigned URLs and passes signed ones; --new-keys never overwrites', () => {
  const spec = path.join(tmp, 'signed.toml');
  const keys = path.join(tmp, 'keys.json');
  writeFileSync(spec, 'signed = true\n');
  const k = run(['sign', '--new-keys', keys]);
  assert.equal(k.status, 0, k.stderr);
  assert.match(readFileSync(keys, 'utf8'), /"scalefront-a"[\s\S]*"scalefront-o"/);
  assert.notEqual(run(['sign', '--new-keys', keys]).status, 0, 'an existing key file is kept');
  const s = run(['sign', '--config', spec, '--keys', keys, '/photos/a.jpg?w=600', `/_sf/photos/a.jpg/${G}/w640-h0-cover-q75.webp`]);
  assert.equal(s.status, 0, s.stderr);
  const [transform, direct] = s.stdout.trim().split('\n');
  assert.match(transform, /^\/photos\/a\.jpg\?w=600&s=a[0-9a-f]{31}$/);
  for (const url of [transform, direct]) {
    const ok = JSON.parse(run(['rewrite', url, '--config', spec, '--keys', keys]).stdout);
    assert.equal(ok.statusCode, undefined, `${url} passes`);
    const refused = JSON.parse(run(['rewrite', url.replace(/s=a/, 's=b'), '--config', spec, '--keys', keys]).stdout);
    assert.equal(refused.statusCode, 403);
  }
  const unsigned = JSON.parse(run(['rewrite', '/photos/a.jpg?w=600', '--config', spec, '--keys', keys]).stdout);
  assert.equal(unsigned.statusCode, 403);
  const original = run(['sign', '--config', spec, '--keys', keys, '/photos/a.jpg']);
  assert.notEqual(original.status, 0);
  assert.match(original.stderr, /not a transform/);
});

test('a bad scalefront.toml is reported with file, line and key, non-zero exit', () => {
  const bad = path.join(tmp, 'bad.toml');
  writeFileSync(bad, 'prefix = "_sf"\nwidths = [640, 9000]\n');
  for (const args of [['viewer-fn', '--config', bad], ['rewrite', '/a.jpg?w=1', '--config', bad]]) {
    const r = run(args);
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /bad\.toml:2: `widths`: 9000: outside 1\.\.=8192/);
  }
});

test('rewrite prints the rewritten request as one line of JSON', () => {
  const r = run(['rewrite', '/photos/Further.jpg?w=600&utm_source=x', '--header', 'accept: image/avif,image/webp,*/*']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.split('\n').length, 2);
  const out = JSON.parse(r.stdout);
  assert.equal(out.uri, `/_sf/photos/Further.jpg/${G}/w640-h0-cover-q75.avif`);
  assert.deepEqual(out.querystring, {});
  assert.equal(out.headers.accept.value, 'image/avif,image/webp,*/*');
});

test('rewrite prints the response object for a refused request (exit 0: it is the function\'s answer)', () => {
  const r = run(['rewrite', '/photos/Further.jpg?w=600&w=700']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.statusCode, 400);
  assert.match(out.body.data, /conflicting values for w/);
});

test('rewrite of an original returns it untouched, query included', () => {
  const out = JSON.parse(run(['rewrite', '/photos/Further.jpg?utm_source=x']).stdout);
  assert.equal(out.uri, '/photos/Further.jpg');
  assert.deepEqual(out.querystring, { utm_source: { value: 'x' } });
});

test('rewrite --header without a colon is an error', () => {
  const r = run(['rewrite', '/a.jpg', '--header', 'accept']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /expected 'name: value'/);
});

test('rewrite --events reports a bad line by number', () => {
  const events = path.join(tmp, 'bad.jsonl');
  writeFileSync(events, '{"request":{"uri":"/a.jpg"}}\nnot json\n');
  const r = run(['rewrite', '--events', events]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /bad\.jsonl:2: not a viewer-request event/);
});

test('rewrite --events is the native twin of the generated function in Node', () => {
  const events = path.join(root, 'target/viewer-fn-tests/differential-default/events.jsonl');
  assert.ok(existsSync(events), `${events}: run cargo test -p viewer-fn first`);
  const native = run(['rewrite', '--events', events]);
  assert.equal(native.status, 0, native.stderr);
  const node = spawnSync(process.execPath, [path.join(root, 'tests/viewer-fn/run-events.mjs'), committed, events], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  assert.equal(node.status, 0, node.stderr);
  const a = native.stdout.trimEnd().split('\n');
  const b = node.stdout.trimEnd().split('\n');
  const inputs = readFileSync(events, 'utf8').trimEnd().split('\n');
  assert.equal(a.length, inputs.length);
  assert.equal(b.length, inputs.length);
  const bad = [];
  for (let i = 0; i < a.length; i++) {
    if (!isDeepStrictEqual(JSON.parse(a[i]), JSON.parse(b[i]))) bad.push(`#${i} ${inputs[i]}\n  native: ${a[i]}\n  node:   ${b[i]}`);
  }
  assert.deepEqual(bad.slice(0, 5), [], `${bad.length} of ${a.length} differ`);
  console.log(`rewrite --events and Node agree on ${a.length} events`);
});

test('every subcommand --help says what it does, with an example', () => {
  for (const cmd of ['viewer-fn', 'rewrite']) {
    const r = run([cmd, '--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Example/);
    assert.match(r.stdout, /scalefront /);
  }
});
