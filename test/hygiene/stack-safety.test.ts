/**
 * Stack safety of src/: no call spreads an array into arguments
 * (`push(...x)`, `Math.max(...x)`, `String.fromCharCode(...x)`, `new X(...x)`,
 * `f.apply(o, x)`: each argument takes a stack slot, and ~125,000 of them
 * overflow V8's stack), and no function calls itself unless it is listed
 * below with the reason its depth is bounded whatever the input.
 *
 * The checks read the TypeScript sources with a small tokenizer
 * (stack-scan.ts); its own behaviour is tested first, so a check that
 * passes is a check that could have failed.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/env.js';
import { selfCalls, spreadCalls } from './stack-scan.js';

/** Functions that call themselves by name, and why their depth is bounded. Keyed `file:function`. */
const BOUNDED_RECURSION: Record<string, string> = {
  'src/torrent/bencode-encode.ts:write': 'nesting of a value isosync builds itself, refused past MAX_ENCODE_DEPTH (256)',
  'src/sync/remote-target.ts:fetchUrl': 'one call per HTTP redirect, at most 5',
  'src/feed/http-get.ts:get': 'one call per HTTP redirect, at most MAX_REDIRECTS (5), from the response callback',
  'src/swarm/pex-extension.ts:send': 'called again from a timer, not from itself on the stack',
  'src/serve/server.ts:walk': 'async, awaiting readdir before each level, so the stack unwinds between levels; depth is the served folder depth',
  'src/sync/sources.ts:walk': 'async, awaiting readdir before each level, so the stack unwinds between levels; depth is the --source folder depth',
  'src/swarm/rate-limit.ts:drain': 'called again from a timer, not from itself on the stack',
  'src/tracker/client.ts:kick': 'called again from a promise callback, not from itself on the stack',
  'src/store/verify-worker.ts:pump': 'called again from a write\'s completion callback, not from itself on the stack',
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

test('the scanner finds call spreads and .apply, and ignores array/object spreads, rest parameters, comments and strings', () => {
  const found = (code: string) => spreadCalls(code).map((s) => `${s.callee}<${s.argument}`);
  assert.deepEqual(found('out.push(...peers);'), ['out.push<peers']);
  assert.deepEqual(found('const w = Math.max(4, ...rows.map((r) => r.length));'), ['Math.max<rows']);
  assert.deepEqual(found('x = String.fromCharCode(...b.subarray(0, n)) + new Set<number>(...a).size;'), ['String.fromCharCode<b', 'new Set<a']);
  assert.deepEqual(found('f(a)(...more); list.push(...(await walk()).metadata);'), ['f(...)<more', 'list.push<(']);
  assert.deepEqual(found('Math.min.apply(null, values);'), ['Math.min.apply<null']);
  assert.deepEqual(found('const a = [...x, ...y]; const o = { ...p }; g([...z]);'), []);
  assert.deepEqual(found('function f(...args: number[]) { return g(...args); }'), []);
  assert.deepEqual(found('const h = (...args) => inner(...args);'), []);
  assert.deepEqual(found('class C { m(...rest: T[]): void { this.n(...rest); } }'), []);
  assert.deepEqual(found('// out.push(...x)\n/* Math.max(...y) */ s = "push(...z)"; t = `${a}push(...b)`; r = /\\(\\.\\.\\.x\\)/;'), []);
  assert.deepEqual(found('t = `${out.push(...inside)}`;'), ['out.push<inside']);
});

test('the scanner finds functions that call themselves, not callers of a same-named method', () => {
  const names = (code: string) => selfCalls(code).map((s) => s.name);
  assert.deepEqual(names('function visit(n) { for (const c of n.kids) visit(c); }'), ['visit']);
  assert.deepEqual(names('const walk = async (d: string): Promise<void> => { await walk(d); };'), ['walk']);
  assert.deepEqual(names('const f = (n: number): number => (n ? f(n - 1) : 0);'), ['f']);
  assert.deepEqual(names('class A { private go(x: number): void { if (x) this.go(x - 1); } }'), ['go']);
  assert.deepEqual(names('function read(s) { return s.read(1); } class B { write(b) { this.sink.write(b); } }'), []);
  assert.deepEqual(names('function a() { return 1; } function b() { return a(); }'), []);
  // A function-typed return type is not an arrow body: the caller after it is not inside.
  assert.deepEqual(names('function t(p): (d: string) => boolean { return (d) => d === p; }\nconst x = t(1);'), []);
});

test('no call in src/ spreads an array into its arguments', () => {
  const sites: string[] = [];
  for (const file of sources(join(ROOT, 'src'))) {
    for (const s of spreadCalls(readFileSync(file, 'utf8'))) sites.push(`${relative(ROOT, file)}:${s.line} ${s.callee}(${s.how === 'apply' ? '.apply' : '...'}${s.argument})`);
  }
  assert.deepEqual(sites, [], 'use a loop (for ... push), reduce, or concat instead');
});

test('every function in src/ that calls itself is bounded, and listed with the bound', () => {
  const found = new Set<string>();
  for (const file of sources(join(ROOT, 'src'))) {
    for (const s of selfCalls(readFileSync(file, 'utf8'))) found.add(`${relative(ROOT, file)}:${s.name}`);
  }
  const unlisted = [...found].filter((k) => !(k in BOUNDED_RECURSION));
  assert.deepEqual(unlisted, [], 'recursion proportional to input size overflows on large input: use an explicit stack, or list the bound here');
  const stale = Object.keys(BOUNDED_RECURSION).filter((k) => !found.has(k));
  assert.deepEqual(stale, [], 'entries of BOUNDED_RECURSION that no longer recurse');
});
