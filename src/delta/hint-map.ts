/**
 * Turns a delta hint set into plan segments, and checks that a local image
 * really is the one a hint set was computed against before trusting it.
 *
 * The check needs no torrent of the source image: it assembles a few target
 * pieces that the set covers completely (from the candidate image and zeros)
 * and compares them with the target's own piece hashes. If any such piece
 * verifies, the candidate is the set's source (a wrong image cannot produce
 * a whole piece with the right SHA-1). Sets that cover no whole piece are
 * accepted when the candidate has the right size for its runs; the pieces
 * are verified when assembled anyway.
 */
import type { ByteSource } from '../store/byte-source.js';
import type { HintSet } from './hint-format.js';
import { pieceSpan, segmentsIn, ZERO_SOURCE, type LocalSegment } from './plan.js';
import { clipSpans, mergeSpans, subtractSpans } from '../core/span.js';
import { allPieces, type PieceIndex } from '../core/ids.js';
import { pieceCheckOf, type CheckSource } from '../torrent/piece-check.js';

/** How many fully covered pieces to try when checking a candidate image. */
const PROBE_PIECES = 3;

export function hintSegments(set: HintSet, sourceIndex: number): LocalSegment[] {
  const segs: LocalSegment[] = set.runs.map((r) => ({ start: r.target, end: r.target + r.length, source: sourceIndex, sourceOffset: r.source, reason: 'hint' as const }));
  for (const z of set.zeros) segs.push({ start: z.start, end: z.end, source: ZERO_SOURCE, sourceOffset: 0, reason: 'hint' });
  return segs.sort((a, b) => a.start - b.start);
}

/** Whether the set's runs stay inside the target and the candidate. */
export function hintFits(set: HintSet, targetLength: number, sourceSize: number): boolean {
  for (const r of set.runs) if (r.target + r.length > targetLength || r.source + r.length > sourceSize) return false;
  for (const z of set.zeros) if (z.end > targetLength) return false;
  return true;
}

/**
 * Whether `candidate` is the image `set` was computed against: 'yes' (a
 * covered piece verified), 'no' (covered pieces failed), or 'unknown' (no
 * piece is fully covered).
 */
export async function probeHintSource(
  set: HintSet,
  candidate: ByteSource,
  target: CheckSource,
): Promise<'yes' | 'no' | 'unknown'> {
  if (!hintFits(set, target.length, candidate.size)) return 'no';
  const segs = hintSegments(set, 0);
  const spans = mergeSpans(segs);
  const pieceCount = Math.ceil(target.length / target.pieceLength);
  // Candidates: pieces fully covered, preferring ones with the most run bytes.
  const covered: PieceIndex[] = [];
  for (const p of allPieces(pieceCount)) {
    if (covered.length >= 64) break;
    const sp = pieceSpan(target, p);
    if (subtractSpans([sp], clipSpans(spans, sp.start, sp.end, true)).length === 0 && segmentsIn(segs, sp.start, sp.end).some((s) => s.source === 0)) covered.push(p);
  }
  if (covered.length === 0) return 'unknown';
  const picks = [covered[0]!, covered[Math.floor(covered.length / 2)]!, covered[covered.length - 1]!].slice(0, PROBE_PIECES);
  for (const p of new Set(picks)) {
    const sp = pieceSpan(target, p);
    const buf = new Uint8Array(sp.end - sp.start);
    for (const s of segmentsIn(segs, sp.start, sp.end)) {
      if (s.source !== 0) continue;
      buf.set(await candidate.read(s.sourceOffset, s.end - s.start), s.start - sp.start);
    }
    if (pieceCheckOf(target).matches(p, buf)) return 'yes';
  }
  return 'no';
}
