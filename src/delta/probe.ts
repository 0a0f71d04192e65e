/**
 * Probing a doubtful local segment: a few small fetched samples, compared
 * with the local bytes, tell which parts of a guess hold.
 *
 * A piece hash says only "all right" or "something wrong". When a piece
 * fails, each evidence-based segment of it (a nested file's stored blocks
 * mapped by their sizes, a changed compressed block guessed from the old
 * one, a file of the same name and size) is sampled instead of being
 * fetched whole: PROBE_BYTES at evenly spaced offsets, the first and last
 * bytes of the segment included. A sample that equals the local bytes says
 * the guess holds there; one that differs says it does not. The gaps
 * between samples are kept when both neighbours agree, fetched when both
 * differ, and sampled again, more closely, where agreement turns into
 * difference (up to PROBE_ROUNDS rounds; then fetched).
 *
 * This is what a changed compressed block needs: the compressor writes the
 * same bytes up to the first change (xz after its few header bytes, lz4,
 * gzip), then different ones to the end, so the old block gives its prefix
 * and only the rest is fetched. A file changed in place keeps all but the
 * changed run; a shifted guess differs everywhere and costs its samples.
 * Every sample is a byte of the target, used as such: nothing fetched is
 * thrown away. A change between two agreeing samples is not seen: the
 * piece then fails again and the guess policy drops segments whole.
 *
 * Pure: the caller fetches the spans and hands the bytes back.
 */
import { mergeSpans, subtractSpans, type Span } from '../core/span.js';
import type { LocalSegment } from './plan.js';
import { SAMPLED_MIXED, SAMPLED_NOT, type Sampled } from './guess-policy.js';
import { lzma2ChunkHeaders, startsXzStream, XZ_STREAM_HEADER, xzHeaders } from './xz-structure.js';

export { lzma2ChunkHeaders, startsXzStream, XZ_STREAM_HEADER, xzHeaders } from './xz-structure.js';

/** Bytes per sample: longer than the few header bytes a compressor rewrites, short enough to cost little. */
export const PROBE_BYTES = 64;
/** Segments shorter than this are not sampled (two samples would cost a good share of them). */
export const PROBE_MIN_BYTES = 1024;
/** Samples per segment in the first round, and per mixed gap in the next ones (each also costs some 100 bytes of multipart framing). */
export const PROBES_PER_ROUND = 8;
/** First-round samples are at least this far apart: closer ranges are bridged by the fetch anyway. */
export const FIRST_SPACING = 2048;
/** A later round samples a mixed gap at least this far apart; a gap under two spacings is fetched. */
export const REFINE_SPACING = 256;
/** Rounds of sampling (each is one round trip for the whole piece). */
export const PROBE_ROUNDS = 2;
/**
 * A changed compressed block agrees up to one turn, then differs, and so does
 * a nested file's block changed in place (between two agreeing stretches):
 * once a gap is known to hold a turn, one short sample in its middle per
 * round halves it (each sample costs its bytes and some 100 bytes of
 * multipart framing; a round trip costs no bytes). Per sample, halving
 * places the turn better than anything else: 2 samples a round in thirds
 * (the turn to a 27th of a 64 KiB block for 8 samples) left some 1.1 KB of
 * prefix unplaced and 1.1 KB of samples per changed block and piece on the
 * live bench pair; halving places it to REFINE_SPACING for about as many.
 * A gap under two REFINE_SPACINGs is fetched: a sample there costs more
 * than the half of the gap it is expected to save.
 */
export const BISECT = { rounds: 9, bytes: 16 } as const;
/**
 * A changed block's guess (after its rewritten header, nested-map.ts
 * CHANGED_BLOCK_HEADER) is sampled first at its start only: 16 bytes
 * (twice MIN_AGREE) tell agreement from chance. Its end differs (the guess
 * is the shorter of two different lengths: one side's stream ends there, the
 * other's goes on; xz's check, a CRC of the data, differs anyway) unless the
 * segment was cut at a piece's end, where the block goes on into the next
 * piece: only then is the end sampled too.
 */
