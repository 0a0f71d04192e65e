/**
 * Sampling ahead: the pieces whose first network step is sampling their
 * guesses are sampled before their turn, all of them a round at a time.
 *
 * A piece whose only guess layer holds a changed compressed block that ends
 * inside it cannot verify with that guess (probe.ts knownToDiffer), and its
 * assembly (assemble.ts, step 3) samples it first thing: the start of each
 * changed block's part, then one sample a round halving the gap that holds
 * the turn. A piece doing that alone, eight at a time, took a sync of the
 * live bench pair (145 such pieces, 8 rounds each) some 190 requests of a few
 * samples each (zsync sends 23 for the same pair). Here every such piece is
 * sampled as its own assembly would sample it (the same segments, samplers
 * and ranges), but all pieces a round at once: the engine sends each round
 * in one or a few multi-range requests. A piece then takes its samplers and
 * their bytes (take) and goes on as if it had sampled them itself.
 *
 * Which pieces: those whose assembly fetches nothing before sampling (one
 * guess layer, known to differ; no leaf hashes, which go block by block
 * first), with trust as it stands when the pass starts (a mapping found wrong
 * later is sampled ahead in the pieces after it all the same: a few samples
 * more, never a wrong byte, since every piece is verified). Memory: a
 * segment's local bytes are read once for its first round (its xz
 * structure), then only where a sample lies; the samples' bytes wait for
 * their piece. A piece whose samples cannot be fetched is left to sample
 * itself.
 */
import type { PieceIndex } from '../core/ids.js';
import type { Fetched, PieceFetcher } from '../core/ports.js';
import { mergeSpans, subtractSpans, type Span } from '../core/span.js';
import { CERTAINTY, type Distrust } from './guess-policy.js';
import { fillSegments, type FillInput } from './piece-fill.js';
import { BlockCache } from '../store/block-cache.js';
import { CACHE_SOURCE, pieceSpan, segmentsIn, type LocalSegment, type Plan } from './plan.js';
import { knownToDiffer, SegmentProbe } from './probe.js';

/**
 * Sampled when a piece fails: nested guesses (a changed compressed block keeps its old prefix, a nested file its
 * unchanged chunks) and the least certain ISO ones (same offset, zeros: a flipped byte costs its sample, not the
 * piece). Whole-file ISO mappings are not: on the stock ISO syncs of the suite their samples cost more than they
 * saved once look-ahead asks in large requests.
 */
export const SAMPLED: ReadonlySet<LocalSegment['reason']> = new Set(['changed-block', 'nested-file', 'same-offset', 'zero']);
/** Reasons up to this rank (guess-policy CERTAINTY: changed blocks, zeros, same offsets) are sampled first, alone. */
export const LEAST_CERTAIN_RANK = 1;

/** Whether assembly samples `s` among the segments up to `maxRank`. */
export function sampledUpTo(s: LocalSegment, maxRank: number): boolean {
  return !CERTAINTY[s.reason].exact && CERTAINTY[s.reason].rank <= maxRank && SAMPLED.has(s.reason) && s.source !== CACHE_SOURCE;
}

/** The sampler assembly makes for segment `s` of the piece ending at `pieceEnd`. */
export function newProbe(s: LocalSegment, pieceEnd: number): SegmentProbe {
  return new SegmentProbe(s, s.reason !== 'changed-block', s.end === pieceEnd);
}

/** A segment by value: a piece's segments are cut anew each time they are listed. */
export function segmentKey(s: LocalSegment): string {
  return `${s.start}:${s.end}:${s.source}:${s.sourceOffset}:${s.reason}`;
}

/** A piece's samplers, done, and what was fetched for them. */
export interface SampledPiece<Who> {
  /** By segmentKey. */
  readonly probes: ReadonlyMap<string, SegmentProbe>;
  /** Request by request: the ranges asked of the piece and the fetcher's answer. */
  readonly fetched: readonly { readonly spans: readonly Span[]; readonly got: Fetched<Who> }[];
}

