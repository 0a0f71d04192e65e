/**
 * `isosync plan`: nested-file guesses whose bytes changed in place. A
 * squashfs block whose stored length stayed the same is mapped by its
 * length ('nested-file'), and nothing in the metadata tells a block changed
 * in place from an unchanged one (xz stores incompressible data as is, so an
 * edit of the same size keeps the length). Its end tells: the 32 bytes before
 * the next compressed stream's magic hold xz's check, a CRC of the block's
 * data (delta/probe.ts samples the same bytes when a piece fails). So the
 * plan samples the end of every mapped block (up to 48 ranges a request,
 * evidence-fetch.ts), halves each block whose end differs to find where its
 * data turns (its xz headers left out, as for a changed block), and prices
 * the pieces they lie in as a sync samples them: every nested-file part of
 * such a piece goes through the sync's sampler, played against the changed
 * stretches (the header bytes that differ, and from the turn to the block's
 * end), and what assembly then asks (evidence-fetch.ts sampledFetch).
 * Costs the plan some 150 bytes per mapped block on the wire, for the blocks
 * whose pieces do not pass their hashes as built locally (`verified`).
 */
import type { RangeFetcher } from '../core/ports.js';
import { BOUNDARY_BEFORE, SegmentProbe, streamStarts, XZ_STREAM_HEADER, xzHeaders } from '../delta/probe.js';
import { pieceSpan, segmentsIn, type LocalSegment, type Plan } from '../delta/plan.js';
import { pieceIndex } from '../core/ids.js';
import { fetchAll, sampledFetch } from './evidence-fetch.js';
import { mergeSpans, type Span } from '../core/span.js';
import type { ByteSource } from '../store/byte-source.js';

const localOf = (seg: LocalSegment, sources: readonly (ByteSource | undefined)[]) => sources[seg.source]!.read(seg.sourceOffset, seg.end - seg.start);

/** Target spans of mapped nested-file blocks that changed in place: [turn, block end), and the xz header bytes that differ. */
export async function inPlaceChanges(plan: Plan, sources: readonly (ByteSource | undefined)[], fetcher: RangeFetcher, verified: (p: number) => boolean = () => false): Promise<Span[]> {
  // A block whose pieces all pass their hashes as built locally (piece-evidence.ts localVerdicts) did not change.
  const unchanged = (start: number, end: number) => {
    for (let p = Math.floor(start / plan.pieceLength); p * plan.pieceLength < end; p++) if (!verified(p)) return false;
    return true;
  };
  const blocks: { seg: LocalSegment; start: number; end: number }[] = [];
  for (const seg of plan.local) {
    if (seg.reason !== 'nested-file' || sources[seg.source] === undefined || seg.end - seg.start < 2 * BOUNDARY_BEFORE) continue;
    // Each block lies inside its segment: when every piece of the segment passed, none of its blocks is kept, and its
    // bytes need not be read to find them (on the live bench pair most of the image).
    if (unchanged(seg.start, seg.end)) continue;
    let at = seg.start;
    for (const o of [...streamStarts(await localOf(seg, sources)), seg.end - seg.start]) {
      if (seg.start + o - at >= 2 * BOUNDARY_BEFORE && !unchanged(at, seg.start + o)) blocks.push({ seg, start: at, end: seg.start + o });
      at = seg.start + o;
    }
  }
  const ends = blocks.map((b) => ({ start: b.end - BOUNDARY_BEFORE, end: b.end }));
  const got = await fetchAll(fetcher, ends);
  const changed: { seg: LocalSegment; probe: SegmentProbe; local: Uint8Array; header?: Span }[] = [];
  for (const [i, b] of blocks.entries()) {
    const local = await sources[b.seg.source]!.read(b.seg.sourceOffset + (ends[i]!.start - b.seg.start), BOUNDARY_BEFORE);
    if (Buffer.from(local).equals(got[i]!)) continue;
    const part = { ...b.seg, start: b.start, end: b.end, sourceOffset: b.seg.sourceOffset + (b.start - b.seg.start), reason: 'changed-block' as const };
    const bytes = await localOf(part, sources);
    const header = xzHeaders(bytes);
    changed.push({ seg: part, probe: new SegmentProbe(part, false, false), local: bytes, ...(header > 0 ? { header: { start: part.start + XZ_STREAM_HEADER, end: part.start + header } } : {}) });
  }
  // Where each changed block turns: halved as a changed block is, its xz headers (whose sizes differ when the data's
  // do) left out of the comparison, so the turn found is the data's; the header bytes that differ are changes of
  // their own (a sync's sampler of the mapped block sees them: the committed pair's blocks differ there and agree
  // for tens of KB after).
  const headerDiffs: Span[] = [];
  for (;;) {
    const asks = changed.flatMap((c) => c.probe.next(c.local).map((span) => ({ c, span }))).sort((a, b) => a.span.start - b.span.start);
    if (asks.length === 0) break;
    const bytes = await fetchAll(fetcher, asks.map((a) => a.span));
    for (const [k, a] of asks.entries()) {
      const at = a.span.start - a.c.seg.start;
      const local = a.c.local.subarray(at, at + (a.span.end - a.span.start));
      a.c.probe.record(a.span.start, local, bytes[k]!);
      if (a.c.header) for (const d of differingRuns(a.span.start, local, bytes[k]!)) if (d.start < a.c.header.end && d.end > a.c.header.start) headerDiffs.push({ start: Math.max(d.start, a.c.header.start), end: Math.min(d.end, a.c.header.end) });
    }
  }
  // A block too short to sample changed as a whole, as far as anything tells.
  return mergeSpans([...headerDiffs, ...changed.map((c) => ({ start: c.probe.probed ? c.probe.turn() : c.seg.start, end: c.seg.end }))]);
}