export const CHANGED_BLOCK_SCHEDULE = { first: 1, ...BISECT } as const;
/** Fewer equal bytes in a row than this are chance (compressed bytes that differ still agree 1 time in 256). */
export const MIN_AGREE = 8;
/**
 * Bytes not kept before a turn from agreement to difference, first try:
 * none. The turn lies after the last sample that agreed (the gap after it is
 * fetched whole), and a range coder's carry rewrites only the bytes just
 * before the first that differs (a byte and the 0xff run after it), which
 * that gap and sample hold: nothing before an agreeing sample differs but
 * for structure the compressor rewrites on its own (a later LZMA2 chunk
 * header: lzma2ChunkHeaders). The first try used to leave out 64 bytes (48
 * more than the last sample), some 16 KB on the live bench pair's 335
 * changed-block parts, and it was never what a failing piece needed. A
 * wrong byte kept costs a failed hash and a retry with WIDER_TURN_MARGINS.
 */
export const TURN_MARGIN = 0;
/** The margins of the next tries when a piece still fails (carries measured up to some 2.5 KiB). */
export const WIDER_TURN_MARGINS: readonly number[] = [1024, 4096];

interface Run {
  start: number;
  end: number;
  agree: boolean;
}

export interface ProbeOutcome {
  /** Parts of the segment whose local bytes are believed (the gaps between agreeing samples). */
  readonly keep: LocalSegment[];
  /** No sample agreed at all: the mapping is wrong here (and is not trusted elsewhere). */
  readonly allWrong: boolean;
  /** Every sample agreed, and no byte is known to differ: the kept parts are more certain than any segment not sampled (guess-policy.ts tiers). */
  readonly allRight: boolean;
  /** Bytes of the segment not kept (fetched: samples and the parts that differ). */
  readonly droppedBytes: number;
}

/**
 * Spacing of the dense round: a piece that still fails although every sample
 * of a segment agreed holds a change between two samples (a compressed block
 * changed without changing its length, from the change to its end; a cluster
 * of an uncompressed image rewritten in place). Samples (BISECT.bytes each)
 * at most this far apart find any changed run of this length or more: a
 * FAT image's 4 KiB cluster (at 8 KiB, with some 16 KiB between samples where
 * a gap held less than three spacings, the committed live fixture's and the
 * bench pair's EFI cluster fell between two).
 */
export const DENSE_SPACING = 4096;

/**
 * Stream magics at the start of every compressed block of a squashfs (xz:
 * each block is a whole .xz stream; zstd: a frame). Where one block ends and
 * the next begins, the bytes on either side are what a change of the block
 * before always shows (xz's check, a CRC of the uncompressed data, its index
 * and footer) and what a change of the block after often shows (its LZMA2
 * chunk sizes): one sample across each boundary finds a block changed
 * without changing its length, which evenly spaced samples miss.
 */
