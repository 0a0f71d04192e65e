/**
 * Rules of the code that a reviewer should not have to check by eye: every
 * file of src/ stays under MAX_LINES, imports form no cycle (type imports
 * count: a cycle of types is still a cycle of concepts), nothing in src/
 * throws a plain Error (IsosyncError with a stable code, src/core/errors.ts),
 * and the pure cores read no clock, no randomness and no I/O module (their
 * callers inject `now` and `random`). Reads the TypeScript sources as text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { ROOT } from '../helpers/env.js';

const SRC = join(ROOT, 'src');
/** A module of one job fits on a few screens. */
const MAX_LINES = 400;

/**
 * The pure cores: decisions with table tests. Clocks, randomness and I/O
 * reach them only as arguments.
 */
const PURE_CORES = [
  'core/span.ts',
  'core/ids.ts',
  'core/errors.ts',
  'core/warnings.ts',
  'core/idle-cores.ts',
  'store/write-batches.ts',
  'engine/block.ts',
  'engine/request-book.ts',
  'engine/scheduler.ts',
  'engine/health.ts',
  'engine/piece-picker.ts',
  'engine/look-ahead.ts',
  'engine/wants.ts',
  'engine/range-port.ts',
  'webseed/http-ranges.ts',
  'webseed/block-filler.ts',
  'swarm/availability.ts',
  'swarm/upload-queue.ts',
  'swarm/super-seed.ts',
  'swarm/choker.ts',
  'delta/plan.ts',
  'delta/plan-inputs.ts',
  'delta/sure-bytes.ts',
  'delta/rolling-hash.ts',
];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const files = sources(SRC);
const text = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
const rel = (f: string) => relative(SRC, f);

/** Comments and string contents removed, so a rule is not tripped by prose. */
function code(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1')
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''");
}

test(`no source file in src/ has more than ${MAX_LINES} lines`, () => {
  const long = files.map((f) => [rel(f), text.get(f)!.split('\n').length] as const).filter(([, n]) => n > MAX_LINES);
  assert.deepEqual(long, []);
});

test('no import cycle in src/ (type imports included)', () => {
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps: string[] = [];
    for (const m of text.get(f)!.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'(\.[^']+)'/gm)) deps.push(normalize(join(dirname(f), m[1]!.replace(/\.js$/, '.ts'))));
    graph.set(f, deps);
  }
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]): void => {
    state.set(f, 'open');
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') cycles.push([...path.slice(path.indexOf(d)), d].map(rel).join(' -> '));
      else if (!state.has(d)) visit(d, [...path, d]);
    }
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f, [f]);
  assert.deepEqual(cycles, []);
});

test('nothing in src/ throws a plain Error, RangeError or TypeError (one error hierarchy: IsosyncError)', () => {
  const found = files.flatMap((f) => [...code(text.get(f)!).matchAll(/\bnew (Error|RangeError|TypeError)\(/g)].map(() => rel(f)));
  assert.deepEqual(found, []);
});

test('the pure cores read no clock, no randomness and no I/O module', () => {
  for (const core of PURE_CORES) assert.ok(text.has(join(SRC, core)), `${core} is listed as a pure core but does not exist`);
  const found = PURE_CORES.flatMap((core) => {
    const src = text.get(join(SRC, core))!;
    const body = code(src);
    const hits = [...body.matchAll(/\b(Math\.random|Date\.now|performance\.now|setTimeout|setInterval|setImmediate)\b/g)].map((m) => m[1]!);
    hits.push(...[...src.matchAll(/from\s+'(node:[^']+)'/g)].map((m) => m[1]!));
    return hits.map((h) => `${core}: ${h}`);
  });
  assert.deepEqual(found, []);
});