/** The runs of bytes of `net` (at `at`) that differ from `local`. */
function differingRuns(at: number, local: Uint8Array, net: Uint8Array): Span[] {
  const out: Span[] = [];
  for (let i = 0; i < net.length; i++) if (local[i] !== net[i]) out.push({ start: at + i, end: at + i + 1 });
  return mergeSpans(out);
}

/**
 * What a sync fetches for the nested-file guesses of the pieces (not `done`) that hold a changed stretch: each
 * nested-file part of such a piece sampled (probe.ts) against the stretches, its samples with their framing and
 * what it does not keep.
 */
export async function inPlaceFetch(plan: Plan, changed: readonly Span[], sources: readonly (ByteSource | undefined)[], partBytes: number, done: readonly boolean[] = []): Promise<number> {
  const pieces = new Set<number>();
  for (const c of changed) for (let p = Math.floor(c.start / plan.pieceLength); p * plan.pieceLength < c.end; p++) if (!done[p]) pieces.add(p);
  const differs = (x: number) => changed.some((c) => c.start <= x && x < c.end);
  let n = 0;
  for (const p of pieces) {
    const span = pieceSpan(plan, pieceIndex(p));
    for (const part of segmentsIn(plan.local, span.start, span.end)) {
      if (part.reason !== 'nested-file' || sources[part.source] === undefined) continue;
      const probe = new SegmentProbe(part);
      const local = await localOf(part, sources);
      const samples: Span[] = [];
      for (let spans = probe.next(local); spans.length > 0; spans = probe.next(local)) {
        for (const sp of spans) {
          const len = sp.end - sp.start;
          const truth = new Uint8Array(len);
          for (let i = 0; i < len; i++) truth[i] = differs(sp.start + i) ? 1 : 0;
          probe.record(sp.start, new Uint8Array(len), truth);
          samples.push(sp);
        }
      }
      n += sampledFetch(part, probe.outcome().keep, samples, partBytes);
    }
  }
  return n;
}
