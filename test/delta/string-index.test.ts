import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash30, StringIndex } from '../../src/delta/string-index.js';

test('a string index finds entries by their string, the last or the first of equal strings, and nothing for other strings', () => {
  const keys = ['/usr/lib/a', '/usr/lib/b', '/usr/lib/a', 'x'];
  const last = new StringIndex((i) => keys[i]!);
  const first = new StringIndex((i) => keys[i]!);
  keys.forEach((k, i) => {
    last.set(k, i);
    first.set(k, i, true);
  });
  assert.equal(last.get('/usr/lib/a'), 2);
  assert.equal(first.get('/usr/lib/a'), 0);
  assert.equal(last.get('/usr/lib/b'), 1);
  assert.equal(last.get('/usr/lib/c'), undefined);
  assert.ok(hash30('/usr/lib/a') < 2 ** 30);
});

test('strings of equal hashes are told apart by the entries\' own strings', () => {
  // Find two strings with the same 30-bit hash (some 40,000 tries: the birthday bound).
  const seen = new Map<number, string>();
  let pair: [string, string] | undefined;
  for (let i = 0; !pair; i++) {
    const s = `k${i}`;
    const other = seen.get(hash30(s));
    if (other !== undefined) pair = [other, s];
    else seen.set(hash30(s), s);
  }
  const [a, b] = pair;
  assert.equal(hash30(a), hash30(b));
  const keys = [a, b, a, b];
  const last = new StringIndex((i) => keys[i]!);
  const first = new StringIndex((i) => keys[i]!);
  keys.forEach((k, i) => {
    last.set(k, i);
    first.set(k, i, true);
  });
  assert.deepEqual([last.get(a), last.get(b)], [2, 3]);
  assert.deepEqual([first.get(a), first.get(b)], [0, 1]);
  const one = new StringIndex((i) => [a][i]!);
  one.set(a, 0);
  assert.equal(one.get(b), undefined, 'a string of the same hash that no entry has');
});
