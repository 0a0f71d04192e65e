import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileTable, FileTableBuilder, type FileInit } from '../../src/layouts/file-table.js';
import { entrySignature } from '../../src/layouts/layout.js';
import { PathHasher, PathUnits, samePath, sameSignature, sigHash } from '../../src/layouts/entry-keys.js';
import { hash30, HashIndex } from '../../src/delta/string-index.js';

/** A deterministic sequence (a linear congruential generator). */
function rng(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

const NAMES = ['a', 'b', 'a-b', 'a.b', 'lib', 'lib64', 'x86_64-linux-gnu', 'é', '\u{1f600}', 'a/b'.replace('/', '_')];

/** A tree built by parent index, as the readers build theirs, and the same paths as a table of whole paths. */
function tables(seed: number): [FileTable, FileTable] {
  const r = rng(seed);
  const b = new FileTableBuilder();
  const dirs = [b.add(-1, '/', { type: 'dir', size: 0 })];
  const paths = new Map<number, string>([[dirs[0]!, '/']]);
  const flat: { path: string; f: FileInit }[] = [];
  for (let i = 0; i < 300; i++) {
    const p = dirs[Math.floor(r() * dirs.length)]!;
    const name = `${NAMES[Math.floor(r() * NAMES.length)]}${Math.floor(r() * 4)}`;
    const path = paths.get(p) === '/' ? `/${name}` : `${paths.get(p)}/${name}`;
    const dir = r() < 0.2;
    const chunks = Array.from({ length: Math.floor(r() * 3) * 2 }, (_, k) => k * 100 + (k % 2 === 1 ? Math.floor(r() * 3) + 1 : 0));
    const f: FileInit = dir
      ? { type: 'dir', size: 0 }
      : { type: 'file', size: Math.floor(r() * 4), chunks, ...(r() < 0.3 ? { tail: { block: 0, offset: 0, length: Math.floor(r() * 2) + 1 } } : {}), ...(r() < 0.5 && chunks.length > 0 ? { las: chunks.filter((_, k) => k % 2 === 0).map(() => Math.floor(r() * 2)) } : r() < 0.2 ? { evidence: 'odd.' + Math.floor(r() * 2) } : {}) };
    const at = b.add(p, name, f);
    paths.set(at, path);
    flat.push({ path, f });
    if (dir) dirs.push(at);
  }
  // The same entries by whole path, none of their directories added: each name is its whole path.
  return [b.finish(), FileTable.of(flat.map(({ path, f }) => ({ ...f, path, chunks: f.chunks ?? [] })).filter((f) => f.type !== 'dir'))];
}

test('paths are hashed and compared on the columns exactly as their strings', () => {
  for (const seed of [1, 2, 3]) {
    const [a, b] = tables(seed);
    const ha = new PathHasher(a);
    const hb = new PathHasher(b);
    for (let i = 0; i < a.count; i++) assert.equal(ha.hash(i), hash30(a.path(i)), a.path(i));
    for (let j = 0; j < b.count; j++) assert.equal(hb.hash(j), hash30(b.path(j)), b.path(j));
    let equal = 0;
    for (let i = 0; i < a.count; i++) {
      for (let j = 0; j < b.count; j++) {
        const same = a.path(i) === b.path(j);
        if (same) equal++;
        assert.equal(samePath(a, i, b, j), same, `${a.path(i)} / ${b.path(j)}`);
      }
    }
    assert.ok(equal > 100);
  }
});

test('path units are each path reversed, the same from a tree of names and from a table of whole paths', () => {
  for (const seed of [1, 2]) {
    const [a, b] = tables(seed);
    const w = new PathUnits();
    // Written after a few units of something else: where they start must not matter.
    const units = (t: FileTable, i: number) => String.fromCharCode(...w.units.subarray(3, w.write(t, i, 3)));
    for (const t of [a, b]) for (let i = 0; i < t.count; i++) assert.equal(units(t, i), [...t.path(i)].reverse().join('').replace(/[\ud800-\udfff]{2}/g, (x) => x[1]! + x[0]!), t.path(i));
  }
});

test('path units are the same whatever entry and table were written before (the parent kept from the last entry)', () => {
  // Two trees of different paths: entry k of one is not entry k of the other.
  const [a] = tables(3);
  const [b] = tables(6);
  const w = new PathUnits();
  const expect = (t: FileTable, i: number) => [...t.path(i)].reverse().join('').replace(/[\ud800-\udfff]{2}/g, (x) => x[1]! + x[0]!);
  // Siblings in a row, then jumps back and forth between the tables and across the tree, from shuffled starts.
  const order: [FileTable, number][] = [];
  for (let i = 0; i < a.count; i++) order.push([a, i], [b, (i * 7) % b.count], [a, a.count - 1 - i], [a, i]);
  let at = 0;
  for (const [t, i] of order) {
    at = (at + 5) % 17;
    assert.equal(String.fromCharCode(...w.units.subarray(at, w.write(t, i, at))), expect(t, i), t.path(i));
  }
});

test('signatures are hashed and compared on the columns as their strings are', () => {
  const [a] = tables(4);
  const [b] = tables(5);
  let equal = 0;
  for (let i = 0; i < a.count; i++) {
    for (let j = 0; j < b.count; j++) {
      const same = entrySignature(a, i) === entrySignature(b, j);
      if (same) {
        equal++;
        assert.equal(sigHash(a, i), sigHash(b, j));
      }
      assert.equal(sameSignature(a, i, b, j), same, `${entrySignature(a, i)} / ${entrySignature(b, j)}`);
    }
  }
  assert.ok(equal > 100);
});

test('a hash index finds entries by key, the last or the first of equal keys, and tells equal hashes apart', () => {
  const keys = ['/a', '/b', '/a', '/c', '/b', '/d'];
  // Every key under one hash: only the keys tell them apart; and more entries than announced (the index grows).
  const last = new HashIndex(2);
  const first = new HashIndex(2);
  keys.forEach((k, i) => {
    last.set(7, i, (j) => keys[j] === k);
    first.set(7, i, (j) => keys[j] === k, true);
  });
  const find = (x: HashIndex, k: string) => x.get(7, (j) => keys[j] === k);
  assert.deepEqual(['/a', '/b', '/c', '/d', '/e'].map((k) => find(last, k)), [2, 4, 3, 5, undefined]);
  assert.deepEqual(['/a', '/b', '/c', '/d', '/e'].map((k) => find(first, k)), [0, 1, 3, 5, undefined]);
  assert.equal(last.get(8, () => true), undefined);
});
