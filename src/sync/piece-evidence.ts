/**
 * `isosync plan`: pieces the measured guesses take to cost nothing, checked
 * against their hashes. The changed-block and in-place evidence
 * (changed-block-evidence.ts, in-place-evidence.ts) find one turn per guess:
 * a compressed block agrees up to its first change, then differs to its end.
 * Uncompressed data does not: a changed cluster of a FAT image (the EFI
 * image of the committed live fixture) agrees again after the change, so a
 * piece wholly before the turn found can still hold a change. Such a piece
 * is built from the local bytes and guesses and hashed (no network); a piece
 * that fails is sampled as a sync samples it (delta/probe.ts: its rounds,
 * then the dense round over every segment some sample agreed with, and the
 * rounds again where that found a change), and
 * priced by what that sampler keeps: its samples with their framing and the
 * bytes it drops. Costs the plan those samples on the wire (a few per
 * failing piece), and saves it more: a mapped block whose pieces all pass
 * did not change in place, and in-place-evidence.ts does not sample it.
 */
import type { RangeFetcher } from '../core/ports.js';
import { pieceIndex } from '../core/ids.js';
import { type Span } from '../core/span.js';
import { fillSegments } from '../delta/piece-fill.js';
import { CACHE_SOURCE, pieceSpan, segmentsIn, type LocalSegment, type Plan } from '../delta/plan.js';
import { PROBE_MIN_BYTES, SegmentProbe } from '../delta/probe.js';
import type { ByteSource } from '../store/byte-source.js';
import type { PieceCheck } from '../torrent/piece-check.js';
import { attempts, CERTAINTY, Distrust, SAMPLED_MIXED, SAMPLED_NOT } from '../delta/guess-policy.js';
import { changedBlockFetch } from './changed-block-evidence.js';
import { inPlaceFetch } from './in-place-evidence.js';
import { fetchAll, sampledFetch } from './evidence-fetch.js';

/** The reasons a sync samples (delta/assemble.ts). */
const SAMPLED: ReadonlySet<LocalSegment['reason']> = new Set(['changed-block', 'nested-file', 'same-offset', 'zero']);

/** A piece's local bytes and guesses (the first layer where nothing local is), in order. */
function pieceSegments(plan: Plan, span: Span): LocalSegment[] {
  return [...segmentsIn(plan.local, span.start, span.end), ...segmentsIn(plan.guesses[0] ?? [], span.start, span.end)].sort((a, b) => a.start - b.start);
}

/**
 * Whether each piece wholly local or guessed from local sources (no fetched range, no planning bytes) passes its
 * hash as built so (no network): a piece that passes holds no wrong guess, one that fails holds at least one.
 */
export async function localVerdicts(plan: Plan, check: PieceCheck, sources: readonly (ByteSource | undefined)[], done: readonly boolean[] = []): Promise<Map<number, boolean>> {
  const out = new Map<number, boolean>();
  const count = Math.ceil(plan.length / plan.pieceLength);
  const fetched = new Set<number>();
  for (const f of plan.fetch) for (let p = Math.floor(f.start / plan.pieceLength); p * plan.pieceLength < f.end; p++) fetched.add(p);
  const buf = new Uint8Array(plan.pieceLength);
  for (let p = 0; p < count; p++) {
    if (fetched.has(p) || done[p]) continue;
    const span = pieceSpan(plan, pieceIndex(p));
    const segs = pieceSegments(plan, span);
    if (segs.some((s) => s.source === CACHE_SOURCE) || !segs.some((s) => SAMPLED.has(s.reason))) continue;
    const bytes = buf.subarray(0, span.end - span.start);
    const filled = await fillSegments(bytes, span.start, segs, { sources });
    if (filled.reduce((n, f) => n + (f.end - f.start), 0) === bytes.length) out.set(p, check.matches(pieceIndex(p), bytes));
  }
  return out;
}

