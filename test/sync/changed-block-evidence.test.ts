import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan, type LocalSegment } from '../../src/delta/plan.js';
import { BISECT, lzma2ChunkHeaders, REFINE_SPACING, TURN_MARGIN } from '../../src/delta/probe.js';
import { MULTIPART_PART_BYTES } from '../../src/core/ports.js';
import { ReencodedStore } from '../../src/delta/reencoded-store.js';
import { changedBlockFetch, changedBlockTurns, expectedPartFetch } from '../../src/sync/changed-block-evidence.js';
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
  const F = MULTIPART_PART_BYTES;
  const parts = (s: LocalSegment, turn: number, skip: (p: number) => boolean) => {
    let n = 0;
    for (let p = Math.floor(s.start / PIECE); p * PIECE < s.end; p++) {
      if (skip(p)) continue;
      const end = Math.min(s.end, (p + 1) * PIECE);
      const start = Math.max(s.start, p * PIECE);
      n += expectedPartFetch({ ...s, start, end, sourceOffset: start }, turn, end === (p + 1) * PIECE, old.subarray(start, end), F);
    }
    return n;
  };
  const [sa, sb] = [...turns.keys()];
  assert.equal(await changedBlockFetch(plan, turns, [src], F), parts(sa!, a!, () => false) + parts(sb!, b!, () => false));
  // Block A's first piece agrees throughout: nothing; its last part and block B nearly whole are fetched.
  assert.ok((await changedBlockFetch(plan, turns, [src], F)) >= 70_000 - 40_000 + 150_000 - 100_500 - 2 * REFINE_SPACING);
  // Pieces done (verified while planning) are not priced again.
  const done = [false, false, true, true, true, false];
  assert.equal(await changedBlockFetch(plan, turns, [src], F, done), parts(sa!, a!, (p) => done[p]!) + parts(sb!, b!, (p) => done[p]!));
});

test('what a sync fetches for a changed block\'s part, played against a known turn', () => {
  const part = (start: number, end: number): LocalSegment => ({ start, end, source: 0, sourceOffset: start, reason: 'changed-block' });
  const F = MULTIPART_PART_BYTES;
  // [part, turn, cut at the piece's end, at least, at most]
  const table: [LocalSegment, number, boolean, number, number][] = [
    [part(0, 60_000), 60_000, false, 0, 0], // agrees throughout: its piece verifies with the guess
    [part(0, 60_000), 0, false, 60_000, 60_000 + 2 * (16 + F)], // wrong from the start: one sample, then all of it in one range
    [part(0, 60_000), 30_000, false, 30_000, 30_000 + 2 * REFINE_SPACING + TURN_MARGIN + 11 * (16 + F)], // halved to the turn
    [part(0, 32_768), 20_000, true, 12_768, 12_768 + 2 * REFINE_SPACING + TURN_MARGIN + 12 * (16 + F)],
  ];
  for (const [p, turn, cut, lo, hi] of table) {
    const n = expectedPartFetch(p, turn, cut, undefined, F);
    assert.ok(n >= lo && n <= hi, `turn ${turn} in ${p.start}-${p.end}: ${n} not in [${lo}, ${hi}]`);
  }
  // The framing is the one measured: each sample and each fetched range costs it once.
  assert.equal(expectedPartFetch(part(0, 60_000), 0, false, undefined, 2 * F) - expectedPartFetch(part(0, 60_000), 0, false, undefined, F), 2 * F);
});

test('a changed xz block\'s old bytes: its later LZMA2 chunk header before the turn is fetched apart, as a sync does', () => {
  // An xz stream: magic and flags, a 12-byte block header, a first chunk header with properties, then a second chunk
  // header at 40,000 whose compressed size ends the chunk at the block's end (delta/xz-structure.ts).
  const L = 70_000;
  const local = noise('block', L);
  local.set([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 0);
  local[12] = 2;
  local[24] = 0xe0;
  const size = L - (40_000 + 5) - 1;
  local.set([0x80, 0xff, 0xff, (size >> 8) & 0xff, size & 0xff, 0x00], 40_000);
  assert.deepEqual(lzma2ChunkHeaders(local), [{ start: 40_000, end: 40_005 }]);
  const seg: LocalSegment = { start: 0, end: L, source: 0, sourceOffset: 0, reason: 'changed-block' };
  const F = MULTIPART_PART_BYTES;
  const blind = expectedPartFetch(seg, 60_000, false, undefined, F);
  const seen = expectedPartFetch(seg, 60_000, false, local, F);
  // The chunk header's 5 bytes in a range of their own, and the first sample reaching over the block's headers.
  assert.ok(seen - blind >= 5 + F && seen - blind <= 5 + F + 64, `${seen} against ${blind}`);
  // After the turn, the chunk header is fetched with the rest of the block: nothing apart.
  const late = expectedPartFetch(seg, 30_000, false, local, F) - expectedPartFetch(seg, 30_000, false, undefined, F);
  assert.ok(late >= 0 && late <= 64, `chunk header after the turn: ${late}`);
});
