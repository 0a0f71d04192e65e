/**
 * Per-16 KiB verification (delta/block-verify.ts): which blocks of a piece
 * filled from local guesses are kept, fetched whole, or checked once their
 * gaps arrive; and the count of guessed-right bytes that were fetched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockPlan, blocksOf, guessedRight, wrongBlockFetch, wrongBlockSamples } from '../../src/delta/block-verify.js';
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

  it('keeps the right blocks, names the wrong ones, fetches the uncovered ones whole and the gaps of partly covered ones', () => {
    const buf = truth.slice();
    buf[B + 5]! ^= 1; // block 1 guessed wrong
    // Covered: blocks 0 and 1 wholly, block 2 from 4 KiB on, block 3 not at all.
    const covered = [{ start: span.start, end: span.start + 2 * B }, at(2, 4096)];
    const plan = blockPlan(buf, span, covered, leaves);
    assert.deepEqual(plan.verified, [at(0)]);
    assert.deepEqual(plan.wrong, [at(1)]);
    assert.deepEqual(plan.fetch, [at(2, 0, 4096), at(3)]);
    assert.deepEqual(plan.partial, [at(2)]);
  });

  it('samples a wrong block segment by segment and fetches only what no two agreeing samples vouch for', () => {
    // Block 1 holds the end of an exact segment (its first 1 KiB, never sampled) and a changed compressed block
    // guessed from the old one: its first bytes (a rewritten header) differ, then it agrees up to 9 KiB in, then differs.
    const b = at(1);
    const changed = { start: b.start + 1024, end: b.end + 5000 };
    const guess = truth.slice();
    const o = (x: number) => x - span.start;
    for (let i = o(changed.start); i < o(changed.start) + 6; i++) guess[i]! ^= 0xff;
    for (let i = o(b.start + 9 * 1024); i < o(b.end); i++) guess[i]! ^= 0x5a;
    const samples = wrongBlockSamples([b], [changed]);
    assert.equal(samples[0]!.start, changed.start, 'a sample at the segment start');
    assert.equal(samples.at(-1)!.end, b.end, 'and one at the block end');
    assert.ok(samples.every((s) => s.end - s.start === 64));
    const agrees = (s: { start: number; end: number }) => Buffer.compare(guess.subarray(o(s.start), o(s.end)), truth.subarray(o(s.start), o(s.end))) === 0;
    const fetch = wrongBlockFetch([b], [changed], agrees);
    const fetched = fetch.reduce((n, s) => n + s.end - s.start, 0);
    // Kept: the exact 1 KiB and the agreeing prefix after the header sample; fetched: that sample and the rest from the turn on.
    assert.equal(fetch[0]!.start, changed.start, 'the header sample');
    assert.ok(fetched >= 64 + 7 * 1024 && fetched <= 64 + 2048 + 7 * 1024, `fetched ${fetched} bytes of a 16 KiB block`);
    const filled = guess.slice();
    for (const s of fetch) filled.set(truth.subarray(o(s.start), o(s.end)), o(s.start));
    assert.equal(Buffer.compare(filled.subarray(o(b.start), o(b.end)), truth.subarray(o(b.start), o(b.end))), 0, 'the block is then right');
    // A margin fetches more before each turn; a block with no guessed byte is fetched whole.
    assert.ok(wrongBlockFetch([b], [changed], agrees, 4096).reduce((n, s) => n + s.end - s.start, 0) > fetched);
    assert.deepEqual(wrongBlockFetch([b], [], agrees), [b]);
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
