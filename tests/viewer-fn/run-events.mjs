// Runs a generated CloudFront Function over viewer-request events, as CloudFront would: one
// function loaded once into a fresh V8 context (no require, no process), one event per line in,
// one JSON result per line out; an async handler is awaited. Used by viewer-fn's tests.
// A signed function's `import X from "M";` lines become `var X = __sf_import("M");` (as
// viewer_fn::as_script does): `crypto` is Node's own HMAC, `cloudfront` a KeyValueStore read
// from KVS.json (CloudFront's import format).
// Usage: node run-events.mjs FUNCTION.js EVENTS.jsonl [KVS.json]
import { readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import vm from 'node:vm';

const [fnPath, eventsPath, kvsPath] = process.argv.slice(2);
if (!fnPath || !eventsPath) {
  console.error('usage: node run-events.mjs FUNCTION.js EVENTS.jsonl [KVS.json]');
  process.exit(2);
}
const store = new Map((kvsPath ? JSON.parse(readFileSync(kvsPath, 'utf8')).data : []).map((e) => [e.key, e.value]));
const modules = {
  crypto: { createHmac: (alg, key) => createHmac(alg, key) },
  cloudfront: {
    kvs: () => ({
      get: async (k) => {
        if (!store.has(k)) throw new Error(`key not found: ${k}`);
        return store.get(k);
      },
    }),
  },
};
const logs = [];
const context = vm.createContext({
  console: { log: (...a) => logs.push(a.join(' ')) },
  __sf_import: (m) => modules[m],
});
const source = readFileSync(fnPath, 'utf8').replace(/^import (\w+) from ("[^"]+");$/gm, 'var $1 = __sf_import($2);');
vm.runInContext(source, context, { filename: fnPath });
const handler = context.handler;
if (typeof handler !== 'function') throw new Error(`${fnPath} defines no handler()`);
const out = [];
for (const line of readFileSync(eventsPath, 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  out.push(JSON.stringify(await handler(JSON.parse(line))));
}
process.stdout.write(out.join('\n') + '\n');
for (const l of logs) console.error(`function log: ${l}`);
