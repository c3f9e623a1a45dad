// Cold start of the Lambda@Edge wasm module in Node: load (compile + instantiate) and the first
// 600 px resize of a photo, each in a fresh process; prints the median of N runs.
// Usage: node resize-lambda/bench/cold-start.mjs PHOTO.jpg [RUNS=5] [PACKAGE_DIR=target/artifacts/edge]
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const [photo, runs = '5', dir = 'target/artifacts/edge'] = process.argv.slice(2);
if (!photo) {
  console.error('usage: node resize-lambda/bench/cold-start.mjs PHOTO.jpg [RUNS] [PACKAGE_DIR]');
  process.exit(2);
}
const child = `
  const t0 = performance.now();
  const fs = require('fs');
  const input = fs.readFileSync(${JSON.stringify(resolve(photo))});
  const t1 = performance.now();
  const wasm = require(${JSON.stringify(resolve(dir, 'resize_lambda.js'))});
  const t2 = performance.now();
  const out = wasm.resize(input, { w: 600, f: 'jpeg' });
  const t3 = performance.now();
  const again = wasm.resize(input, { w: 600, f: 'jpeg' });
  const t4 = performance.now();
  console.log(JSON.stringify({ load: t2 - t1, first: t3 - t2, warm: t4 - t3, width: out.width, height: out.height, bytes: out.data.length }));
`;
const results = [];
for (let i = 0; i < Number(runs); i++) {
  results.push(JSON.parse(execFileSync(process.execPath, ['-e', child], { encoding: 'utf8' })));
}
const median = (k) => results.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(results.length / 2)];
const { width, height, bytes } = results[0];
console.log(`${photo}: ${runs} fresh processes, output ${width}x${height} ${bytes} B`);
console.log(`median load ${median('load').toFixed(1)} ms, first resize ${median('first').toFixed(1)} ms, ` +
  `cold total ${(median('load') + median('first')).toFixed(1)} ms (warm resize ${median('warm').toFixed(1)} ms)`);
