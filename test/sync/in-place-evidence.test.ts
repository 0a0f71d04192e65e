import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan, type LocalSegment } from '../../src/delta/plan.js';
import { REFINE_SPACING } from '../../src/delta/probe.js';
import { MULTIPART_PART_BYTES } from '../../src/core/ports.js';
import { ReencodedStore } from '../../src/delta/reencoded-store.js';
import { inPlaceChanges, inPlaceFetch } from '../../src/sync/in-place-evidence.js';
import type { Span } from '../../src/core/span.js';
import { noise, rangeServer } from './evidence-helpers.js';

const PIECE = 32 * 1024;
const LENGTH = 8 * PIECE;
const XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

test('a mapped block changed in place is found by its end (xz check) and priced as the sync samples its piece; unchanged blocks cost nothing', async () => {
  // One nested file of 4 xz streams of 40,000 bytes from 10,000; the third changed in place from 95,000 to its end (130,000).
  const truth = noise('img', LENGTH);
  for (const at of [10_000, 50_000, 90_000, 130_000]) truth.set(XZ, at);
  const old = truth.slice();
  old.set(noise('old', 130_000 - 95_000), 95_000);
  const src = new ReencodedStore();
  src.put(0, old);
  const seg: LocalSegment = { start: 10_000, end: 170_000, source: 0, sourceOffset: 10_000, reason: 'nested-file' };
  const plan = buildPlan({ length: LENGTH, pieceLength: PIECE }, [[seg]]);
  const web = rangeServer(truth);
  const changed = await inPlaceChanges(plan, [src], web);
  assert.equal(changed.length, 1);
  assert.equal(changed[0]!.end, 130_000, 'to the block end');
  assert.ok(Math.abs(changed[0]!.start - 95_000) <= 2 * REFINE_SPACING, `turn ${changed[0]!.start}`);
  // Pieces 2-3 hold the change: their parts of the file are sampled; at least the changed bytes are fetched, and not the whole pieces.
  const n = await inPlaceFetch(plan, changed, [src], MULTIPART_PART_BYTES);
  assert.ok(n >= 130_000 - 95_000 - 2 * REFINE_SPACING && n < 2 * PIECE, `priced ${n}`);
  assert.equal(await inPlaceFetch(plan, changed, [src], MULTIPART_PART_BYTES, [false, false, true, true]), 0, 'pieces done are not priced');
  // Nothing changed: nothing found.
  const same = new ReencodedStore();
  same.put(0, truth);
  assert.deepEqual(await inPlaceChanges(plan, [same], web), []);
});

test('a block changed in place whose xz headers differ: the turn found is its data\'s, the header bytes that differ a change of their own', async () => {
  // One nested file of 3 xz streams of 40,000 bytes from 10,000; the second's block header holds a size that differs
  // (bytes 14-15 of the stream), its data agrees up to 85,000, then differs to its end (90,000).
  const truth = noise('img', LENGTH);
  for (const at of [10_000, 50_000, 90_000]) {
    truth.set(XZ, at);
    truth[at + 12] = 2; // a 12-byte block header
    truth[at + 24] = 0xe0; // the first chunk header, with properties
  }
  const old = truth.slice();
  old[50_000 + 14] = old[50_000 + 14]! ^ 0x55;
  old[50_000 + 15] = old[50_000 + 15]! ^ 0x55;
  old.set(noise('old', 90_000 - 85_000), 85_000);
  const src = new ReencodedStore();
  src.put(0, old);
  const seg: LocalSegment = { start: 10_000, end: 130_000, source: 0, sourceOffset: 10_000, reason: 'nested-file' };
  const plan = buildPlan({ length: LENGTH, pieceLength: PIECE }, [[seg]]);
  const changed = await inPlaceChanges(plan, [src], rangeServer(truth));
  assert.equal(changed.length, 2, JSON.stringify(changed));
  assert.deepEqual(changed[0], { start: 50_014, end: 50_016 }, 'the header bytes that differ');
  assert.equal(changed[1]!.end, 90_000);
  assert.ok(Math.abs(changed[1]!.start - 85_000) <= 2 * REFINE_SPACING, `turn ${changed[1]!.start}, not at the header`);
});

test('a mapped segment whose pieces all passed as built locally is not read: its blocks are not sampled either', async () => {
  const truth = noise('img', LENGTH);
  for (const at of [10_000, 50_000, 90_000, 130_000]) truth.set(XZ, at);
  const store = new ReencodedStore();
  store.put(0, truth);
  const reads: Span[] = [];
  const src = { size: store.size, read: (offset: number, length: number) => (reads.push({ start: offset, end: offset + length }), store.read(offset, length)) };
  const seg: LocalSegment = { start: 10_000, end: 170_000, source: 0, sourceOffset: 10_000, reason: 'nested-file' };
  const plan = buildPlan({ length: LENGTH, pieceLength: PIECE }, [[seg]]);
  const web = rangeServer(truth);
  // Pieces 0-5 hold the segment: all passed, nothing is read or fetched.
  assert.deepEqual(await inPlaceChanges(plan, [src], web, (p) => p <= 5), []);
  assert.deepEqual(reads, []);
  assert.equal(web.requests, 0);
  // One piece did not pass: the segment is read (its blocks found) and only the blocks in that piece are sampled.
  assert.deepEqual(await inPlaceChanges(plan, [src], web, (p) => p !== 3), []);
  assert.ok(reads.length > 0);
  assert.equal(web.requests, 1);
});
