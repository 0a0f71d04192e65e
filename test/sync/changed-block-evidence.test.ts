import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan, type LocalSegment } from '../../src/delta/plan.js';
import { BISECT, expectedPartFetch, REFINE_SPACING } from '../../src/delta/probe.js';
import { ReencodedStore } from '../../src/delta/reencoded-store.js';
import { changedBlockFetch, changedBlockTurns } from '../../src/sync/changed-block-evidence.js';
import { noise, rangeServer } from './evidence-helpers.js';

const PIECE = 32 * 1024;
const LENGTH = 6 * PIECE;

test('the plan finds where each changed block turns (one request a round for all of them) and prices each piece\'s part with the sampler', async () => {
  // Old image = target but for the changed blocks' suffixes: block A [1000, 70000) turns at 40000, block B [100000, 150000) at 100500.
  const truth = noise('target', LENGTH);
  const old = truth.slice();
  old.set(noise('oldA', 30_000), 40_000);
  old.set(noise('oldB', 49_500), 100_500);
  const src = new ReencodedStore();
  src.put(0, old);
  const seg = (start: number, end: number): LocalSegment => ({ start, end, source: 0, sourceOffset: start, reason: 'changed-block' });
  const plan = buildPlan({ length: LENGTH, pieceLength: PIECE }, [], [[seg(1000, 70_000), seg(100_000, 150_000)]]);
  const web = rangeServer(truth);
  const turns = await changedBlockTurns(plan, [src], web);
  assert.equal(turns.size, 2);
  const [a, b] = [...turns.values()];
  assert.ok(Math.abs(a! - 40_000) <= 2 * REFINE_SPACING && Math.abs(b! - 100_500) <= 2 * REFINE_SPACING, `turns ${a} ${b}`);
  assert.ok(web.requests <= BISECT.rounds, `${web.requests} requests`);
  // Priced piece by piece: each part of a block in a piece is sampled by that piece (cut at its end or not).
  const parts = (s: LocalSegment, turn: number, skip: (p: number) => boolean) => {
    let n = 0;
    for (let p = Math.floor(s.start / PIECE); p * PIECE < s.end; p++) {
      if (skip(p)) continue;
      const end = Math.min(s.end, (p + 1) * PIECE);
      n += expectedPartFetch({ ...s, start: Math.max(s.start, p * PIECE), end, sourceOffset: Math.max(s.start, p * PIECE) }, turn, end === (p + 1) * PIECE);
    }
    return n;
  };
  const [sa, sb] = [...turns.keys()];
  assert.equal(changedBlockFetch(plan, turns), parts(sa!, a!, () => false) + parts(sb!, b!, () => false));
  // Block A's first piece agrees throughout: nothing; its last part and block B nearly whole are fetched.
  assert.ok(changedBlockFetch(plan, turns) >= 70_000 - 40_000 + 150_000 - 100_500 - 2 * REFINE_SPACING);
  // Pieces done (verified while planning) are not priced again.
  const done = [false, false, true, true, true, false];
  assert.equal(changedBlockFetch(plan, turns, done), parts(sa!, a!, (p) => done[p]!) + parts(sb!, b!, (p) => done[p]!));
});
