/**
 * Assembly of a piece whose first guess layer holds a changed block's guess that ends inside the piece: that guess
 * differs at its end (probe.ts knownToDiffer), so the piece goes to sampling at once, without a whole-layer attempt,
 * and the gaps the attempt would have fetched leave with the first samples (one round trip and one hash less).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { pieceIndex } from '../../src/core/ids.js';
import type { Span } from '../../src/core/span.js';
import { assemble, type AssembleEvent } from '../../src/delta/assemble.js';
import { buildPlan, type LocalSegment } from '../../src/delta/plan.js';
import { knownToDiffer, PROBE_MIN_BYTES } from '../../src/delta/probe.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { pieceCheckOf } from '../../src/torrent/piece-check.js';
import { Rng } from '../helpers/random.js';

const PIECE = 16_384;

function seg(start: number, end: number, reason: LocalSegment['reason']): LocalSegment {
  return { start, end, source: 0, sourceOffset: start, reason };
}

/**
 * One piece: [0, 4000) a nested file as it was, [4000, blockEnd) a changed block guessed from the old one (the same
 * bytes up to `turn`, others after), the rest fetched (nothing local).
 */
async function run(blockEnd: number, turn: number) {
  const rng = new Rng(7);
  const old = rng.bytes(PIECE);
  const truth = old.slice();
  truth.set(rng.bytes(PIECE - turn), turn);
  const plan = buildPlan({ length: PIECE, pieceLength: PIECE }, [[seg(0, 4000, 'nested-file')]], [[seg(4000, blockEnd, 'changed-block')]]);
  const events: AssembleEvent[] = [];
  const fetches: Span[][] = [];
  const out = new Uint8Array(PIECE);
  await assemble({
    plan,
    check: pieceCheckOf({ length: PIECE, pieceLength: PIECE, pieces: createHash('sha1').update(truth).digest() }),
    sources: [new MemorySource(old)],
    store: {
      have: [false],
      releasesBytes: true,
      writePiece: async (_p, offset, bytes) => void out.set(bytes, offset),
    },
    fetcher: {
      fetch: async (_p, ranges) => {
        fetches.push([...ranges]);
        return { parts: ranges.map((r) => truth.slice(r.start, r.end)), blame: [] };
      },
      convict: () => undefined,
    },
    onEvent: (e) => events.push(e),
  });
  assert.deepEqual(out, truth);
  return { failed: events.filter((e) => e.type === 'hash-failed').map((e) => (e as { attempt: string }).attempt), fetches };
}

describe('assembling a piece whose changed-block guess ends inside it', () => {
  it('goes to sampling without a whole-layer attempt; the gap leaves with the first samples', async () => {
    const { failed, fetches } = await run(12_000, 8000);
    assert.deepEqual(failed, [], 'no attempt failed its hash');
    // The first request holds the gap after the block and the block's first sample.
    assert.ok(fetches[0]!.some((r) => r.start <= 12_000 && r.end === PIECE), `first request: ${JSON.stringify(fetches[0])}`);
    assert.ok(fetches[0]!.some((r) => r.start >= 4000 && r.end <= 4100), `first request samples the block's start: ${JSON.stringify(fetches[0])}`);
  });

  it('a guess that reaches the piece end may go on into the next piece: it is tried whole first, as before', async () => {
    const { failed, fetches } = await run(PIECE, PIECE);
    assert.deepEqual(failed, []);
    assert.deepEqual(fetches, [], 'the whole-layer guess verified: nothing fetched');
  });

  it('knownToDiffer: a changed block long enough to sample, ending before the piece does', () => {
    assert.equal(knownToDiffer([seg(0, PROBE_MIN_BYTES, 'changed-block')], PIECE), true);
    assert.equal(knownToDiffer([seg(0, PROBE_MIN_BYTES - 1, 'changed-block')], PIECE), false, 'too short to sample');
    assert.equal(knownToDiffer([seg(0, PIECE, 'changed-block')], PIECE), false, 'cut at the piece end');
    assert.equal(knownToDiffer([seg(0, 5000, 'nested-file')], PIECE), false, 'another reason');
  });
});
