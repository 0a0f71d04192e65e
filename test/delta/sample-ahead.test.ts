/**
 * Sampling ahead (sample-ahead.ts): pieces whose changed-block guess ends inside them are sampled all at once a
 * round, before their turn, so a sync sends about as many sampling requests as one piece takes rounds, not one
 * per piece and round; every piece samples the same ranges it samples alone and is assembled the same.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { pieceIndex } from '../../src/core/ids.js';
import type { Fetched, PieceFetcher } from '../../src/core/ports.js';
import { mergeSpans, type Span } from '../../src/core/span.js';
import { assemble, type AssembleEvent } from '../../src/delta/assemble.js';
import { buildPlan, type LocalSegment } from '../../src/delta/plan.js';
import { BISECT } from '../../src/delta/probe.js';
import { Distrust } from '../../src/delta/guess-policy.js';
import { RoundGate, samplesFirst } from '../../src/delta/sample-ahead.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { pieceCheckOf } from '../../src/torrent/piece-check.js';
import { Rng } from '../helpers/random.js';

const PIECE = 16_384;

function seg(start: number, end: number, reason: LocalSegment['reason']): LocalSegment {
  return { start, end, source: 0, sourceOffset: start, reason };
}

/**
 * `count` pieces, each: [0, 4000) a nested file as it was, [4000, 12000) a changed block guessed from the old one (the
 * same bytes up to a turn that differs from piece to piece, others after), the rest fetched. `only`: the pieces
 * assembled (the others are had). The fetcher answers the fetches asked in one event-loop turn together, as the
 * engine sends one turn's asks in one request: `requests` counts those turns.
 */
async function run(count: number, only?: number) {
  const rng = new Rng(11);
  const old = rng.bytes(count * PIECE);
  const truth = old.slice();
  const local: LocalSegment[] = [];
  const guess: LocalSegment[] = [];
  for (let p = 0; p < count; p++) {
    const base = p * PIECE;
    const turn = base + 4000 + 16 + Math.floor(((p * 7919) % 97) * 80);
    truth.set(rng.bytes(base + PIECE - turn), turn);
    local.push(seg(base, base + 4000, 'nested-file'));
    guess.push(seg(base + 4000, base + 12_000, 'changed-block'));
  }
  const plan = buildPlan({ length: count * PIECE, pieceLength: PIECE }, [local], [guess]);
  const pieces = Buffer.concat(Array.from({ length: count }, (_, p) => createHash('sha1').update(truth.subarray(p * PIECE, (p + 1) * PIECE)).digest()));
  const events: AssembleEvent[] = [];
  const asked = new Map<number, Span[]>();
  let requests = 0;
  let pending: (() => void)[] = [];
  const fetcher: PieceFetcher<string> = {
    fetch: (p, ranges) => {
      for (const r of ranges) (asked.get(p) ?? asked.set(p, []).get(p)!).push(r);
      return new Promise<Fetched<string>>((resolve) => {
        if (pending.length === 0) {
          setImmediate(() => {
            requests++;
            const now = pending;
            pending = [];
            for (const go of now) go();
          });
        }
        pending.push(() => resolve({ parts: ranges.map((r) => truth.slice(r.start, r.end)), blame: [] }));
      });
    },
    convict: () => undefined,
  };
  const out = new Uint8Array(count * PIECE);
  const have = Array.from({ length: count }, (_, p) => only !== undefined && p !== only);
  await assemble({
    plan,
    check: pieceCheckOf({ length: count * PIECE, pieceLength: PIECE, pieces }),
    sources: [new MemorySource(old)],
    store: { have, releasesBytes: true, writePiece: async (_p, offset, bytes) => void out.set(bytes, offset) },
    fetcher,
    onEvent: (e) => events.push(e),
  });
  for (let p = 0; p < count; p++) if (!have[p]) assert.deepEqual(out.subarray(p * PIECE, (p + 1) * PIECE), truth.subarray(p * PIECE, (p + 1) * PIECE), `piece ${p}`);
  const failed = events.filter((e) => e.type === 'hash-failed');
  return { requests, failed, asked: (p: number) => mergeSpans(asked.get(p) ?? []), plan };
}

describe('sampling ahead', () => {
  it('samples all such pieces a round at a time: about one request a round, not one per piece and round', async () => {
    const count = 24;
    const { requests, failed, asked } = await run(count);
    assert.deepEqual(failed, [], 'every piece verified at its first attempt after sampling');
    // One request a round of sampling (BISECT.rounds at most), then the pieces' own fetches (eight pieces at a time,
    // each piece sampling alone: 18 requests).
    assert.ok(requests <= BISECT.rounds + 2, `${requests} requests for ${count} pieces`);
    // Each piece fetched what it fetches when assembled alone (the same samples, the same bytes after them).
    for (const p of [0, 5, 23]) {
      const alone = await run(count, p);
      assert.deepEqual(asked(p), alone.asked(p), `piece ${p}`);
    }
  });

  it('samplesFirst: pieces whose changed block ends inside them, with one guess layer; not a piece whose guess is distrusted', () => {
    const plan = buildPlan({ length: 2 * PIECE, pieceLength: PIECE }, [[seg(0, 4000, 'nested-file')]], [[seg(4000, 12_000, 'changed-block'), seg(PIECE, 2 * PIECE, 'changed-block')]]);
    const first = samplesFirst(plan, pieceIndex(0), new Distrust());
    assert.deepEqual(first?.sampled.map((s) => [s.start, s.end, s.reason]), [[4000, 12_000, 'changed-block']]);
    assert.deepEqual(first?.candidates.map((s) => [s.start, s.end]), [[0, 4000], [4000, 12_000]]);
    // A guess that reaches the piece end may verify whole: the piece tries it first.
    assert.equal(samplesFirst(plan, pieceIndex(1), new Distrust()), undefined);
    const distrust = new Distrust();
    distrust.learn([seg(0, 4000, 'changed-block')]);
    assert.equal(samplesFirst(plan, pieceIndex(0), distrust), undefined, 'a chain found wrong before is not sampled');
  });

  it('RoundGate: rounds asked in one turn leave together; one asked while another is out waits for it', async () => {
    const gate = new RoundGate(60_000);
    const turn = () => new Promise((r) => setImmediate(r));
    const log: string[] = [];
    let finishA!: () => void;
    const a = gate.run(() => {
      log.push('a');
      return new Promise<void>((r) => (finishA = r));
    });
    const b = gate.run(async () => void log.push('b'));
    await turn();
    await turn();
    assert.deepEqual(log, ['a', 'b'], 'a and b left in the same turn');
    await b;
    const c = gate.run(async () => void log.push('c'));
    await turn();
    await turn();
    assert.deepEqual(log, ['a', 'b'], 'c waits while a is out');
    finishA();
    await a;
    await c;
    assert.deepEqual(log, ['a', 'b', 'c']);
  });

  it('RoundGate: a round does not wait for ever for a round that does not come back', async () => {
    const gate = new RoundGate(5);
    void gate.run(() => new Promise<void>(() => undefined));
    await new Promise((r) => setImmediate(r));
    assert.equal(await gate.run(async () => 'went'), 'went');
  });
});