/** What a sync fetches for `pieces` (failing as built locally): each sampled as a sync samples it, over the network. */
export async function failingPieceFetch(plan: Plan, pieces: readonly number[], sources: readonly (ByteSource | undefined)[], fetcher: RangeFetcher, partBytes: number): Promise<number> {
  const probes: { p: number; probe: SegmentProbe; local: Uint8Array; samples: Span[] }[] = [];
  for (const p of pieces) {
    const span = pieceSpan(plan, pieceIndex(p));
    for (const seg of pieceSegments(plan, span)) {
      if (!SAMPLED.has(seg.reason)) continue;
      const local = new Uint8Array(seg.end - seg.start);
      await fillSegments(local, seg.start, [seg], { sources });
      probes.push({ probe: new SegmentProbe(seg, seg.reason !== 'changed-block', seg.end === span.end), local, samples: [], p });
    }
  }
  const play = async (next: (x: (typeof probes)[number]) => Span[]) => {
    for (;;) {
      const asks = probes.flatMap((x) => next(x).map((span) => ({ x, span }))).sort((a, b) => a.span.start - b.span.start);
      if (asks.length === 0) return;
      const got = await fetchAll(fetcher, asks.map((a) => a.span));
      for (const [k, a] of asks.entries()) {
        const at = a.span.start - a.x.probe.seg.start;
        a.x.probe.record(a.span.start, a.x.local.subarray(at, at + (a.span.end - a.span.start)), got[k]!);
        a.x.samples.push(a.span);
      }
    }
  };
  await play((x) => x.probe.next(x.local));
  // The dense round: once, in the pieces whose samples all agreed (where a sample differed, the sync's piece verifies
  // with what the samples kept), then the rounds again where it turned (the rest of the piece's attempts are not played).
  const mixed = new Set(probes.filter((x) => !x.probe.outcome().allRight).map((x) => x.p));
  const agreed = new Set(probes.filter((x) => !mixed.has(x.p)));
  await play((x) => (agreed.has(x) ? x.probe.dense() : []));
  await play((x) => (agreed.has(x) ? x.probe.next(x.local) : []));
  // Samples are parts of multipart replies, and so is each range of what is dropped beyond them. A piece whose
  // samples all agree still fails: the sync drops guesses whole until it verifies (taken as the whole piece).
  let n = 0;
  for (const p of pieces) {
    const mine = probes.filter((x) => x.p === p);
    const sampled = (x: (typeof mine)[number]) => x.samples.reduce((k, s) => k + s.end - s.start, 0);
    const beyond = mine.reduce((k, x) => k + x.probe.outcome().droppedBytes - sampled(x), 0);
    const len = pieceSpan(plan, pieceIndex(p));
    if (beyond > 0 || mine.some((x) => !x.probe.outcome().allRight)) n += mine.reduce((k, x) => k + sampledFetch(x.probe.seg, x.probe.outcome().keep, x.samples, partBytes), 0);
    else n += mine.reduce((k, x) => k + sampled(x) + x.samples.length * partBytes, 0) + len.end - len.start + partBytes;
  }
  return n;
}

/** Pieces a cost is expected in already: a changed block's part from its turn on, a stretch changed in place. */
export function pricedPieces(plan: Plan, turns: ReadonlyMap<LocalSegment, number>, inPlace: readonly Span[]): Set<number> {
  const out = new Set<number>();
  const add = (start: number, end: number) => {
    for (let p = Math.floor(start / plan.pieceLength); p * plan.pieceLength < end; p++) out.add(p);
  };
  for (const [seg, turn] of turns) if (turn < seg.end) add(turn, seg.end);
  for (const c of inPlace) add(c.start, c.end);
  return out;
}

/**
 * Pieces (not `done`) where a stretch changed in place meets a guess too short to sample: no sample tells a sync which
 * guess fails, and it drops guesses whole until the piece verifies (the committed live fixture's 98-byte file of its
 * FAT image, one byte changed: the whole piece fetched, its samples with it).
 */
