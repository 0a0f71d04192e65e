import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathOrder } from '../../src/layouts/path-order.js';
import { NameList } from '../../src/layouts/name-list.js';
import { FileTable, type LayoutFile } from '../../src/layouts/file-table.js';
import { Rng } from '../helpers/random.js';

/** The order of the whole paths compared as strings (stable): what the table sorted by before. */
function byStrings(names: readonly string[], parents: readonly number[]): number[] {
  const paths: string[] = [];
  names.forEach((name, i) => {
    const p = parents[i]!;
    paths.push(p < 0 ? name : paths[p] === '/' ? `/${name}` : `${paths[p]}/${name}`);
  });
  return names.map((_, i) => i).sort((a, b) => (paths[a]! < paths[b]! ? -1 : paths[a]! > paths[b]! ? 1 : 0));
}

test('path order is the order of the joined paths as strings, with names that are prefixes of each other and characters on both sides of "/"', () => {
  const rng = new Rng(3);
  // '-' and '.' sort before '/', '0' and 'a' after it: "/a-b" < "/a/c" < "/a0".
  const alphabet = ['a', 'b', '-', '.', '0', 'é', ' ', 'ab', 'a-', 'a.'];
  for (let round = 0; round < 200; round++) {
    const names: string[] = ['/'];
    const parents: number[] = [-1];
    const dirs = [0];
    const count = 1 + rng.int(120);
    for (let i = 1; i < count; i++) {
      let name = '';
      for (let k = 0, len = 1 + rng.int(3); k < len; k++) name += alphabet[rng.int(alphabet.length)]!;
      const orphan = rng.int(30) === 0;
      names.push(orphan ? `/x/${name}` : name);
      parents.push(orphan ? -1 : dirs[rng.int(dirs.length)]!);
      if (!orphan && rng.int(3) === 0) dirs.push(i);
    }
    assert.deepEqual([...pathOrder(NameList.from(names), (i) => parents[i]!)], byStrings(names, parents), `round ${round}`);
  }
});

test('a table sorts its entries in path order and keeps each one\'s fields', () => {
  const files: LayoutFile[] = ['/', '/a', '/a/c', '/a-b', '/a0', '/a/b.txt', '/a.x'].map((path, i) => ({ path, type: i < 3 && path !== '/a/c' ? 'dir' : 'file', size: i, chunks: [] }));
  const table = FileTable.of(files, true);
  assert.deepEqual([...table].map((f) => `${f.path}:${f.size}`), ['/:0', '/a:1', '/a-b:3', '/a.x:6', '/a/b.txt:5', '/a/c:2', '/a0:4']);
});

test('small tables (sorted by joined path strings) and large ones (compared in place) come out in the same order, names holding NUL included', () => {
  const rng = new Rng(11);
  const alphabet = ['a', 'b', '-', '/x', '0', 'é', '\u0000', 'ab', 'a-', '\uffff', '\ud83d\ude00'];
  for (let round = 0; round < 100; round++) {
    const names: string[] = ['/'];
    const parents: number[] = [-1];
    const dirs = [0];
    const count = 1 + rng.int(200);
    for (let i = 1; i < count; i++) {
      let name = '';
      for (let k = 0, len = 1 + rng.int(3); k < len; k++) name += alphabet[rng.int(alphabet.length)]!.replace(round % 2 ? '\u0000' : '', 'z');
      names.push(name);
      parents.push(dirs[rng.int(dirs.length)]!);
      if (rng.int(3) === 0) dirs.push(i);
    }
    const want = byStrings(names, parents);
    assert.deepEqual([...pathOrder(NameList.from(names), (i) => parents[i]!, 0)], want, `compared, round ${round}`);
    assert.deepEqual([...pathOrder(NameList.from(names), (i) => parents[i]!)], want, `as strings, round ${round}`);
  }
});