/** The first byte of xz's stream magic (STREAM_MAGICS[0]). */
const XZ_MAGIC_FIRST = 0xfd;
const STREAM_MAGICS: readonly (readonly number[])[] = [
  [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
  [0x28, 0xb5, 0x2f, 0xfd],
];
const MAGIC_NEEDLES = STREAM_MAGICS.map((m) => Buffer.from(m));
/** Bytes sampled before a stream start (xz: check, index and footer of the stream before) and after it (the new stream's headers). */
export const BOUNDARY_BEFORE = 32;
const BOUNDARY_AFTER = 32;

/** Offsets (relative, > 0) in `local` where a compressed stream starts. */
export function streamStarts(local: Uint8Array): number[] {
  // Buffer's indexOf of a whole magic searches natively; a typed array's indexOf of its first byte stopped at every
  // 0xfd of compressed data (one in 256 bytes) and compared the rest in JavaScript (the plan scans ~20 MB of them).
  const view = Buffer.from(local.buffer, local.byteOffset, local.byteLength);
  const out: number[] = [];
  for (const magic of MAGIC_NEEDLES) for (let i = view.indexOf(magic, 1); i > 0; i = view.indexOf(magic, i + 1)) out.push(i);
  return out.sort((a, b) => a - b);
}

/** Sampling state of one segment, over rounds. */
export class SegmentProbe {
  /** Compared bytes, sorted, disjoint; neighbours with the same verdict are joined. */
  private readonly runs: Run[] = [];
  private round = 0;
  private denseDone = false;
  /** Bytes inside the segment known to differ however far the guess holds (a changed xz block's later LZMA2 chunk headers). */
  private differs: Span[] = [];
  /** Bytes inside the segment fetched with a sample and not compared (a mapped xz block's sizes: they may differ where the data does not). */
  private readonly unsure: Span[] = [];

  /**
   * `keepShort`: whether a segment too short to sample is kept as it is (else it is dropped: a changed block's first
   * bytes are its rewritten header). `cut`: whether the segment may go on past its end (cut at a piece's end): a
   * changed block's end is sampled only then, else taken to differ (CHANGED_BLOCK_SCHEDULE).
   */
  constructor(
    readonly seg: LocalSegment,
    private readonly keepShort = true,
    cut = true,
  ) {
    if (seg.reason === 'changed-block' && !cut && this.probed) this.runs.push({ start: seg.end - 1, end: seg.end, agree: false });
  }

  /** Whether the segment is worth sampling at all. */
  get probed(): boolean {
    return this.seg.end - this.seg.start >= PROBE_MIN_BYTES;
  }

  /** The spans to sample next (sorted, disjoint, inside the segment); none once nothing is left to learn. `local`: the segment's local bytes (the first round also samples across the compressed blocks' boundaries in them). */
  next(local?: Uint8Array): Span[] {
    const changed = this.seg.reason === 'changed-block';
    const bisect = changed || this.seg.reason === 'nested-file';
    const rounds = bisect ? BISECT.rounds : PROBE_ROUNDS;
    if (!this.probed || this.round >= rounds) return [];
    const r = this.round++;
    const { start, end } = this.seg;
    if (r === 0 && changed) {
      // A guess that starts with the block's own xz headers: the sizes in them differ, the data after them is
      // sampled in the same range (one part of a multipart reply, not two).
      const header = local ? xzHeaders(local) : 0;
      if (local) this.differs = [...(header > 0 ? [{ start: start + XZ_STREAM_HEADER, end: start + header }] : []), ...lzma2ChunkHeaders(local).map((h) => ({ start: start + h.start, end: start + h.end }))];
      // The start, and the end when it is not known to differ (a run recorded there already).
      const q = CHANGED_BLOCK_SCHEDULE.bytes;
      const first = header > 0 ? { start: start + XZ_STREAM_HEADER, end: start + header + q } : { start, end: start + q };
      return this.runs.length > 0 ? [first] : [first, { start: end - q, end }];
    }
    if (r === 0) {
      const starts = local && this.seg.reason === 'nested-file' ? streamStarts(local) : [];
      const across = starts.map((o) => ({ start: Math.max(start, start + o - BOUNDARY_BEFORE), end: Math.min(end, start + o + BOUNDARY_AFTER) }));
      // xz blocks: a change anywhere differs from there to the block's end (xz's check, a CRC of the data, last), so
      // the samples across the blocks' boundaries and at the segment's two ends see every block, and evenly spaced
      // ones tell nothing more (each cost a part of a multipart reply). Not zstd: its blocks can end as they were.
      // A block's headers (its sizes) can differ where its data does not: they are fetched with the first bytes of data
      // after them, in the same range, and not compared (`unsure`).
      const xz = local !== undefined && this.seg.reason === 'nested-file' && (startsXzStream(local) || starts.some((o) => local[o] === XZ_MAGIC_FIRST));
      if (!xz) return mergeSpans([...spread(start, end, Math.min(PROBES_PER_ROUND, 2 + Math.floor((end - start) / FIRST_SPACING)), true), ...across]);
      const q = BISECT.bytes;
      const out: Span[] = [{ start: end - q, end }];
      for (const o of [...(startsXzStream(local) ? [0] : []), ...starts]) {
        const h = xzHeaders(local.subarray(o));
        if (h > 0) this.unsure.push({ start: start + o + XZ_STREAM_HEADER, end: start + o + h });
        out.push({ start: Math.max(start, start + o - BOUNDARY_BEFORE), end: Math.min(end, start + o + Math.max(h + q, BOUNDARY_AFTER)) });
      }
      if (!startsXzStream(local)) out.push({ start, end: start + q });
      return mergeSpans(out);
    }
    const [perRound, bytes] = bisect ? [1, BISECT.bytes] : [PROBES_PER_ROUND, PROBE_BYTES];
    const out: Span[] = [];
    for (const g of this.gaps()) {
      if (!g.mixed) continue;
      const n = Math.min(perRound, Math.floor((g.end - g.start) / REFINE_SPACING) - 1);
      if (n >= 1) for (const s of spread(g.start, g.end, n, false, bytes)) out.push(s);
    }
    return out;
  }

  /**
   * Once, after the rounds: samples every DENSE_SPACING inside the gaps whose both sides agreed (of a segment every
   * sample agreed with, or the agreeing part of one that turned). Uncompressed data changed in place agrees again
   * after the change (a file of a FAT image: a cluster rewritten, the rest of the file as it was), which one turn
   * does not show; a dense sample inside the change turns its gap mixed, and the rounds start again (`next`) to
   * halve both of its boundaries.
   */
  dense(): Span[] {
    if (this.denseDone || !this.probed) return [];
    this.denseDone = true;
    this.round = 1;
    const out: Span[] = [];
    for (const g of this.gaps()) {
      const n = Math.ceil((g.end - g.start) / DENSE_SPACING) - 1;
      if (g.agree && !g.mixed && n >= 1) for (const s of spread(g.start, g.end, n, false, BISECT.bytes)) out.push(s);
    }
    return out;
  }

  /** Records fetched bytes `net` of [at, at + net.length) against the local guess `local` of the same bytes. */
  record(at: number, local: Uint8Array, net: Uint8Array): void {
    // Bytes known to differ anyway tell nothing about the turn: the parts around them are recorded.
    const inside = [...this.differs, ...this.unsure].filter((d) => d.start < at + net.length && d.end > at);
    if (inside.length === 0) return this.compare(at, local, net);
    for (const k of subtractSpans([{ start: at, end: at + net.length }], mergeSpans(inside))) this.compare(k.start, local.subarray(k.start - at, k.end - at), net.subarray(k.start - at, k.end - at));
  }

  private compare(at: number, local: Uint8Array, net: Uint8Array): void {
    const runs: Run[] = [];
    for (let i = 0; i < net.length; ) {
      const agree = local[i] === net[i];
      let j = i + 1;
      while (j < net.length && (local[j] === net[j]) === agree) j++;
      runs.push({ start: at + i, end: at + j, agree });
      i = j;
    }
    // A short agreeing run between differing bytes is chance.
    for (const x of runs) if (x.agree && x.end - x.start < MIN_AGREE && runs.length > 1) x.agree = false;
    for (const x of runs) this.insert(x);
  }

  /** What to keep of the segment after the last round; `margin`: bytes not kept before a turn to difference. */
  outcome(margin = TURN_MARGIN): ProbeOutcome {
    const { seg } = this;
    if (!this.probed || this.runs.length === 0) {
      const kept = !this.probed && this.keepShort;
      return { keep: kept ? [seg] : [], allWrong: false, allRight: false, droppedBytes: kept ? 0 : seg.end - seg.start };
    }
    // Where agreement turns into difference, the last TURN_MARGIN bytes before it are not kept either.
    const turns: number[] = [];
    for (let i = 0; i + 1 < this.runs.length; i++) if (this.runs[i]!.agree && !this.runs[i + 1]!.agree) turns.push(this.runs[i]!.end);
    const keep: LocalSegment[] = [];
    const known = mergeSpans([...this.differs, ...this.unsure]);
    for (const g of this.gaps()) {
      if (g.mixed || !g.agree) continue;
      const turn = turns.find((t) => t >= g.end);
      const end = turn !== undefined && turn - margin < g.end ? Math.max(g.start, turn - margin) : g.end;
      if (end > g.start) for (const k of subtractSpans([{ start: g.start, end }], known)) keep.push({ ...seg, start: k.start, end: k.end, sourceOffset: seg.sourceOffset + (k.start - seg.start) });
    }
    const kept = keep.reduce((n, k) => n + (k.end - k.start), 0);
    return { keep, allWrong: !this.runs.some((x) => x.agree), allRight: this.runs.every((x) => x.agree) && !this.differs.some((d) => d.start < seg.end && d.end > seg.start), droppedBytes: seg.end - seg.start - kept };
  }

  /**
   * Where agreement turns into difference, as far as the samples tell: the middle of the first gap between an
   * agreeing and a differing sample (or the end of the first agreeing run, when a sample saw the turn itself); the
   * segment's start when nothing agreed, its end when nothing differed.
   */
  turn(): number {
    const { start, end } = this.seg;
    const first = this.runs.findIndex((x) => !x.agree);
    if (first < 0) return end;
    if (first === 0) return this.runs[0]!.start > start ? start + Math.floor((this.runs[0]!.start - start) / 2) : start;
    const a = this.runs[first - 1]!;
    return a.end + Math.floor((this.runs[first]!.start - a.end) / 2);
  }

  /** The unsampled gaps of the segment with the verdicts on either side. */
  private gaps(): { start: number; end: number; mixed: boolean; agree: boolean }[] {
    const out: { start: number; end: number; mixed: boolean; agree: boolean }[] = [];
    let at = this.seg.start;
    let left: boolean | undefined;
    const add = (end: number, right: boolean | undefined) => {
      if (end <= at) return;
      const l = left ?? right ?? false;
      const r = right ?? l;
      out.push({ start: at, end, mixed: l !== r, agree: l && r });
    };
    for (const x of this.runs) {
      add(x.start, x.agree);
      at = x.end;
      left = x.agree;
    }
    add(this.seg.end, undefined);
    return out;
  }

  private insert(x: Run): void {
    const { runs } = this;
    let i = runs.length;
    while (i > 0 && runs[i - 1]!.start > x.start) i--;
    runs.splice(i, 0, x);
    // Join neighbours that touch and have the same verdict (a few dozen runs at most).
    for (let k = 0; k + 1 < runs.length; ) {
      const a = runs[k]!;
      const b = runs[k + 1]!;
      if (a.end === b.start && a.agree === b.agree) {
        a.end = b.end;
        runs.splice(k + 1, 1);
      } else k++;
    }
  }
}

/** `n` samples of `bytes` spread over [start, end): touching both ends (`ends`), or strictly inside. */
function spread(start: number, end: number, n: number, ends: boolean, bytes = PROBE_BYTES): Span[] {
  const len = end - start;
  const q = Math.min(bytes, Math.floor(len / (n + 1)) || 1);
  const out: Span[] = [];
  for (let j = 0; j < n; j++) {
    const at = ends ? start + Math.round((j * (len - q)) / Math.max(1, n - 1)) : start + Math.round(((j + 1) * (len - q)) / (n + 1));
    const last = out[out.length - 1];
    if (last && at < last.end) continue;
    out.push({ start: at, end: Math.min(end, at + q) });
  }
  return out;
}

/**
 * `segs` with every sampled segment cut to what its samples confirm, and
 * the tier of each part kept (for the order in which doubt drops them:
 * guess-policy.ts `attempts`).
 */
export function cutBySamples(segs: readonly LocalSegment[], probes: ReadonlyMap<LocalSegment, SegmentProbe>, margin?: number): { kept: LocalSegment[]; said: (s: LocalSegment) => Sampled } {
  // Only a segment too short to sample goes first, before the reasons' order: dropping it costs little. Whole-file
  // mappings are not sampled by choice, and their reason's rank decides (a grown image's free space, guessed zeros
  // that every sample agreed with, can still hold old bytes: the suite's appended-session pair).
  const kept = segs.flatMap((s) => probes.get(s)?.outcome(margin).keep ?? [s]);
  return { kept, said: (s) => (s.end - s.start < PROBE_MIN_BYTES && !(probes.get(s)?.probed ?? false) ? SAMPLED_NOT : SAMPLED_MIXED) };
}

/**
 * Whether a guess layer holds a changed block's guess, long enough to sample, that ends inside the piece (`pieceEnd`):
 * such a guess is taken to differ at its end (CHANGED_BLOCK_SCHEDULE: the shorter of two different blocks, xz's check
 * last), so an attempt with the whole layer cannot verify, and assembly goes to sampling without it. On the live
 * bench pair 167 of 171 such attempts failed, each a fill and a hash, most a round trip before the first samples.
 */
export function knownToDiffer(layer: readonly LocalSegment[], pieceEnd: number): boolean {
  return layer.some((s) => s.reason === 'changed-block' && s.end < pieceEnd && s.end - s.start >= PROBE_MIN_BYTES);
}
