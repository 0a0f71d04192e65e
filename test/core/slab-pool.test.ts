/**
 * core/slab-pool.ts: slabs are cut again only once every hold on every block
 * cut from them is given back; spares are bounded; foreign bytes pass.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SlabPool } from '../../src/core/slab-pool.js';

/**
 * A script of pool steps, one string each: "cut NAME N" (a hold on N new bytes named NAME), "hold NAME",
 * "release NAME"; after it, which named cuts share a slab (same letter = same slab) and the pool's counts.
 */
interface Case {
  name: string;
  slab: number;
  maxSpare: number;
  steps: string[];
  /** Each cut's slab, as a letter by first appearance: "aab" = the first two share a slab, the third is another. */
  slabs: string;
  allocated: number;
  spares: number;
}

function play(c: Case): { slabs: string; pool: SlabPool } {
  const pool = new SlabPool(c.slab, c.maxSpare, (n) => new Uint8Array(n));
  const cuts = new Map<string, Uint8Array>();
  const letters = new Map<ArrayBufferLike, string>();
  let slabs = '';
  for (const step of c.steps) {
    const [op, name, n] = step.split(' ');
    if (op === 'cut') {
      const b = pool.cut(Number(n));
      cuts.set(name!, b);
      if (!letters.has(b.buffer)) letters.set(b.buffer, String.fromCharCode(97 + letters.size));
      slabs += letters.get(b.buffer);
    } else if (op === 'hold') pool.hold(cuts.get(name!)!);
    else pool.release(cuts.get(name!)!);
  }
  return { slabs, pool };
}

const CASES: Case[] = [
  { name: 'cuts fill one slab, then the next', slab: 8, maxSpare: 4, steps: ['cut x 4', 'cut y 4', 'cut z 4'], slabs: 'aab', allocated: 2, spares: 0 },
  { name: 'a slab let go whole is cut again', slab: 8, maxSpare: 4, steps: ['cut x 4', 'cut y 4', 'release x', 'release y', 'cut z 4'], slabs: 'aaa', allocated: 1, spares: 0 },
  { name: 'one block still held keeps its slab', slab: 8, maxSpare: 4, steps: ['cut x 4', 'cut y 4', 'release x', 'cut z 4'], slabs: 'aab', allocated: 2, spares: 0 },
  { name: 'a second holder keeps it after the first lets go', slab: 8, maxSpare: 4, steps: ['cut x 4', 'hold x', 'cut y 4', 'release x', 'release y', 'cut z 4'], slabs: 'aab', allocated: 2, spares: 0 },
  { name: 'the last holder letting go makes it spare', slab: 8, maxSpare: 4, steps: ['cut x 4', 'hold x', 'cut y 4', 'cut z 4', 'release x', 'release y', 'release x', 'cut w 8'], slabs: 'aaba', allocated: 2, spares: 0 },
  { name: 'the slab being cut is not spare while cuts remain in it', slab: 8, maxSpare: 4, steps: ['cut x 4', 'release x', 'cut y 4', 'cut z 4'], slabs: 'aab', allocated: 2, spares: 0 },
  { name: 'spares are bounded', slab: 4, maxSpare: 1, steps: ['cut x 4', 'cut y 4', 'cut z 4', 'release x', 'release y'], slabs: 'abc', allocated: 3, spares: 1 },
  { name: 'more than a slab is a buffer of its own, not pooled', slab: 4, maxSpare: 1, steps: ['cut x 8', 'hold x', 'release x', 'release x', 'cut y 4'], slabs: 'ab', allocated: 1, spares: 0 },
  { name: 'a release without a hold left is ignored', slab: 4, maxSpare: 2, steps: ['cut x 4', 'release x', 'release x', 'cut y 4', 'cut z 4'], slabs: 'aab', allocated: 2, spares: 0 },
];

describe('slab pool', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const { slabs, pool } = play(c);
      assert.equal(slabs, c.slabs);
      assert.equal(pool.allocated, c.allocated, 'slabs allocated');
      assert.equal(pool.spares, c.spares, 'spares left');
    });
  }

  it('ignores bytes it did not cut', () => {
    const pool = new SlabPool(8, 2, (n) => new Uint8Array(n));
    const foreign = new Uint8Array(8);
    pool.hold(foreign);
    pool.release(foreign);
    const a = pool.cut(8);
    assert.notEqual(a.buffer, foreign.buffer);
    assert.equal(pool.spares, 0);
  });
});
