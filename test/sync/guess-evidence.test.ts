import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan, remainingFetchBytes, summarize, ZERO_SOURCE, type LocalSegment } from '../../src/delta/plan.js';
import { MULTIPART_PART_BYTES } from '../../src/core/ports.js';
import { ReencodedStore } from '../../src/delta/reencoded-store.js';
import { expectedWrongGuessBytes } from '../../src/sync/guess-evidence.js';

const PIECE = 16;
const LENGTH = 8 * PIECE;

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + ((i * i) >> 3)) & 0xff;
  return b;
}

function source(b: Uint8Array): ReencodedStore {
  const s = new ReencodedStore();
  s.put(0, b);
  return s;
}

const seg = (start: number, end: number, reason: LocalSegment['reason'], src = 0): LocalSegment => ({ start, end, source: src, sourceOffset: start, reason });

test('wrong guesses in the checked pieces price the same reason in the others; priced reasons, and reasons never checked, add nothing', async () => {
  const truth = bytes(LENGTH, 1);
  const old = truth.slice();
  old.fill(0xaa, PIECE + 2, PIECE + 5); // piece 1's nested-file bytes are wrong
  // Pieces 0-5: nested files; piece 6: a changed block (priced by its own share); piece 7: zeros, none of them checked.
  const plan = buildPlan({ length: LENGTH, pieceLength: PIECE }, [[seg(0, 6 * PIECE, 'nested-file')]], [[seg(6 * PIECE, 7 * PIECE, 'changed-block'), seg(7 * PIECE, LENGTH, 'zero', ZERO_SOURCE)]]);
  const verified = [true, true, true, false, false, false, false, false];
  // Checked: 48 nested-file bytes, 16 wrong (piece 1's part); the others hold 48.
  const n = await expectedWrongGuessBytes(plan, verified, source(truth), [source(old)]);
  assert.equal(n, Math.round((48 * 16) / (48 + PIECE)));
  // Pieces hashed as built locally (priced by their own verdicts) are not extrapolated onto: pieces 3 and 4 known, 16 bytes left.
  assert.equal(await expectedWrongGuessBytes(plan, verified, source(truth), [source(old)], (p) => p === 3 || p === 4), Math.round((16 * 16) / (48 + PIECE)));
  // Nothing wrong where checked: nothing expected.
  assert.equal(await expectedWrongGuessBytes(plan, verified, source(truth), [source(truth)]), 0);
  // Nothing left to price (every other piece known): the checked pieces are not read back at all (an empty truth would fail the read).
  const others = (p: number) => !verified[p];
  assert.equal(await expectedWrongGuessBytes(plan, verified, new ReencodedStore(), [new ReencodedStore()], others), 0);
  assert.equal(await expectedWrongGuessBytes(plan, verified, source(truth), [source(old)], others), 0);
  // Nothing checked: no evidence, nothing expected.
  assert.equal(await expectedWrongGuessBytes(plan, verified.map(() => false), source(truth), [source(old)]), 0);
});

test('remainingFetchBytes: only the pieces not done, a part framing per fetched range, planning bytes left out', () => {
  const plan = buildPlan({ length: LENGTH, pieceLength: PIECE }, [[seg(0, 2 * PIECE + 4, 'nested-file'), seg(2 * PIECE + 10, 5 * PIECE + 3, 'nested-file'), seg(5 * PIECE + 9, LENGTH, 'nested-file')]]);
  assert.deepEqual(plan.fetch, [{ start: 2 * PIECE + 4, end: 2 * PIECE + 10 }, { start: 5 * PIECE + 3, end: 5 * PIECE + 9 }]);
  const none = new Array<boolean>(8).fill(false);
  assert.equal(remainingFetchBytes(plan, none), summarize(plan).fetchBytes + 2 * MULTIPART_PART_BYTES);
  const done = none.map((_, p) => p === 2);
  assert.equal(remainingFetchBytes(plan, done), 6 + MULTIPART_PART_BYTES);
  assert.equal(remainingFetchBytes(plan, none.map(() => true)), 0);
});
