// The preview page in headless Chromium (Debian's, through playwright-core): it loads the wasm
// `web` build, resizes a photo in the browser, and the bytes equal what the edge serves natively.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { serve, fixtureFolder, imageSize, ROOT, SAMPLE } from './harness.mjs';
import { G } from '../keys.mjs';

let dir;
let edge;
let browser;
let page;
const consoleErrors = [];

before(async () => {
  dir = fixtureFolder('preview');
  edge = await serve([dir]);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],  // playwright gives each launch a fresh profile
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1500 } });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
});
after(async () => {
  await browser?.close();
  if (edge) await edge.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Waits until the page shows a result for `url`, and returns it with its bytes. */
async function resultFor(url) {
  await page.waitForFunction((u) => (window.scalefront.last && window.scalefront.last.url === u) || window.scalefront.error,
    url, { timeout: 60000 });
  const r = await page.evaluate(() => {
    const l = window.scalefront.last;
    return l && { ...l, bytes: btoa(Array.from(l.bytes, (c) => String.fromCharCode(c)).join('')), error: window.scalefront.error };
  });
  const err = await page.evaluate(() => window.scalefront.error);
  assert.equal(err, null, `the page reported: ${err}`);
  return { ...r, bytes: Buffer.from(r.bytes, 'base64') };
}

test('the page loads, resizes a folder photo with wasm, and the bytes equal the edge\'s', async () => {
  await page.goto(edge.base + '/_scalefront/');
  await page.waitForFunction(() => ['ready', 'working', 'done', 'error', 'no-wasm'].includes(document.body.dataset.state));
  assert.notEqual(await page.evaluate(() => document.body.dataset.state), 'no-wasm', 'built with the wasm web build');
  await page.selectOption('#w', '640');
  await page.selectOption('#f', 'jpeg');
  await page.selectOption('#photo', 'cups.jpg');
  const r = await resultFor('/cups.jpg?w=640&f=jpeg');
  assert.equal(r.uri, `/_sf/cups.jpg/${G}/w640-h0-cover-q75.jpeg`);
  assert.deepEqual([r.width, r.height], [640, 400]);
  assert.deepEqual(r.displayed, { width: 640, height: 400 }, 'the <img> shows the resized photo');
  assert.deepEqual(imageSize(r.bytes), { format: 'jpeg', width: 640, height: 400 });
  const native = Buffer.from(await (await fetch(edge.base + '/cups.jpg?w=640&f=jpeg')).arrayBuffer());
  assert.equal(r.bytes.length, native.length, 'same size as the native output');
  assert.ok(r.bytes.equals(native), 'same bytes as the native output');
  // The page shows sizes, time and savings, the URL and the srcset snippet.
  assert.match(await page.textContent('#result-info'), /640×400 · jpeg · [0-9.]+ KB · \d+ ms/);
  assert.match(await page.textContent('#status'), /saved \([0-9.]+ % smaller/);
  assert.equal(await page.textContent('#url'), '/cups.jpg?w=640&f=jpeg');
  await page.waitForFunction(() => document.getElementById('srcset').textContent.includes('3840w'));
});

test('a picked file is resized in the browser, EXIF orientation applied, WebP equal to the edge\'s', async () => {
  await page.selectOption('#f', 'webp');
  await page.selectOption('#w', '384');
  await page.setInputFiles('#file', path.join(SAMPLE, 'nature/ladybird.jpg'));
  const r = await resultFor('/ladybird.jpg?w=384&f=webp');
  assert.deepEqual([r.width, r.height], [384, 240], 'landscape: the EXIF rotation was applied');
  assert.equal(r.contentType, 'image/webp');
  const native = Buffer.from(await (await fetch(edge.base + '/nature/ladybird.jpg?w=384&f=webp')).arrayBuffer());
  assert.ok(r.bytes.equals(native), `same bytes as the native output (${r.bytes.length} vs ${native.length})`);
});

test('the folder list shows each photo\'s variants as served by the edge', async () => {
  await page.waitForFunction(() => document.querySelectorAll('#photos tr td .tag').length >= 6 * 3 &&
    [...document.querySelectorAll('#photos tr')].every((tr) => tr.textContent.trim() !== ''), null, { timeout: 120000 });
  const tags = await page.$$eval('#photos .tag', (els) => els.map((e) => e.textContent));
  assert.ok(tags.includes('generated') || tags.includes('Miss') || tags.includes('Hit'), tags.join());
  const cards = await page.$$eval('#photos .photo .key', (els) => els.map((e) => e.textContent));
  assert.ok(cards.includes('cups.jpg') && cards.includes('nature/ladybird.jpg'));
  fs.mkdirSync(path.join(ROOT, 'target'), { recursive: true });
  await page.screenshot({ path: path.join(ROOT, 'target/edge-preview.png'), fullPage: true });
  assert.deepEqual(consoleErrors.filter((e) => !/status of 4\d\d/.test(e)), []);
});
