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
import { pieceIndex, type PieceIndex } from '../core/ids.js';
import type { Fetched, PieceFetcher } from '../core/ports.js';
import { mergeSpans, spanBytes, subtractSpans, type Span } from '../core/span.js';
import { CERTAINTY, Distrust } from './guess-policy.js';
import { fillSegments, type FillInput } from './piece-fill.js';
import { BlockCache } from '../store/block-cache.js';
import { CACHE_SOURCE, pieceSpan, segmentsIn, type LocalSegment, type Plan } from './plan.js';
import { cutBySamples, knownToDiffer, SegmentProbe } from './probe.js';
import { stillToFetch } from './sure-bytes.js';

/**
 * Sampled when a piece fails: nested guesses (a changed compressed block keeps its old prefix, a nested file its
 * unchanged chunks) and the least certain ISO ones (same offset, zeros: a flipped byte costs its sample, not the
 * piece). Whole-file ISO mappings are not: on the stock ISO syncs of the suite their samples cost more than they
 * saved once look-ahead asks in large requests.
 */
export const SAMPLED: ReadonlySet<LocalSegment['reason']> = new Set(['changed-block', 'nested-file', 'same-offset', 'zero']);
/** Reasons up to this rank (guess-policy CERTAINTY: changed blocks, zeros, same offsets) are sampled first, alone. */
export const LEAST_CERTAIN_RANK = 1;

/**
 * What the pieces fetch once their samples are in (what the samples do not keep) is fetched ahead too, for the pieces
 * next in order, at most this much held or in flight at once: some 9 MB on the live bench pair, asked as the pieces
 * came, was some 60 requests of a few pieces each.
 */
export const REST_AHEAD_BYTES = 2 * 1024 * 1024;
/** More of it is asked once this much of REST_AHEAD_BYTES is free: few large requests, not one per piece taken. */
export const REST_BATCH_BYTES = 512 * 1024;

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

/** What assembly gets of this for a piece: its samples taken ahead, and the gate its own sampling rounds pass. */
export interface Sampling<Who> {
  readonly early: SampledPiece<Who> | undefined;
  readonly gate: RoundGate;
}

interface Job<Who> {
  readonly p: PieceIndex;
  readonly span: Span;
  /** The piece's local segments and first guess layer (what its attempt after sampling cuts), and those sampled. */
  readonly candidates: readonly LocalSegment[];
  readonly segs: readonly LocalSegment[];
  /** What the piece fetches after sampling, once known; whether it was asked. */
  rest: Span[];
  sampledAll: boolean;
  restAsked: boolean;
  taken: boolean;
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
export function samplesFirst(plan: Plan, p: PieceIndex, distrust: Distrust): { candidates: LocalSegment[]; sampled: LocalSegment[] } | undefined {
  const span = pieceSpan(plan, p);
  const trusted = (segs: readonly LocalSegment[]) => segs.filter((s) => distrust.trusts(s));
  // The guess layers first: most pieces have none known to differ, and their local segments are then not needed.
  const layers = plan.guesses.map((g) => trusted(segmentsIn(g, span.start, span.end))).filter((g) => g.length > 0);
  if (layers.length !== 1 || !knownToDiffer(layers[0]!, span.end)) return undefined;
  const local = trusted(segmentsIn(plan.local, span.start, span.end));
  if (subtractSpans([span], mergeSpans(local)).length === 0) return undefined;
  const candidates = [...local, ...layers[0]!].sort((a, b) => a.start - b.start);
  const sampled = candidates.filter((s) => sampledUpTo(s, LEAST_CERTAIN_RANK));
  return sampled.length > 0 ? { candidates, sampled } : undefined;
}

/** `s` cut to `span` (inside it). */
function cut(s: LocalSegment, span: Span): LocalSegment {
  return { ...s, start: span.start, end: span.end, sourceOffset: s.sourceOffset + (span.start - s.start) };
}

/** The bytes of `span` among `fetched` (every byte of it was fetched): a view of the range holding it, most often the last one asked. */
function netBytes(fetched: readonly { spans: readonly Span[]; got: Fetched<unknown> }[], span: Span): Uint8Array {
  for (let k = fetched.length - 1; k >= 0; k--) {
    const f = fetched[k]!;
    for (let i = 0; i < f.spans.length; i++) {
      const r = f.spans[i]!;
      if (r.start <= span.start && span.end <= r.end) return f.got.parts[i]!.subarray(span.start - r.start, span.end - r.start);
    }
  }
  const out = new Uint8Array(span.end - span.start);
  for (const f of fetched) {
    for (let i = 0; i < f.spans.length; i++) {
      const r = f.spans[i]!;
      const a = Math.max(r.start, span.start);
      const b = Math.min(r.end, span.end);
      if (a < b) out.set(f.got.parts[i]!.subarray(a - r.start, b - r.start), a - span.start);
    }
  }
  return out;
}

export class SampleAhead<Who> {
  private readonly jobs = new Map<PieceIndex, Job<Who>>();
  /** Sampled pieces whose rest waits to be asked, in piece order; rest bytes asked and not yet taken. */
  private readonly restQueue: Job<Who>[] = [];
  private restHeld = 0;
  /** Mappings the samples ahead found wrong (a piece's assembly learns them as it goes: Distrust). */
  private readonly learned = new Distrust();

