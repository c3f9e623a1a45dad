// Runs a generated CloudFront Function over viewer-request events, as CloudFront would: one
// function loaded once into a fresh V8 context (no require, no process), one event per line in,
// one JSON result per line out. Used by viewer-fn's differential test.
// Usage: node run-events.mjs FUNCTION.js EVENTS.jsonl
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const [fnPath, eventsPath] = process.argv.slice(2);
if (!fnPath || !eventsPath) {
  console.error('usage: node run-events.mjs FUNCTION.js EVENTS.jsonl');
  process.exit(2);
}
const logs = [];
const context = vm.createContext({ console: { log: (...a) => logs.push(a.join(' ')) } });
vm.runInContext(readFileSync(fnPath, 'utf8'), context, { filename: fnPath });
const handler = context.handler;
if (typeof handler !== 'function') throw new Error(`${fnPath} defines no handler()`);
const out = [];
for (const line of readFileSync(eventsPath, 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  out.push(JSON.stringify(handler(JSON.parse(line))));
}
process.stdout.write(out.join('\n') + '\n');
for (const l of logs) console.error(`function log: ${l}`);
