import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MappingSet } from '../../src/delta/mapping-set.js';

describe('mapping set', () => {
  test('holds what a map of key-string sets holds, through growth, shared offsets and offsets past 2^32', () => {
    let x = 7;
    const next = (n: number) => (x = (x * 1103515245 + 12345) % 2 ** 31) % n;
    const set = new MappingSet();
    const ref = new Map<number, Set<string>>();
    const offsets = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? 2 ** 32 * (1 + next(4)) + next(1 << 20) : next(1 << 24)));
    for (let i = 0; i < 20_000; i++) {
      const offset = offsets[next(offsets.length)]!;
      const source = next(3) - 2;
      const shift = (next(5) - 2) * 4096 + (i % 7 === 0 ? -0 : 0);
      const key = `${source}:${shift}`;
      const at = ref.get(offset) ?? ref.set(offset, new Set()).get(offset)!;
      const had = at.has(key);
      assert.equal(set.has(offset, source, shift), had);
      assert.equal(set.add(offset, source, shift), !had);
      at.add(key);
    }
    assert.equal(set.size, [...ref.values()].reduce((n, s) => n + s.size, 0));
    for (const offset of offsets) for (const source of [-2, -1, 0]) for (const shift of [-8192, 0, 4096, 1]) assert.equal(set.has(offset, source, shift), ref.get(offset)?.has(`${source}:${shift}`) ?? false);
  });

  test('a triple differing in one part only is not held', () => {
    const set = new MappingSet();
    set.add(1000, 0, 24);
    assert.ok(set.has(1000, 0, 24));
    assert.ok(!set.has(1001, 0, 24));
    assert.ok(!set.has(1000, 1, 24));
    assert.ok(!set.has(1000, 0, 25));
    assert.equal(set.add(1000, 0, 24), false);
    assert.equal(set.size, 1);
  });
});
