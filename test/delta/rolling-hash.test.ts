/**
 * The matcher's block hashes (delta/rolling-hash.ts): hashWords, which reads
 * a block as 32-bit words, gives the three values hashPair gives reading it
 * byte by byte (so indexes, runs and hints are unchanged), and the rolling
 * hash rolled onto a block equals both.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BLOCK, hashPair, hashWords, LITTLE_ENDIAN, pair, roll, wordsOf } from '../../src/delta/rolling-hash.js';

/** Deterministic bytes (xorshift), with some all-zero blocks and blocks of one repeated byte. */
function bytesOf(blocks: number): Uint8Array {
  const buf = new Uint8Array(blocks * BLOCK);
  let x = 0x12345678;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  buf.fill(0, 3 * BLOCK, 4 * BLOCK); // all zero
  buf.fill(0xff, 5 * BLOCK, 6 * BLOCK); // every lane at its largest byte
  buf.fill(0, 7 * BLOCK, 8 * BLOCK - 1); // zero but its last byte
  return buf;
}

function hashesBy(f: () => void): [number, number, number] {
  f();
  return [pair[0]!, pair[1]!, pair[2]!];
}

describe('block hashes', () => {
  it('read as words, equal the byte-wise ones for every block', () => {
    const blocks = 64;
    const buf = bytesOf(blocks);
    const words = wordsOf(buf);
    if (!LITTLE_ENDIAN) {
      assert.equal(words, undefined);
      return;
    }
    assert.ok(words);
    for (let b = 0; b < blocks; b++) {
      const byBytes = hashesBy(() => hashPair(buf, b * BLOCK));
      assert.deepEqual(hashesBy(() => hashWords(words, (b * BLOCK) / 4)), byBytes, `block ${b}`);
    }
    assert.equal(hashesBy(() => hashWords(words, (3 * BLOCK) / 4))[2], 0, 'an all-zero block says so');
    assert.equal(hashesBy(() => hashWords(words, (7 * BLOCK) / 4))[2], 1, 'one non-zero byte is enough');
  });

  it('a buffer not on a word boundary is left to the byte-wise hash', () => {
    const whole = bytesOf(4);
    assert.equal(wordsOf(whole.subarray(1)), undefined);
    assert.equal(wordsOf(whole.subarray(4)) === undefined, !LITTLE_ENDIAN);
  });

  it('the rolling hash rolled onto a block equals its word-wise hash', () => {
    const buf = bytesOf(8);
    const words = wordsOf(buf);
    if (!words) return;
    hashPair(buf, 100);
    let h = pair[0]!;
    for (let at = 100; at < 2 * BLOCK; at++) h = roll(h, buf[at]!, buf[at + BLOCK]!);
    hashWords(words, (2 * BLOCK) / 4);
    assert.equal(h, pair[0]);
  });
});
