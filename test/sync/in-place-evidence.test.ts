import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { buildPlan, type LocalSegment } from '../../src/delta/plan.js';
import type { RangeFetcher } from '../../src/core/ports.js';
import type { Span } from '../../src/core/span.js';
import { REFINE_SPACING } from '../../src/delta/probe.js';
import { ReencodedStore } from '../../src/delta/reencoded-store.js';
import { inPlaceChanges, inPlaceFetch } from '../../src/sync/in-place-evidence.js';

const PIECE = 32 * 1024;
const LENGTH = 8 * PIECE;
const XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

function noise(seed: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, k = 0; i < n; i += 32, k++) out.set(createHash('sha256').update(`${seed}:${k}`).digest().subarray(0, Math.min(32, n - i)), i);
  return out;
}

function server(truth: Uint8Array): RangeFetcher & { requests: number } {
  const s = {
    requests: 0,
    fetchRange: async (start: number, end: number) => (await s.fetchRanges([{ start, end }]))[0]!,
    fetchRanges: async (ranges: readonly Span[]) => {
      s.requests++;
      return ranges.map((r) => truth.slice(r.start, r.end));
    },
  };
  return s;
}

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
  const web = server(truth);
  const changed = await inPlaceChanges(plan, [src], web);
  assert.equal(changed.length, 1);
  assert.equal(changed[0]!.end, 130_000, 'to the block end');
  assert.ok(Math.abs(changed[0]!.start - 95_000) <= 2 * REFINE_SPACING, `turn ${changed[0]!.start}`);
  // Pieces 2-3 hold the change: their parts of the file are sampled; at least the changed bytes are fetched, and not the whole pieces.
  const n = await inPlaceFetch(plan, changed, [src]);
  assert.ok(n >= 130_000 - 95_000 - 2 * REFINE_SPACING && n < 2 * PIECE, `priced ${n}`);
  assert.equal(await inPlaceFetch(plan, changed, [src], [false, false, true, true]), 0, 'pieces done are not priced');
  // Nothing changed: nothing found.
  const same = new ReencodedStore();
  same.put(0, truth);
  assert.deepEqual(await inPlaceChanges(plan, [same], web), []);
});
