// Syntax gate for the generated CloudFront Function: only what cloudfront-js-2.0 documents.
// acorn parses the file; an allow-list walk over the AST refuses everything newer than ES5.1 except
// the features the runtime lists (const/let, arrow functions, template literals, rest parameters,
// `**`, async/await), and refuses `?.`, `??` and friends by name.
// Files: $SCALEFRONT_VIEWER_FNS (colon-separated), default viewer-fn/generated/viewer-request.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import vm from 'node:vm';
import * as acorn from 'acorn';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const files = (process.env.SCALEFRONT_VIEWER_FNS ||
  ['viewer-request.js', 'viewer-request-signed.js'].map((f) => path.join(root, 'viewer-fn/generated', f)).join(':'))
  .split(':')
  .filter(Boolean);
const MAX_BYTES = 10 * 1024;

const ES5_ASSIGN = new Set(['=', '+=', '-=', '*=', '/=', '%=', '<<=', '>>=', '>>>=', '&=', '^=', '|=']);
// Globals the runtime does not have, or that mean dynamic code.
const DENIED_NAMES = new Set([
  'eval', 'Function', 'require', 'process', 'globalThis', 'setTimeout', 'setInterval', 'setImmediate',
  'fetch', 'Proxy', 'Reflect', 'Symbol', 'Map', 'Set', 'WeakMap', 'WeakSet', 'BigInt', 'Intl', 'XMLHttpRequest',
]);

