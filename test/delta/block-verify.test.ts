/**
 * Per-16 KiB verification (delta/block-verify.ts): which blocks of a piece
 * filled from local guesses are kept, fetched whole, or checked once their
 * gaps arrive; and the count of guessed-right bytes that were fetched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockPlan, blocksOf, guessedRight } from '../../src/delta/block-verify.js';
import { leafHashes, MERKLE_BLOCK_BYTES as B } from '../../src/torrent/merkle.js';
import { Rng } from '../helpers/random.js';

// A piece of 3 whole blocks and a short fourth, at target offset 10 blocks.
const span = { start: 10 * B, end: 13 * B + 1000 };
const truth = new Rng(52).bytes(span.end - span.start);
const leaves = leafHashes(truth);
const at = (i: number, from = 0, to = B) => ({ start: span.start + i * B + from, end: Math.min(span.end, span.start + i * B + to) });

describe('per-16 KiB verification of guesses', () => {
  it('cuts a piece into 16 KiB blocks from its start, the last one short', () => {
    assert.deepEqual(blocksOf(span), [at(0), at(1), at(2), at(3)]);
  });

  it('keeps the right blocks, fetches the wrong and the uncovered ones whole, and the gaps of partly covered ones', () => {
    const buf = truth.slice();
    buf[B + 5]! ^= 1; // block 1 guessed wrong
    // Covered: blocks 0 and 1 wholly, block 2 from 4 KiB on, block 3 not at all.
    const covered = [{ start: span.start, end: span.start + 2 * B }, at(2, 4096)];
    const plan = blockPlan(buf, span, covered, leaves);
    assert.deepEqual(plan.verified, [at(0)]);
    // Block 1 whole and block 2's gap touch: one range; then block 3.
    assert.deepEqual(plan.fetch, [{ start: at(1).start, end: at(2, 0, 4096).end }, at(3)]);
    assert.deepEqual(plan.partial, [at(2)]);
  });

  it('counts fetched guessed bytes by block: a block with one wrong byte counts nothing', () => {
    const guess = truth.slice();
    guess[2 * B + 7]! ^= 1; // block 2 guessed wrong
    const guessed = [{ start: span.start, end: span.start + 3 * B }];
    // The whole piece fetched (its hash failed): blocks 0 and 1 were right.
    assert.equal(guessedRight(truth, guess, span, guessed, [span]), 2 * B);
    // Only the wrong block fetched: nothing right was fetched.
    assert.equal(guessedRight(truth, guess, span, guessed, [at(2)]), 0);
    // A sample of half of block 0: its half counts.
    assert.equal(guessedRight(truth, guess, span, guessed, [at(0, 0, B / 2)]), B / 2);
  });
});