interface Job<Who> {
  readonly p: PieceIndex;
  readonly pieceEnd: number;
  readonly segs: readonly LocalSegment[];
  readonly probes: Map<string, SegmentProbe>;
  readonly fetched: { spans: Span[]; got: Fetched<Who> }[];
  /** Ranges fetched so far, merged. */
  net: Span[];
  settled: boolean;
  readonly done: Promise<SampledPiece<Who> | undefined>;
  resolve(v: SampledPiece<Who> | undefined): void;
}

/** One sample to fetch, with its segment's local bytes there. */
interface Ask<Who> {
  readonly job: Job<Who>;
  readonly seg: LocalSegment;
  readonly probe: SegmentProbe;
  readonly span: Span;
  local: Uint8Array;
}

/**
 * The segments assembly samples first in piece `p` when it samples before fetching anything (else undefined):
 * assemble.ts's steps 1 and 2 with `distrust` as it stands, without learning from it.
 */
export function samplesFirst(plan: Plan, p: PieceIndex, distrust: Distrust): LocalSegment[] | undefined {
  const span = pieceSpan(plan, p);
  const trusted = (segs: readonly LocalSegment[]) => segs.filter((s) => distrust.trusts(s));
  const local = trusted(segmentsIn(plan.local, span.start, span.end));
  const layers = plan.guesses.map((g) => trusted(segmentsIn(g, span.start, span.end))).filter((g) => g.length > 0);
  if (layers.length !== 1 || !knownToDiffer(layers[0]!, span.end) || subtractSpans([span], mergeSpans(local)).length === 0) return undefined;
  const segs = [...local, ...layers[0]!].sort((a, b) => a.start - b.start).filter((s) => sampledUpTo(s, LEAST_CERTAIN_RANK));
  return segs.length > 0 ? segs : undefined;
}

/** `s` cut to `span` (inside it). */
function cut(s: LocalSegment, span: Span): LocalSegment {
  return { ...s, start: span.start, end: span.end, sourceOffset: s.sourceOffset + (span.start - s.start) };
}

/** The bytes of `span` among `fetched` (every byte of it was fetched). */
function netBytes(fetched: readonly { spans: readonly Span[]; got: Fetched<unknown> }[], span: Span): Uint8Array {
  const out = new Uint8Array(span.end - span.start);
  for (const f of fetched) {
    f.spans.forEach((r, i) => {
      const a = Math.max(r.start, span.start);
      const b = Math.min(r.end, span.end);
      if (a < b) out.set(f.got.parts[i]!.subarray(a - r.start, b - r.start), a - span.start);
    });
  }
  return out;
}

export class SampleAhead<Who> {
  private readonly jobs = new Map<PieceIndex, Job<Who>>();

  /** Local sources read straight, not through their block caches: a segment once, then a few bytes a sample (a cache read a 256 KiB block per sample, some 60 MB a round). */
  private readonly input: FillInput;

  private constructor(
    private readonly plan: Plan,
    input: FillInput,
    private readonly fetcher: PieceFetcher<Who>,
  ) {
    this.input = { sources: input.sources.map((s) => (s instanceof BlockCache ? s.inner : s)), cache: input.cache };
  }

  /** Starts sampling ahead the pieces of `pieces` that sample first (samplesFirst); undefined when fewer than two do. */
  static start<Who>(plan: Plan, input: FillInput, fetcher: PieceFetcher<Who>, pieces: readonly PieceIndex[], distrust: Distrust): SampleAhead<Who> | undefined {
    const ahead = new SampleAhead<Who>(plan, input, fetcher);
    for (const p of pieces) {
      const segs = samplesFirst(plan, p, distrust);
      if (!segs) continue;
      let resolve!: (v: SampledPiece<Who> | undefined) => void;
      const done = new Promise<SampledPiece<Who> | undefined>((r) => (resolve = r));
      ahead.jobs.set(p, { p, pieceEnd: pieceSpan(plan, p).end, segs, probes: new Map(), fetched: [], net: [], settled: false, done, resolve });
    }
    // One piece alone samples as well by itself.
    if (ahead.jobs.size < 2) return undefined;
    void ahead.run().catch(() => {
      for (const job of ahead.jobs.values()) ahead.settle(job, false);
    });
    return ahead;
  }

