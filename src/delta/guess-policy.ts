/**
 * What a piece does when its local bytes fail the hash: the policy, pure.
 *
 * Every local segment of a piece is either exact (delta hints, bytes
 * verified by an earlier run, bytes fetched while planning) or evidence
 * based (files mapped by name and size, nested files mapped by block sizes,
 * the same offset in a source, assumed zeros). When a piece fails:
 *   1. evidence-based segments are dropped (fetched instead) in groups, the
 *      least certain reason first and, within a reason, the smallest first,
 *      and the piece is verified again after each group;
 *   2. only when every evidence-based segment is dropped and the piece still
 *      fails is it fetched whole (then even an "exact" segment was wrong).
 * What a failure teaches is kept in a Distrust: a mapping (a source and the
 * shift between its bytes and the target's) whose segment had to be dropped
 * for a piece to verify is not trusted where it continues in later pieces —
 * its bytes there are fetched from the start, so a wrong mapping costs about
 * one piece, not one piece per piece. The bytes fetched because a guess was wrong are counted
 * apart ("guessed wrong, fetched again").
 */
import type { LocalSegment, Reason } from './plan.js';
import type { Span } from '../core/span.js';
import { MappingSet } from './mapping-set.js';

/** How much a reason is trusted: exact reasons are never dropped before a whole fetch; evidence ranks low to high. */
export const CERTAINTY: Readonly<Record<Reason, { readonly exact: boolean; readonly rank: number }>> = {
  hint: { exact: true, rank: 9 },
  resumed: { exact: true, rank: 9 },
  fetched: { exact: true, rank: 9 },
  received: { exact: true, rank: 9 },
  'same-file': { exact: false, rank: 4 },
  'moved-file': { exact: false, rank: 3 },
  'loose-file': { exact: false, rank: 3 },
  'nested-file': { exact: false, rank: 2 },
  reencoded: { exact: false, rank: 2 },
  'changed-block': { exact: false, rank: 1 },
  zero: { exact: false, rank: 1 },
  'same-offset': { exact: false, rank: 0 },
};

/** Evidence-based segments dropped per retry; a piece is re-verified after each group. */
export const DROP_GROUPS = 3;

/** The identity of a mapping: its source and the shift from target to source offsets. */
export function mappingKey(seg: LocalSegment): string {
  return `${seg.source}:${seg.sourceOffset - seg.start}`;
}

/**
 * Mappings that failed in an earlier piece; shared by all pieces of a sync.
 * A failed segment is not trusted where it continues (the same mapping from
 * the byte where it ended: the next piece of the same file), and neither is
 * that continuation's own continuation. The shift alone would say too much:
 * every unchanged file after an insertion shares one shift, and every file
 * at its old place shares shift 0.
 */
export class Distrust {
  /** By the target offset where a failed mapping would continue: its source and shift (mappingKey's parts, as numbers). */
  private readonly failed = new MappingSet();

  /** Records failed segments (and distrusted ones met again, so the chain goes on). */
  learn(dropped: readonly LocalSegment[]): void {
    for (const s of dropped) if (!CERTAINTY[s.reason].exact) this.failed.add(s.end, s.source, s.sourceOffset - s.start);
  }

  /** Asked for every segment of every piece: one probe of the table, no key made. */
  trusts(seg: LocalSegment): boolean {
    return CERTAINTY[seg.reason].exact || !this.failed.has(seg.start, seg.source, seg.sourceOffset - seg.start);
  }

  get size(): number {
    return this.failed.size;
  }
}

export interface Attempt {
  /** Segments to fill from local sources. */
  readonly keep: readonly LocalSegment[];
  /** Segments not trusted in this attempt: their bytes are fetched. */
  readonly dropped: readonly LocalSegment[];
}

/**
 * What samples said of a segment (probe.ts), before its reason: a segment
 * not sampled (too short, or of a reason not sampled) is the likeliest
 * culprit of a piece that still fails after sampling, one whose samples
 * turned from agreement to difference (a changed block's prefix, cut before
 * the turn) next, one whose every sample agreed the least likely.
 */
export const SAMPLED_NOT = 0;
export const SAMPLED_MIXED = 1;
export const SAMPLED_AGREED = 2;
export type Sampled = typeof SAMPLED_NOT | typeof SAMPLED_MIXED | typeof SAMPLED_AGREED;

/**
 * The attempts for a piece, in order: first every trusted segment; then,
 * after each failure, the next group of evidence-based segments dropped
 * (least sampled-certain, then least certain reason, then smallest, first),
 * cumulatively. The caller fetches the piece's gaps plus the dropped
 * segments' bytes; when all attempts fail it fetches the piece whole.
 */
export function attempts(segs: readonly LocalSegment[], distrust: Distrust, groups = DROP_GROUPS, sampled: (s: LocalSegment) => Sampled = () => SAMPLED_NOT): Attempt[] {
  const trusted = segs.filter((s) => distrust.trusts(s));
  const untrusted = segs.filter((s) => !distrust.trusts(s));
  const suspects = trusted
    .filter((s) => !CERTAINTY[s.reason].exact)
    .sort((a, b) => sampled(a) - sampled(b) || CERTAINTY[a.reason].rank - CERTAINTY[b.reason].rank || a.end - a.start - (b.end - b.start) || a.start - b.start);
  const out: Attempt[] = [{ keep: trusted, dropped: untrusted }];
  if (suspects.length === 0) return out;
  const n = Math.min(groups, suspects.length);
  // Group g drops the first ceil(g/n) share of the suspects (the last group drops them all); a group also ends where
  // what the samples said changes, so that segments no sample checked go before any a sample confirmed.
  const ends = new Set<number>();
  for (let g = 1; g <= n; g++) ends.add(g === n ? suspects.length : Math.ceil((suspects.length * g) / n));
  for (let i = 1; i < suspects.length; i++) if (sampled(suspects[i]!) !== sampled(suspects[i - 1]!)) ends.add(i);
  for (const upTo of [...ends].sort((a, b) => a - b)) {
    const drop = new Set(suspects.slice(0, upTo));
    out.push({ keep: trusted.filter((s) => !drop.has(s)), dropped: [...untrusted, ...suspects.slice(0, upTo)] });
  }
  return out;
}

/**
 * After a piece verified with attempt `k` of `list`: the segments that were
 * wrong are, at most, those dropped by attempt k but not by attempt k-1
 * (attempt 0 needed nothing dropped). They are learned as distrusted; their
 * bytes are "guessed wrong, fetched again".
 */
export function learnFrom(list: readonly Attempt[], k: number, distrust: Distrust): { wrong: LocalSegment[]; wrongBytes: number } {
  if (k <= 0) return { wrong: [], wrongBytes: 0 };
  const before = new Set(list[k - 1]!.dropped);
  const wrong = list[k]!.dropped.filter((s) => !before.has(s));
  distrust.learn(wrong);
  return { wrong, wrongBytes: wrong.reduce((n, s) => n + (s.end - s.start), 0) };
}

/** Byte spans of segments (for the fetch of dropped ones). */
export function spansOf(segs: readonly LocalSegment[]): Span[] {
  return segs.map((s) => ({ start: s.start, end: s.end }));
}
