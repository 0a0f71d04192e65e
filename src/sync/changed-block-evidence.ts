/**
 * `isosync plan`: how much of each changed compressed block the old block
 * gives, measured rather than assumed. A changed block's guess (the old
 * block's bytes after the rewritten header, delta/nested-map.ts) holds up to
 * the first change, and nothing in the metadata tells where that is: on the
 * live bench pair the old blocks gave 50 % of the changed blocks' bytes, on
 * the committed fixture pair 35 % (its changed fragment blocks hold a
 * changed tail near their start), so no constant share predicts both. The
 * plan therefore samples every changed-block guess whole, as a sync samples
 * a piece's part of it (delta/probe.ts: its start, then one sample a round
 * halving the gap that holds the turn; all blocks at once a round, in
 * requests of up to 48 ranges), and prices each piece's part of it with the
 * sync's sampler, given the part's old bytes as a sync gives them (their xz
 * headers and later LZMA2 chunk headers, which a sync leaves out and fetches
 * apart), played against the turn it found (expectedPartFetch); and what the
 * sampler does not keep in the ranges assembly asks (sampledFetch). It costs
 * the plan some 150 bytes per sample on the wire (the sync's own samples
 * cost as much again: the plan's are not kept).
 */
import type { RangeFetcher } from '../core/ports.js';
import { SegmentProbe } from '../delta/probe.js';
import { pieceSpan, segmentsIn, type LocalSegment, type Plan } from '../delta/plan.js';
import { pieceIndex } from '../core/ids.js';
import type { Span } from '../core/span.js';
import { fetchAll, sampledFetch } from './evidence-fetch.js';
import type { ByteSource } from '../store/byte-source.js';

/** The turn of every changed-block guess of the plan's first guess layer whose source is at hand. */
export async function changedBlockTurns(plan: Plan, sources: readonly (ByteSource | undefined)[], fetcher: RangeFetcher): Promise<Map<LocalSegment, number>> {
  const segs = (plan.guesses[0] ?? []).filter((s) => s.reason === 'changed-block' && sources[s.source] !== undefined);
  const probes = segs.map((s) => new SegmentProbe(s, false, false));
  // The old bytes: the sampler looks at their structure first (an xz block's headers, its later chunk headers).
  const local = new Map<LocalSegment, Uint8Array>();
  for (const s of segs) local.set(s, await sources[s.source]!.read(s.sourceOffset, s.end - s.start));
  for (;;) {
    const asks: { seg: LocalSegment; probe: SegmentProbe; span: Span }[] = [];
    for (const probe of probes) for (const span of probe.next(local.get(probe.seg))) asks.push({ seg: probe.seg, probe, span });
    if (asks.length === 0) break;
    asks.sort((a, b) => a.span.start - b.span.start);
    const got = await fetchAll(fetcher, asks.map((a) => a.span));
    for (const [k, a] of asks.entries()) {
      const bytes = local.get(a.seg)!;
      a.probe.record(a.span.start, bytes.subarray(a.span.start - a.seg.start, a.span.end - a.seg.start), got[k]!);
    }
  }
  return new Map(probes.map((p) => [p.seg, p.turn()]));
}

/**
 * What a sync fetches for a changed-block guess's part `part` (a piece's share of it; `local`: its old bytes) when the
 * block turns from agreement to difference at `turn`: nothing when the part agrees throughout (its piece verifies
 * with the guess), else what the sync's sampler does to it, played against that turn (sampledFetch). `cut`: the part
 * ends at its piece's end (SegmentProbe).
 */
export function expectedPartFetch(part: LocalSegment, turn: number, cut: boolean, local: Uint8Array | undefined, partBytes: number): number {
  if (turn >= part.end) return 0;
  const probe = new SegmentProbe(part, false, cut);
  const samples: Span[] = [];
  for (let spans = probe.next(local); spans.length > 0; spans = probe.next(local)) {
    for (const sp of spans) {
      const n = sp.end - sp.start;
      const truth = new Uint8Array(n);
      for (let i = 0; i < n; i++) truth[i] = sp.start + i < turn ? 0 : 1;
      probe.record(sp.start, new Uint8Array(n), truth);
      samples.push(sp);
    }
  }
  return sampledFetch(part, probe.outcome().keep, samples, partBytes);
}

/**
 * What a sync fetches for the changed-block guesses of `turns`, piece by piece, in the pieces not `done` (each part's
 * old bytes read again from `sources`: held for every block at once, they were some 20 MB on the bench pair).
 */
export async function changedBlockFetch(plan: Plan, turns: ReadonlyMap<LocalSegment, number>, sources: readonly (ByteSource | undefined)[], partBytes: number, done: readonly boolean[] = []): Promise<number> {
  let n = 0;
  for (const [seg, turn] of turns) {
    for (let p = Math.floor(seg.start / plan.pieceLength); p * plan.pieceLength < seg.end; p++) {
      if (done[p]) continue;
      const span = pieceSpan(plan, pieceIndex(p));
      for (const part of segmentsIn([seg], span.start, span.end)) {
        const local = turn < part.end ? await sources[part.source]!.read(part.sourceOffset, part.end - part.start) : undefined;
        n += expectedPartFetch(part, turn, part.end === span.end, local, partBytes);
      }
    }
  }
  return n;
}
