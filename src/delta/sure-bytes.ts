/**
 * What the plan tells the download engine about each piece (engine.ts
 * PlanFacts): the bytes it still misses after local filling (the picker's
 * partial-first order), and its "sure" bytes, which look-ahead may fetch
 * before the piece starts.
 *
 * Sure bytes are the bytes of a piece that neither the exact local layer
 * nor any guess layer covers. Every network attempt of that piece (assemble
 * steps 2, 3 and 5) fetches them, and no attempt without the network (step
 * 1) can succeed while they exist, so fetching them early costs no byte.
 * They are bridged exactly as the piece's own fetch bridges its ranges, so
 * the blocks asked ahead are the blocks the piece asks. Pure.
 */
import { allPieces, type PieceIndex } from '../core/ids.js';
import { bridgeSpans, clipSpans, mergeSpans, spanBytes, subtractSpans, type Span } from '../core/span.js';
import { BRIDGE_BYTES, pieceSpan, segmentsIn, type Plan } from './plan.js';

/** `need` as a fetch asks it: holes under BRIDGE_BYTES bridged, unless a hole is already in `have`. */
export function bridged(need: readonly Span[], have: readonly Span[] = []): Span[] {
  return bridgeSpans(need, BRIDGE_BYTES, have);
}

/** Fetched bytes shorter than this between two ranges to fetch are fetched again: cheaper than a multipart part's some 100 bytes of framing. */
export const REFETCH_BELOW = 128;

/**
 * The ranges a piece asks for `wanted` once `fetched` (its samples) is in hand: what is not fetched yet, bridged
 * as a fetch bridges (`bridged`), and fetched holes shorter than REFETCH_BELOW asked again. Assembly asks these
 * (delta/assemble.ts); the plan prices them (sync/evidence-fetch.ts).
 */
export function stillToFetch(wanted: readonly Span[], fetched: readonly Span[]): Span[] {
  return bridgeSpans(bridged(subtractSpans(mergeSpans(wanted), fetched), fetched), REFETCH_BELOW);
}

/** The bytes of piece `p` that every network attempt of it fetches (see the module comment), unbridged. */
export function surelyFetched(plan: Plan, p: PieceIndex): Span[] {
  const span = pieceSpan(plan, p);
  const local = mergeSpans(segmentsIn(plan.local, span.start, span.end));
  const gaps = subtractSpans([span], local);
  if (gaps.length === 0) return [];
  const guessed = mergeSpans(plan.guesses.flatMap((g) => segmentsIn(g, span.start, span.end)));
  return subtractSpans(gaps, guessed);
}

export interface PieceNeeds {
  missingBytes(p: PieceIndex): number;
  readonly aheadCandidates: readonly PieceIndex[];
  sure(p: PieceIndex): readonly Span[];
}

/** The engine's plan facts for the pieces not yet verified (`have`). */
export function pieceNeeds(plan: Plan, have: readonly boolean[]): PieceNeeds {
  const missing = new Float64Array(plan.pieceCount);
  const candidates: PieceIndex[] = [];
  for (const p of allPieces(plan.pieceCount)) {
    const s = pieceSpan(plan, p);
    missing[p] = spanBytes(clipSpans(plan.fetch, s.start, s.end, true));
    if (!have[p] && missing[p]! > 0) candidates.push(p);
  }
  const sure = new Map<PieceIndex, Span[]>();
  return {
    missingBytes: (p) => missing[p] ?? plan.pieceLength,
    aheadCandidates: candidates,
    sure: (p) => {
      let s = sure.get(p);
      if (!s) {
        s = bridged(surelyFetched(plan, p));
        sure.set(p, s);
        // A window of pieces is asked about at a time: keep the cache small.
        if (sure.size > 256) sure.delete(sure.keys().next().value!);
      }
      return s;
    },
  };
}