// Node type → check (returns an error string or undefined). Types not listed are refused.
const ALLOWED = {
  Program: () => {},
  ExpressionStatement: () => {},
  BlockStatement: () => {},
  EmptyStatement: () => {},
  IfStatement: () => {},
  ForStatement: () => {},
  ForInStatement: () => {},
  WhileStatement: () => {},
  DoWhileStatement: () => {},
  ReturnStatement: () => {},
  BreakStatement: () => {},
  ContinueStatement: () => {},
  ThrowStatement: () => {},
  TryStatement: () => {},
  CatchClause: (n) => (n.param ? undefined : 'catch without a binding (ES2019)'),
  SwitchStatement: () => {},
  SwitchCase: () => {},
  LabeledStatement: () => {},
  VariableDeclaration: () => {},
  VariableDeclarator: (n) => (n.id.type === 'Identifier' ? undefined : 'destructuring'),
  FunctionDeclaration: (n) => fn(n, true),
  FunctionExpression: (n) => fn(n, false),
  ArrowFunctionExpression: (n) => fn(n, false),
  Identifier: (n) => (DENIED_NAMES.has(n.name) ? `${n.name} is not available in CloudFront Functions` : undefined),
  Literal: (n) => {
    if (n.bigint !== undefined) return 'BigInt literal';
    if (n.regex) {
      if (!/^[gim]*$/.test(n.regex.flags)) return `regex flags ${n.regex.flags}`;
      if (/\(\?<|\\p\{|\\k</.test(n.regex.pattern)) return 'named groups, lookbehind or unicode properties in a regex';
    }
  },
  TemplateLiteral: () => {},
  TemplateElement: () => {},
  ArrayExpression: (n) => (n.elements.some((e) => e === null) ? 'array holes' : undefined),
  ObjectExpression: () => {},
  Property: (n) => {
    if (n.computed) return 'computed property name';
    if (n.shorthand) return 'shorthand property';
    if (n.method) return 'method shorthand';
    if (n.kind !== 'init') return 'getter/setter';
  },
  UnaryExpression: () => {},
  UpdateExpression: () => {},
  BinaryExpression: () => {},
  LogicalExpression: (n) => (n.operator === '??' ? 'nullish coalescing ??' : undefined),
  AssignmentExpression: (n) => {
    if (!ES5_ASSIGN.has(n.operator)) return `assignment operator ${n.operator}`;
    if (n.left.type !== 'Identifier' && n.left.type !== 'MemberExpression') return 'destructuring assignment';
  },
  ConditionalExpression: () => {},
  CallExpression: (n) => (n.optional ? 'optional call ?.()' : undefined),
  NewExpression: () => {},
  MemberExpression: (n) => (n.optional ? 'optional chaining ?.' : undefined),
  SequenceExpression: () => {},
  ThisExpression: () => {},
  RestElement: () => {},
  AwaitExpression: () => {},
  // The module form (a signed function): default imports of the runtime's own modules only.
  ImportDeclaration: (n) => (['crypto', 'cloudfront'].includes(n.source.value) && n.specifiers.length === 1 ? undefined : `import of ${n.source.value}`),
  ImportDefaultSpecifier: () => {},
};

function fn(n, declaration) {
  if (n.generator) return 'generator function';
  if (n.async && !declaration) return 'async arrow or function expression (closures are not supported)';
  for (const p of n.params) {
    if (p.type === 'RestElement' && p.argument.type === 'Identifier') continue;
    if (p.type !== 'Identifier') return `parameter of type ${p.type} (defaults/destructuring)`;
  }
}

// Every refusal, as "line:col what".
export function refusals(src) {
  let ast;
  try {
    const sourceType = /^import /m.test(src) ? 'module' : 'script';
    ast = acorn.parse(src, { ecmaVersion: 2022, sourceType, locations: true });
  } catch (e) {
    return [`does not parse: ${e.message}`];
  }
  const out = [];
  const walk = (node, parent) => {
    if (!node || typeof node.type !== 'string') return;
    const check = ALLOWED[node.type];
    const at = `${node.loc.start.line}:${node.loc.start.column}`;
    if (!check) out.push(`${at} ${node.type} is newer than cloudfront-js-2.0`);
    else {
      const why = check(node, parent);
      if (why) out.push(`${at} ${why}`);
    }
    if (node.type === 'RestElement' && !['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression'].includes(parent?.type)) {
      out.push(`${at} rest outside a parameter list`);
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === 'loc') continue;
      if (Array.isArray(value)) value.forEach((v) => walk(v, node));
      else if (value && typeof value === 'object') walk(value, node);
    }
  };
  walk(ast, null);
  if (!ast.body.some((s) => s.type === 'FunctionDeclaration' && s.id.name === 'handler')) out.push('no top-level function handler');
  return out;
}

for (const file of files) {
  const src = readFileSync(file, 'utf8');
  test(`${path.relative(root, file)}: only cloudfront-js-2.0 syntax`, () => {
    assert.deepEqual(refusals(src), []);
  });
  test(`${path.relative(root, file)}: at most 10 KB (${Buffer.byteLength(src)} bytes)`, () => {
    assert.ok(Buffer.byteLength(src) <= MAX_BYTES);
  });
  test(`${path.relative(root, file)}: runs in a fresh context and answers a request`, async () => {
    // A signed function's imports, from an empty store: the request is refused, not crashed on.
    const modules = { crypto: await import('node:crypto'), cloudfront: { kvs: () => ({ get: async (k) => { throw new Error(`no ${k}`); } }) } };
    const ctx = vm.createContext({ console, __sf_import: (m) => modules[m] });
    vm.runInContext(src.replace(/^import (\w+) from ("[^"]+");$/gm, 'var $1 = __sf_import($2);'), ctx);
    const event = { version: '1.0', request: { method: 'GET', uri: '/a.jpg', querystring: { w: { value: '600' } }, headers: {} } };
    const out = await ctx.handler(event);
    if (/^import /m.test(src)) {
      assert.equal(out.statusCode, 403);
      return;
    }
    assert.equal(typeof out.uri, 'string');
    assert.match(out.uri, /\/g[0-9a-f]{7}\/w\d+-h0-/);
    assert.deepEqual(Object.keys(out.querystring), []);
  });
}

// The gate itself must be able to fail: each of these is refused.
const REFUSED = {
  'optional chaining': 'function handler(e) { return e?.request; }',
  'optional call': 'function handler(e) { return e.f?.(); }',
  'nullish coalescing': 'function handler(e) { return e ?? 1; }',
  'logical assignment': 'function handler(e) { e.a ??= 1; e.b ||= 2; return e; }',
  class: 'class A {} function handler(e) { return e; }',
  spread: 'function handler(e) { return [...e]; }',
  'object spread': 'function handler(e) { return {...e}; }',
  destructuring: 'function handler(e) { var {request} = e; return request; }',
  'default parameter': 'function handler(e = 1) { return e; }',
  'for-of': 'function handler(e) { for (var x of e) {} return e; }',
  generator: 'function* g() {} function handler(e) { return e; }',
  'shorthand property': 'function handler(e) { return {e}; }',
  'computed key': 'function handler(e) { return {[e]: 1}; }',
  'tagged template': 'function handler(e) { return String.raw`x`; }',
  'regex named group': 'function handler(e) { return /(?<x>a)/.test(e); }',
  'regex sticky/unicode flags': 'function handler(e) { return /a/u.test(e); }',
  'optional catch binding': 'function handler(e) { try {} catch {} return e; }',
  eval: 'function handler(e) { return eval("e"); }',
  'BigInt literal': 'function handler(e) { return 1n; }',
  'missing handler': 'function main(e) { return e; }',
  'syntax error': 'function handler(e) { return ; ; )',
  'import of another module': 'import fs from "fs"; function handler(e) { return e; }',
  'named import': 'import { createHmac } from "crypto"; function handler(e) { return e; }',
};
for (const [what, src] of Object.entries(REFUSED)) {
  test(`gate refuses ${what}`, () => {
    assert.notDeepEqual(refusals(src), [], src);
  });
}

test('gate accepts the documented features', () => {
  const ok = 'const a = 1; let b = `x${a}`; var f = (x, ...rest) => x ** 2 + rest.length;' +
    'async function handler(e) { for (var k in e) { if (k) continue; } return f(a) + b; }';
  assert.deepEqual(refusals(ok), []);
});
