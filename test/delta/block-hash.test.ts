/**
 * The WebAssembly SIMD block hasher (delta/block-hash.ts) gives, for every
 * block, the rolling and second hash hashPair gives reading it byte by byte
 * (so indexes, runs and hints are unchanged), for any first block and count,
 * and 0, 0 for an all-zero block (which the index leaves out).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockHasher } from '../../src/delta/block-hash.js';
import { BLOCK, hashPair, pair } from '../../src/delta/rolling-hash.js';

/** Deterministic bytes (xorshift) into `buf`, with an all-zero block, a block of 0xff and a block zero but its last byte. */
function fill(buf: Uint8Array): void {
  let x = 0x2545f491;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  buf.fill(0, 3 * BLOCK, 4 * BLOCK);
  buf.fill(0xff, 5 * BLOCK, 6 * BLOCK);
  buf.fill(0, 7 * BLOCK, 8 * BLOCK - 1);
}

describe('blockHasher', () => {
  const hasher = blockHasher(64 * BLOCK);
  it('exists on Node 20 (WebAssembly SIMD)', () => {
    assert.ok(hasher);
  });
  const cases: { name: string; first: number; n: number }[] = [
    { name: 'every block', first: 0, n: 64 },
    { name: 'from the middle', first: 5, n: 20 },
    { name: 'one block', first: 63, n: 1 },
    { name: 'none', first: 10, n: 0 },
  ];
  for (const c of cases) {
    it(`hashes as hashPair: ${c.name}`, () => {
      fill(hasher!.buf);
      const out = hasher!.hash(c.first, c.n);
      for (let i = 0; i < c.n; i++) {
        hashPair(hasher!.buf, (c.first + i) * BLOCK);
        assert.deepEqual([out[2 * i], out[2 * i + 1]], [pair[0], pair[1]], `block ${c.first + i}`);
      }
    });
  }
  it('gives 0, 0 for an all-zero block and not for a block zero but its last byte', () => {
    fill(hasher!.buf);
    const out = hasher!.hash(3, 5);
    assert.deepEqual([out[0], out[1]], [0, 0]);
    assert.notDeepEqual([out[8], out[9]], [0, 0]);
  });
});