  /** Local sources read straight, not through their block caches: a segment once, then a few bytes a sample (a cache read a 256 KiB block per sample, some 60 MB a round). */
  private readonly input: FillInput;

  private constructor(
    private readonly plan: Plan,
    input: FillInput,
    private readonly fetcher: PieceFetcher<Who>,
    private readonly distrust: Distrust,
  ) {
    this.input = { sources: input.sources.map((s) => (s instanceof BlockCache ? s.inner : s)), cache: input.cache };
  }

  /** Starts sampling ahead the pieces of `pieces` that sample first (samplesFirst); undefined when fewer than two do. */
  static start<Who>(plan: Plan, input: FillInput, fetcher: PieceFetcher<Who>, pieces: readonly PieceIndex[], distrust: Distrust): SampleAhead<Who> | undefined {
    const ahead = new SampleAhead<Who>(plan, input, fetcher, distrust);
    for (const p of pieces) {
      const first = samplesFirst(plan, p, distrust);
      if (!first) continue;
      let resolve!: (v: SampledPiece<Who> | undefined) => void;
      const done = new Promise<SampledPiece<Who> | undefined>((r) => (resolve = r));
      ahead.jobs.set(p, { p, span: pieceSpan(plan, p), candidates: first.candidates, segs: first.sampled, rest: [], sampledAll: false, restAsked: false, taken: false, probes: new Map(), fetched: [], net: [], settled: false, done, resolve });
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
    job.taken = true;
    const queued = this.restQueue.indexOf(job);
    // Its rest not asked yet: the piece asks it itself; asked: its bytes leave with the piece.
    if (queued >= 0) {
      this.restQueue.splice(queued, 1);
      this.settle(job, true);
    } else if (job.restAsked && job.settled) this.restTaken(job);
    return job.done;
  }

  /** A piece took its rest: its bytes are no longer held here. */
  private restTaken(job: Job<Who>): void {
    this.restHeld -= spanBytes(job.rest);
    this.askRests();
  }

  /** A piece's samples are all in: what its attempt after sampling fetches is queued (assemble.ts: the candidates cut by the samples, the rest fetched). */
  private sampled(job: Job<Who>): void {
    job.sampledAll = true;
    const probes = new Map(job.segs.map((s) => [s, job.probes.get(segmentKey(s))!]));
    for (const [s, x] of probes) if (x.outcome().allWrong) this.learned.learn([s]);
    // A mapping wrong from the piece's first byte most likely went wrong in the piece before, whose assembly then
    // distrusts it here (the piece is fetched whole): its rest is left to the piece.
    if ([...probes].some(([s, x]) => s.start === job.span.start && x.outcome().allWrong)) return this.settle(job, true);
    job.rest = stillToFetch(subtractSpans([job.span], mergeSpans(cutBySamples(job.candidates, probes).kept)), job.net);
    if (job.rest.length === 0) return this.settle(job, true);
    let at = this.restQueue.length;
    while (at > 0 && this.restQueue[at - 1]!.p > job.p) at--;
    this.restQueue.splice(at, 0, job);
  }

  /** Asks the queued rests in piece order, as many as REST_AHEAD_BYTES leaves room for, once REST_BATCH_BYTES of it is free. */
  private askRests(): void {
    const free = REST_AHEAD_BYTES - this.restHeld;
    if (this.restQueue.length === 0 || (this.restHeld > 0 && free < REST_BATCH_BYTES)) return;
    let room = free;
    while (this.restQueue.length > 0) {
      const job = this.restQueue[0]!;
      // A mapping found wrong in the piece before is not used in this one (assemble.ts `trusted`): its rest would be
      // another, so it is left to the piece; the piece before still sampling, its verdict is awaited.
      const before = job.p > 0 ? this.jobs.get(pieceIndex(job.p - 1)) : undefined;
      if (before && !before.sampledAll && !before.settled) break;
      const untrusted = job.candidates.filter((s) => !this.distrust.trusts(s) || !this.learned.trusts(s));
      if (untrusted.length > 0) {
        this.learned.learn(untrusted);
        this.restQueue.shift();
        this.settle(job, true);
        continue;
      }
      const bytes = spanBytes(job.rest);
      if (bytes > room && room < free) break;
      this.restQueue.shift();
      room -= bytes;
      this.restHeld += bytes;
      job.restAsked = true;
      this.fetcher.fetch(job.p, job.rest).then(
        (got) => {
          job.fetched.push({ spans: job.rest, got });
          this.settle(job, true);
          if (job.taken) this.restTaken(job);
        },
        () => {
          this.restHeld -= bytes;
          job.rest = [];
          this.settle(job, true); // the samples stand; the piece fetches the rest itself
        },
      );
    }
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
        const probe = newProbe(seg, job.span.end);
        job.probes.set(segmentKey(seg), probe);
        for (const span of probe.next(local)) mine.push({ job, seg, probe, span, local: local.slice(span.start - seg.start, span.end - seg.start) });
      }
      if (job.probes.size < job.segs.length) this.settle(job, false);
      else if (mine.length === 0) this.sampled(job);
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
        if (next.length === before) this.sampled(job);
      }
      this.askRests();
      await Promise.all(next.map((a) => fillSegments(a.local, a.span.start, [cut(a.seg, a.span)], this.input)));
      asks = next;
    }
    this.askRests();
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

/** A sampling round waits at most this long for the rounds out: one slow source does not hold every piece's sampling. */
export const ROUND_WAIT_MS = 100;

/**
 * The sampling rounds pieces still take on their own (a piece whose guess had to be tried first, or whose cut
 * guesses failed and whose other segments are sampled next) leave together: a round asked while others are out
 * waits for them (ROUND_WAIT_MS at most), and every round waiting then leaves in one engine turn. Pieces sampling
 * at the same time thus fall into step and share requests, where each round of each piece was a request of its own.
 */
export class RoundGate {
  private out = 0;
  private due = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly waitMs = ROUND_WAIT_MS) {}

  async run<T>(go: () => Promise<T>): Promise<T> {
    await new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.release();
    });
    try {
      return await go();
    } finally {
      this.out--;
      this.release();
    }
  }

  /** Once nothing is out (after the asks of this turn), or once the rounds waiting waited ROUND_WAIT_MS: they go. */
  private release(): void {
    if (this.waiting.length === 0) return;
    if (this.out > 0) return this.arm();
    if (this.due) return;
    this.due = true;
    setImmediate(() => {
      this.due = false;
      if (this.out === 0) this.go();
      else if (this.waiting.length > 0) this.arm();
    });
  }

  /** The rounds waiting go after waitMs at the latest. */
  private arm(): void {
    this.timer ??= setTimeout(() => this.go(), this.waitMs);
  }

  private go(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const go = this.waiting.splice(0);
    this.out += go.length;
    for (const r of go) r();
  }
}
