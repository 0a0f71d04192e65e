import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MULTIPART_PART_BYTES } from '../../src/core/ports.js';
import { buildPlan, ZERO_SOURCE, type LocalSegment } from '../../src/delta/plan.js';
import { ReencodedStore } from '../../src/delta/reencoded-store.js';
import { changedBlockTurns } from '../../src/sync/changed-block-evidence.js';
import { inPlaceChanges } from '../../src/sync/in-place-evidence.js';
import { localVerdicts, measuredFetch } from '../../src/sync/piece-evidence.js';
import { pieceCheckOf } from '../../src/torrent/piece-check.js';
import { noise, rangeServer } from './evidence-helpers.js';

const PIECE = 32 * 1024;
const LENGTH = 8 * PIECE;

function checkOf(truth: Uint8Array) {
  const pieces = new Uint8Array(20 * (LENGTH / PIECE));
  for (let p = 0; p < LENGTH / PIECE; p++) pieces.set(createHash('sha1').update(truth.subarray(p * PIECE, (p + 1) * PIECE)).digest(), 20 * p);
  return pieceCheckOf({ length: LENGTH, pieceLength: PIECE, pieces });
}

test('an uncompressed guess that agrees again after a change: the piece before the turn fails its hash locally and is priced by sampling it', async () => {
  // A changed-block guess over pieces 1-4 (uncompressed: a 4 KiB cluster changed in piece 2, then a turn in piece 4).
  const truth = noise('img', LENGTH);
  const old = truth.slice();
  old.set(noise('cluster', 4096), 2 * PIECE + 6000);
  old.set(noise('tail', 5 * PIECE - (4 * PIECE + 9000)), 4 * PIECE + 9000);
  const src = new ReencodedStore();
  src.put(0, old);
  const seg: LocalSegment = { start: PIECE, end: 5 * PIECE, source: 0, sourceOffset: PIECE, reason: 'changed-block' };
  const plan = buildPlan({ length: LENGTH, pieceLength: PIECE }, [], [[seg]]);
  const web = rangeServer(truth);
  const turns = await changedBlockTurns(plan, [src], web);
  assert.equal(turns.size, 1);
  assert.ok([...turns.values()][0]! > 3 * PIECE, 'one turn, after the changed cluster');
  const check = checkOf(truth);
  const n = await measuredFetch(plan, [src], web, { turns, inPlace: [], verdicts: await localVerdicts(plan, check, [src]), partBytes: MULTIPART_PART_BYTES });
  // Piece 4 from the turn (23,768 bytes) and piece 2's sampled share: more than both changes, less than the three pieces.
  assert.ok(n >= 5 * PIECE - (4 * PIECE + 9000) + 4096 && n < 3 * PIECE, `priced ${n}`);
  // Without the change in piece 2, that piece costs nothing.
  const clean = truth.slice();
  clean.set(noise('tail', 5 * PIECE - (4 * PIECE + 9000)), 4 * PIECE + 9000);
  const src2 = new ReencodedStore();
  src2.put(0, clean);
  const m = await measuredFetch(plan, [src2], web, { turns: await changedBlockTurns(plan, [src2], web), inPlace: [], verdicts: await localVerdicts(plan, check, [src2]), partBytes: MULTIPART_PART_BYTES });
  assert.ok(m < n - 4096, `priced ${m} against ${n}`);
});

test('a guess too short to sample, changed in place: its piece is priced as a sync drops guesses, those too short to sample first', async () => {
  // Piece 3: a 98-byte nested file with one byte changed, then zeros (guessed right) to the piece's end.
  const truth = noise('img', LENGTH);
  truth.fill(0, 3 * PIECE + 1098, 4 * PIECE);
  const old = truth.slice();
  old[3 * PIECE + 1000 + 90] = old[3 * PIECE + 1000 + 90]! ^ 1;
  const src = new ReencodedStore();
  src.put(0, old);
  const segs: LocalSegment[] = [
    { start: 0, end: 3 * PIECE + 1000, source: 0, sourceOffset: 0, reason: 'nested-file' },
    { start: 3 * PIECE + 1000, end: 3 * PIECE + 1098, source: 0, sourceOffset: 3 * PIECE + 1000, reason: 'nested-file' },
    { start: 3 * PIECE + 1098, end: 4 * PIECE, source: ZERO_SOURCE, sourceOffset: 0, reason: 'zero' },
    { start: 4 * PIECE, end: LENGTH, source: 0, sourceOffset: 4 * PIECE, reason: 'nested-file' },
  ];
  const plan = buildPlan({ length: LENGTH, pieceLength: PIECE }, [segs]);
  const web = rangeServer(truth);
  const inPlace = await inPlaceChanges(plan, [src], web);
  assert.deepEqual(inPlace, [{ start: 3 * PIECE + 1000, end: 3 * PIECE + 1098 }], 'the short block, whole');
  const n = await measuredFetch(plan, [src], web, { turns: new Map(), inPlace, partBytes: MULTIPART_PART_BYTES });
  // The 98 bytes and the samples of the piece's other guesses (the zeros after it, right, are not dropped).
  assert.ok(n >= 98 && n < 2048, `priced ${n}`);
  assert.equal(await measuredFetch(plan, [src], web, { turns: new Map(), inPlace, partBytes: MULTIPART_PART_BYTES }, [false, false, false, true]), 0, 'a piece done is not priced');
  // Unchanged: nothing found, nothing priced.
  const same = new ReencodedStore();
  same.put(0, truth);
  assert.deepEqual(await inPlaceChanges(plan, [same], web), []);
  const verdicts = await localVerdicts(plan, checkOf(truth), [same]);
  assert.equal(await measuredFetch(plan, [same], web, { turns: new Map(), inPlace: [], verdicts, partBytes: MULTIPART_PART_BYTES }), 0);
  // Its pieces pass their hashes as built locally: no block end is sampled.
  const asked = web.asked;
  assert.deepEqual(await inPlaceChanges(plan, [same], web, (k) => verdicts.get(k) === true), []);
  assert.equal(web.asked, asked);
  // The changed one fails in piece 3 only: only that piece's blocks are sampled.
  const bad = await localVerdicts(plan, checkOf(truth), [src]);
  assert.deepEqual([...bad].filter(([, ok]) => !ok).map(([k]) => k), [3]);
  assert.deepEqual(await inPlaceChanges(plan, [src], web, (k) => bad.get(k) === true), inPlace);
});
