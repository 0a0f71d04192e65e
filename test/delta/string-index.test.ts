import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash30, HashIndex, SortedHashIndex, StringIndex } from '../../src/delta/string-index.js';

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

test('a sorted hash index finds what a hash index finds: the last or the first of equal keys, equal hashes told apart', () => {
  // 3,000 entries of 400 keys under 40 hashes (many keys per hash, many entries per key), hashes up to 2^30 - 1.
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const hashOfKey = Array.from({ length: 400 }, (_, k) => (k % 40 === 0 ? 2 ** 30 - 1 : (k % 40) * 977_131));
  const keys = Array.from({ length: 3000 }, () => rand(400));
  for (const keepFirst of [false, true]) {
    // Fewer slots than entries announced: the sorted index grows.
    const hashIndex = new HashIndex(10);
    const sorted = new SortedHashIndex(10, keepFirst);
    keys.forEach((k, i) => {
      // Some entries left out (as files without data are).
      if (i % 7 === 3) return;
      hashIndex.set(hashOfKey[k]!, i, (j) => keys[j] === k, keepFirst);
      sorted.add(hashOfKey[k]!, i);
    });
    let found = 0;
    for (let k = 0; k < 410; k++) {
      const h = hashOfKey[k] ?? 5;
      const want = hashIndex.get(h, (j) => keys[j] === k);
      assert.equal(sorted.get(h, (j) => keys[j] === k), want, `key ${k}, keepFirst ${keepFirst}`);
      if (want !== undefined) found++;
    }
    assert.ok(found > 300, `${found} keys found`);
    assert.equal(sorted.get(123, () => true), undefined, 'a hash no entry has');
  }
});