function wholePieces(plan: Plan, inPlace: readonly Span[], done: readonly boolean[]): number[] {
  const out = new Set<number>();
  for (const c of inPlace) {
    for (const seg of segmentsIn(plan.local, c.start, c.end)) {
      if (seg.reason !== 'nested-file' || seg.end - seg.start >= PROBE_MIN_BYTES) continue;
      const p = Math.floor(seg.start / plan.pieceLength);
      const span = pieceSpan(plan, pieceIndex(p));
      const whole = segmentsIn(plan.local, span.start, span.end).find((s) => s.start <= seg.start && seg.end <= s.end);
      if (!done[p] && whole !== undefined && whole.end - whole.start < PROBE_MIN_BYTES) out.add(p);
    }
  }
  return [...out];
}

/**
 * What a sync fetches for the guesses of such a piece: after its samples, it drops guesses in doubt's order
 * (guess-policy.ts `attempts`: those too short to sample first, then the least certain reason, then the smallest) a
 * group at a time until the piece verifies, so every guess of the groups up to the one that drops the short changed
 * ones; its first round of samples with their framing. Its changed blocks are priced from their turns, as elsewhere.
 */
function wholePieceFetch(plan: Plan, p: number, inPlace: readonly Span[], partBytes: number): number {
  const span = pieceSpan(plan, pieceIndex(p));
  const segs = pieceSegments(plan, span).filter((s) => !CERTAINTY[s.reason].exact && s.source !== CACHE_SOURCE);
  const isShort = (s: LocalSegment) => s.end - s.start < PROBE_MIN_BYTES;
  const short = segs.filter((s) => isShort(s) && inPlace.some((c) => c.start < s.end && s.start < c.end));
  const list = attempts(segs, new Distrust(), undefined, (s) => (isShort(s) ? SAMPLED_NOT : SAMPLED_MIXED));
  // Changed blocks are priced from their turns (changedBlockFetch), here or not.
  const dropped = (short.length === 0 ? [] : (list.find((a) => short.every((s) => a.dropped.includes(s)))?.dropped ?? segs)).filter((s) => s.reason !== 'changed-block');
  const samples = segs.filter((s) => SAMPLED.has(s.reason) && s.reason !== 'changed-block').reduce((n, s) => n + new SegmentProbe(s, s.reason !== 'changed-block', s.end === span.end).next().length, 0);
  return dropped.reduce((n, s) => n + (s.end - s.start), 0) + (samples + dropped.length) * partBytes;
}

/**
 * What a sync fetches for the measured guesses in the pieces not `done`: changed blocks from their turns
 * (changed-block-evidence.ts), blocks changed in place (in-place-evidence.ts), pieces a short changed guess makes
 * fetch whole, and pieces priced at nothing that fail their hashes as built locally (`verdicts`: localVerdicts; none
 * where guess-evidence.ts prices the wrong guesses instead).
 */
export async function measuredFetch(
  plan: Plan,
  sources: readonly (ByteSource | undefined)[],
  fetcher: RangeFetcher,
  evidence: { turns: ReadonlyMap<LocalSegment, number>; inPlace: readonly Span[]; verdicts?: ReadonlyMap<number, boolean>; partBytes: number },
  done: readonly boolean[] = [],
): Promise<number> {
  const whole = wholePieces(plan, evidence.inPlace, done);
  const skip = [...done];
  for (const p of whole) skip[p] = true;
  // Pieces priced at nothing (no turn, no change in place, not done) that fail as built locally.
  const priced = pricedPieces(plan, evidence.turns, evidence.inPlace);
  const failing = [...(evidence.verdicts ?? [])].filter(([p, ok]) => !ok && !priced.has(p) && !skip[p]).map(([p]) => p);
  return (
    (await changedBlockFetch(plan, evidence.turns, sources, evidence.partBytes, done)) +
    (await inPlaceFetch(plan, evidence.inPlace, sources, evidence.partBytes, skip)) +
    whole.reduce((n, p) => n + wholePieceFetch(plan, p, evidence.inPlace, evidence.partBytes), 0) +
    (failing.length > 0 ? await failingPieceFetch(plan, failing, sources, fetcher, evidence.partBytes) : 0)
  );
}