  /** Piece `p`'s samplers and their bytes, once: undefined when it was not sampled ahead (or its samples failed). */
  take(p: PieceIndex): Promise<SampledPiece<Who> | undefined> | undefined {
    const job = this.jobs.get(p);
    if (!job) return undefined;
    this.jobs.delete(p);
    return job.done;
  }

  private settle(job: Job<Who>, ok: boolean): void {
    if (job.settled) return;
    job.settled = true;
    job.resolve(ok ? { probes: job.probes, fetched: job.fetched } : undefined);
  }

  private async run(): Promise<void> {
    const jobs = [...this.jobs.values()];
    // The first round: each sampler sees its segment's local bytes (a changed xz block's headers), read once into a
    // buffer used for every segment in turn; only the bytes where a sample lies are kept.
    const scratch = new Uint8Array(this.plan.pieceLength);
    let asks: Ask<Who>[] = [];
    for (const job of jobs) {
      const mine: Ask<Who>[] = [];
      for (const seg of job.segs) {
        const local = scratch.subarray(0, seg.end - seg.start);
        const filled = await fillSegments(local, seg.start, [seg], this.input);
        if (filled.length !== 1 || filled[0]!.start !== seg.start || filled[0]!.end !== seg.end) break; // not readable: the piece samples itself
        const probe = newProbe(seg, job.pieceEnd);
        job.probes.set(segmentKey(seg), probe);
        for (const span of probe.next(local)) mine.push({ job, seg, probe, span, local: local.slice(span.start - seg.start, span.end - seg.start) });
      }
      if (job.probes.size < job.segs.length) this.settle(job, false);
      else if (mine.length === 0) this.settle(job, true);
      else for (const a of mine) asks.push(a);
    }
    while (asks.length > 0) {
      await this.fetchRound(asks);
      for (const a of asks) if (!a.job.settled) a.probe.record(a.span.start, a.local, netBytes(a.job.fetched, a.span));
      // The next round: every sampler of a piece asked again (as its assembly does), the piece done when none asks.
      const next: Ask<Who>[] = [];
      for (const job of new Set(asks.map((a) => a.job))) {
        if (job.settled) continue;
        const before = next.length;
        for (const seg of job.segs) {
          const probe = job.probes.get(segmentKey(seg))!;
          for (const span of probe.next()) next.push({ job, seg, probe, span, local: new Uint8Array(span.end - span.start) });
        }
        if (next.length === before) this.settle(job, true);
      }
      await Promise.all(next.map((a) => fillSegments(a.local, a.span.start, [cut(a.seg, a.span)], this.input)));
      asks = next;
    }
  }

  /** Fetches a round's samples, each piece's merged and less what it fetched before, all pieces at once (one engine turn). */
  private async fetchRound(asks: readonly Ask<Who>[]): Promise<void> {
    const byJob = new Map<Job<Who>, Span[]>();
    for (const a of asks) (byJob.get(a.job) ?? byJob.set(a.job, []).get(a.job)!).push(a.span);
    await Promise.all(
      [...byJob].map(async ([job, spans]) => {
        const need = subtractSpans(mergeSpans(spans), job.net);
        if (need.length === 0) return;
        try {
          const got = await this.fetcher.fetch(job.p, need);
          job.fetched.push({ spans: need, got });
          job.net = mergeSpans([...job.net, ...need]);
        } catch {
          this.settle(job, false);
        }
      }),
    );
  }
}
