/**
 * Look-ahead for web seeds: when a piece needs the network, the bytes the
 * next pieces will surely fetch leave in the same multi-range request, and
 * wait in memory until those pieces start.
 *
 * "Surely": the bytes of a piece that neither the exact local layer nor any
 * guess layer covers. Every network attempt of that piece (assemble steps
 * 2, 3 and 5) fetches them, and no attempt without the network (step 1) can
 * succeed while they exist, so fetching them early costs no byte. Holes
 * shorter than the bridge are bridged the same way the piece would.
 *
 * Bounds: only pieces within LOOK_AHEAD_PIECES of the asking one, not yet
 * started, not verified, not already claimed; at most MAX_AHEAD_RANGES
 * ranges (one HTTP request) and MAX_AHEAD_BYTES per request. Used only when
 * pieces are taken in order (no `pick`), so the pieces fetched ahead start
 * soon and memory stays at a few MiB.
 */
import type { Blame } from '../core/ports.js';
import { pieceSpan, segmentsIn, type Plan } from './plan.js';
import { mergeSpans, subtractSpans, type Span } from '../core/span.js';
import { pieceIndex, type PieceIndex } from '../core/ids.js';

/** Pieces past the starting one whose bytes may join a request (8 workers in flight + a window of 24). */
export const LOOK_AHEAD_PIECES = 32;
/** A request for the pieces ahead leaves once the nearest of them is this close: twice the 8 pieces in flight, so it is back before a worker needs it. */
export const LOOK_AHEAD_NEAR = 16;
/** Ranges in one request: MirrorPool sends up to 48 (MAX_RANGES_PER_REQUEST) in one. */
export const MAX_AHEAD_RANGES = 40;
/** Bytes fetched ahead per request: 16 whole 256 KiB pieces. */
export const MAX_AHEAD_BYTES = 4 * 1024 * 1024;

/** Bytes fetched for one piece: sorted, disjoint spans with their bytes, and who sent them. */
export interface Fetched<Who> {
  readonly spans: readonly Span[];
  readonly parts: readonly Uint8Array[];
  readonly seed: Who;
  readonly blame?: Blame<Who>;
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

/** The part of `blame` inside [start, end). */
function clipBlame<Who>(blame: Blame<Who> | undefined, start: number, end: number): Blame<Who> | undefined {
  if (!blame) return undefined;
  return blame.filter((b) => b.end > start && b.start < end).map((b) => ({ start: Math.max(b.start, start), end: Math.min(b.end, end), who: b.who }));
}

export class LookAhead<Who> {
  private readonly started = new Set<number>();
  private readonly ahead = new Map<number, Promise<Fetched<Who> | undefined>>();

  constructor(
    private readonly plan: Plan,
    private readonly have: readonly boolean[],
    /** PieceFetcher.fetchMany of the sync's fetcher. */
    private readonly fetchMany: (ranges: readonly Span[]) => Promise<{ parts: Uint8Array[]; seed: Who; blame?: Blame<Who> }>,
    private readonly bridge: (ranges: readonly Span[]) => Span[],
  ) {}

  /**
   * Piece `p` starts: returns what was fetched for it ahead of time (waiting
   * for the request still in flight), or, when it surely needs the network
   * and nothing was, its sure bytes fetched now together with those of the
   * pieces after it. Also sends a request for the pieces ahead once the
   * nearest of them is within LOOK_AHEAD_NEAR pieces, so their bytes arrive
   * before a worker reaches them. Undefined: nothing fetched for `p` (all
   * local, or the request failed: the piece then fetches what it needs itself).
   */
  start(p: PieceIndex, onFetched: (bytes: number) => void): Promise<Fetched<Who> | undefined> {
    this.started.add(p);
    const waiting = this.ahead.get(p);
    if (waiting) this.ahead.delete(p);
    const own = waiting ? [] : this.bridge(surelyFetched(this.plan, p));
    // The pieces ahead that may join: their sure bytes, within the bounds.
    const joined: { piece: number; ranges: Span[] }[] = [];
    let ranges = own.length;
    let bytes = own.reduce((n, r) => n + r.end - r.start, 0);
    for (let q = p + 1; q < Math.min(this.plan.pieceCount, p + 1 + LOOK_AHEAD_PIECES); q++) {
      if (this.have[q] || this.started.has(q) || this.ahead.has(q)) continue;
      const need = this.needOf(pieceIndex(q));
      if (need.length === 0) continue;
      const size = need.reduce((n, r) => n + r.end - r.start, 0);
      if (ranges + need.length > MAX_AHEAD_RANGES || bytes + size > MAX_AHEAD_BYTES) break;
      ranges += need.length;
      bytes += size;
      joined.push({ piece: q, ranges: need });
    }
    const send = own.length > 0 || (joined.length > 0 && joined[0]!.piece <= p + LOOK_AHEAD_NEAR);
    if (!send) return waiting ?? Promise.resolve(undefined);
    const request = this.send([own, ...joined.map((j) => j.ranges)], onFetched);
    joined.forEach((j, i) => this.ahead.set(j.piece, request.then((r) => r?.[i + 1], () => undefined)));
    if (waiting) {
      request.catch(() => undefined);
      return waiting;
    }
    return request.then((r) => r?.[0]);
  }

  /** Sure bytes of piece q, bridged (computed once: a piece may be looked at by several pieces before it). */
  private needOf(q: PieceIndex): Span[] {
    let need = this.needs.get(q);
    if (!need) {
      need = this.bridge(surelyFetched(this.plan, q));
      this.needs.set(q, need);
      if (this.needs.size > 4 * LOOK_AHEAD_PIECES) this.needs.delete(this.needs.keys().next().value!);
    }
    return need;
  }

  private readonly needs = new Map<number, Span[]>();

  /** One request for the ranges of several pieces; the bytes of each (undefined for a piece with no range). */
  private async send(lists: readonly (readonly Span[])[], onFetched: (bytes: number) => void): Promise<(Fetched<Who> | undefined)[]> {
    const all = mergeSpans(lists.flat());
    const got = await this.fetchMany(all);
    onFetched(got.parts.reduce((n, b) => n + b.length, 0));
    return lists.map((list) => {
      if (list.length === 0) return undefined;
      const parts: Uint8Array[] = [];
      let k = 0;
      for (const r of list) {
        while (all[k]!.end < r.end) k++;
        parts.push(got.parts[k]!.subarray(r.start - all[k]!.start, r.end - all[k]!.start));
      }
      const blame = clipBlame(got.blame, list[0]!.start, list[list.length - 1]!.end);
      return { spans: list, parts, seed: got.seed, ...(blame ? { blame } : {}) };
    });
  }
}
