/**
 * What guesses that turn out wrong will cost in the pieces a plan has not
 * assembled yet, from evidence found in the pieces it has: before a plan is
 * reported, the pieces holding planning bytes are assembled and verified
 * (planning-check.ts), so there every guessed segment can be compared with
 * the true bytes. The share of each reason's guessed bytes found wrong there
 * is taken as its share in the other pieces (damped by one piece of right
 * bytes, so that a few checked bytes do not speak for a whole image), and a wrong segment as fetched
 * (assembly drops it, or samples find little of it right). Reasons with a
 * cost model of their own (a changed block's expected share, plan.ts) are
 * left to it. No constant tuned to an image: a nested file changed in place
 * with the same block sizes, or a re-encoded cluster whose guessed input was
 * wrong, shows up here as often as the image has them.
 */
import { pieceIndex } from '../core/ids.js';
import { CERTAINTY } from '../delta/guess-policy.js';
import { CACHE_SOURCE, pieceSpan, segmentsIn, ZERO_SOURCE, type Plan, type Reason } from '../delta/plan.js';
import type { ByteSource } from '../store/byte-source.js';

/** Reasons whose failures summarize() already prices. */
const PRICED: ReadonlySet<Reason> = new Set<Reason>(['changed-block']);

/**
 * Expected bytes fetched because guesses of the pieces not `verified` are
 * wrong; `truth` reads the verified pieces, `sources` the plan's sources.
 * Pieces `known` (hashed as built locally: piece-evidence.ts localVerdicts, priced there) are left out.
 */
export async function expectedWrongGuessBytes(plan: Plan, verified: readonly boolean[], truth: ByteSource, sources: readonly (ByteSource | undefined)[], known: (p: number) => boolean = () => false): Promise<number> {
  const total = new Map<Reason, number>();
  const wrong = new Map<Reason, number>();
  const rest = new Map<Reason, number>();
  const add = (m: Map<Reason, number>, r: Reason, n: number) => m.set(r, (m.get(r) ?? 0) + n);
  const segsOf = (p: number) => {
    const span = pieceSpan(plan, pieceIndex(p));
    const segs = [...segmentsIn(plan.local, span.start, span.end), ...segmentsIn(plan.guesses[0] ?? [], span.start, span.end)].filter(
      (s) => !CERTAINTY[s.reason].exact && !PRICED.has(s.reason) && s.source !== CACHE_SOURCE && (s.source === ZERO_SOURCE || sources[s.source] !== undefined),
    );
    return { span, segs };
  };
  // First what is left to price, without reading: the checked pieces are compared with their sources only for the
  // reasons some other piece holds (reading them back costs a second per 150 MB of guesses; the EROFS bench pair's
  // upgrade has none left, every other piece being checked or hashed as built locally).
  for (let p = 0; p < plan.pieceCount; p++) if (!verified[p] && !known(p)) for (const s of segsOf(p).segs) add(rest, s.reason, s.end - s.start);
  for (let p = 0; p < plan.pieceCount; p++) {
    if (!verified[p]) continue;
    const { span, segs: all } = segsOf(p);
    const segs = all.filter((s) => rest.has(s.reason));
    if (segs.length === 0) continue;
    const real = await truth.read(span.start, span.end - span.start);
    for (const s of segs) {
      const len = s.end - s.start;
      const want = real.subarray(s.start - span.start, s.end - span.start);
      const right = s.source === ZERO_SOURCE ? want.every((b) => b === 0) : Buffer.compare(await sources[s.source]!.read(s.sourceOffset, len), want) === 0;
      add(total, s.reason, len);
      if (!right) add(wrong, s.reason, len);
    }
  }
  let n = 0;
  for (const [r, bytes] of rest) {
    const seen = total.get(r) ?? 0;
    // As if one more piece of the reason had been checked and found right: a single short wrong segment among a
    // few checked bytes is not extrapolated onto a whole image.
    if (seen > 0) n += (bytes * (wrong.get(r) ?? 0)) / (seen + plan.pieceLength);
  }
  return Math.round(n);
}
