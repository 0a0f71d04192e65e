/**
 * Which piece to work on next. Pure: the facts are passed in, and the
 * random tie-break is injected, so a test sets a scenario up with plain
 * values.
 *
 * Order: pieces some source has before pieces nobody has; then rarest first
 * (fewest peers have it: spreads the swarm's copies, so leechers that start
 * together have something to trade; a piece only web seeds have comes after
 * the pieces peers have, so the web seeds take what the peers cannot give);
 * then partial first (fewest bytes still missing after local filling:
 * finishes cheap pieces and frees their memory); then, with peers, a random
 * tie-break, so leechers do not all ask the same piece; without peers, in
 * order, so one web-seed request covers neighbouring pieces.
 */
import type { PieceIndex } from '../core/ids.js';

export interface PieceFacts {
  /** How many connected peers have the piece. */
  availability(piece: PieceIndex): number;
  /** Bytes of the piece still to fetch after local filling (unknown: the piece length). */
  missingBytes(piece: PieceIndex): number;
  /** Whether a web seed can serve any piece. */
  readonly webSeeds: boolean;
  /** Whether any peer is connected (then ties break at random). */
  readonly peers: boolean;
}

/** Index in `remaining` of the piece to work on next; -1 when empty. */
export function pickPiece(remaining: readonly PieceIndex[], facts: PieceFacts, random: () => number): number {
  let best = -1;
  let bestKey: number[] | undefined;
  for (let i = 0; i < remaining.length; i++) {
    const p = remaining[i]!;
    const avail = facts.availability(p);
    const key = [
      avail > 0 || facts.webSeeds ? 0 : 1,
      avail > 0 ? avail : Number.MAX_SAFE_INTEGER,
      facts.peers ? facts.missingBytes(p) : 0,
      facts.peers ? random() : p,
    ];
    if (!bestKey || less(key, bestKey)) {
      best = i;
      bestKey = key;
    }
  }
  return best;
}

function less(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

/**
 * The same order as pickPiece, kept up to date instead of recomputed: a pick
 * costs O(log n) plus the number of availability levels, not a scan of every
 * remaining piece (a scan per pick made a 16,384-piece sync spend 43% of its
 * CPU here).
 *
 * Pieces are bucketed by how many connected *leechers* have them (`level`;
 * a connected seed adds one to every piece alike, so it changes no order,
 * except that it makes the pieces no leecher has the rarest instead of the
 * last). Each level is a binary heap ordered by (missing bytes, a random
 * rank drawn once per piece): partial first, then a tie-break that differs
 * from leecher to leecher. A level change pushes a fresh entry; the old one
 * is dropped when it surfaces (its version is stale). Without peers, pieces
 * go in index order from a cursor. Pure: levels, missing bytes and the
 * random source are passed in.
 *
 * One departure from pickPiece: with a seed connected, every other pick is
 * the rarest piece some leecher has (level 1 and up) instead of one no
 * leecher has. Only the seed can give a piece no leecher has, so strictly
 * rarest first filled the window with such pieces and left the leechers'
 * pipelines empty until the seed had sent every piece once (a 4-leecher
 * loopback swarm, per-connection trace); alternating, the 1 -> 4 swarm took
 * 8.5-14.9 s against 8.7-19.1 s, faster in 4 of 4 alternating rounds, each
 * leecher 2.2-3.4 s of CPU against 2.7-4.5 s (load 6-10, 200 MiB).
 */
interface Entry {
  readonly piece: PieceIndex;
  readonly missing: number;
  readonly rank: number;
  readonly version: number;
}

function before(a: Entry, b: Entry): boolean {
  return a.missing !== b.missing ? a.missing < b.missing : a.rank !== b.rank ? a.rank < b.rank : a.piece < b.piece;
}

class EntryHeap {
  private readonly items: Entry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Entry | undefined {
    return this.items[0];
  }

  push(e: Entry): void {
    const a = this.items;
    let i = a.push(e) - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!before(e, a[up]!)) break;
      a[i] = a[up]!;
      i = up;
    }
    a[i] = e;
  }

  pop(): void {
    const a = this.items;
    const last = a.pop()!;
    if (a.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const c = l + 1 < a.length && before(a[l + 1]!, a[l]!) ? l + 1 : l;
      if (!before(a[c]!, last)) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
  }
}

export interface PickerFacts {
  /** Connected leechers (peers without every piece) that have piece p. */
  level(piece: PieceIndex): number;
  /** Bytes of piece p still to fetch after local filling. */
  missingBytes(piece: PieceIndex): number;
}

export class PiecePicker {
  /** Per piece: 0 taken or never given, else 1 + the version of its live heap entry. */
  private readonly live: Map<PieceIndex, number> = new Map();
  private readonly levels: EntryHeap[] = [];
  private readonly levelOf = new Map<PieceIndex, number>();
  private readonly ranks = new Map<PieceIndex, number>();
  /** Live pieces per level (skips empty levels without draining their stale entries). */
  private readonly counts: number[] = [];
  private readonly inOrder: readonly PieceIndex[];
  private cursor = 0;
  /** Picks made with a seed connected (they alternate, see next). */
  private seedPicks = 0;

  /** `pieces`: the pieces to hand out, in index order. */
  constructor(
    pieces: readonly PieceIndex[],
    private readonly facts: PickerFacts,
    random: () => number,
  ) {
    this.inOrder = pieces;
    for (const p of pieces) {
      this.ranks.set(p, random());
      this.live.set(p, 0);
      this.place(p);
    }
  }

  /** Pieces not handed out yet. */
  get size(): number {
    return this.live.size;
  }

  has(p: PieceIndex): boolean {
    return this.live.has(p);
  }

  /** Piece p is handed out by other means (look-ahead took it): it is not picked any more. */
  take(p: PieceIndex): boolean {
    const level = this.levelOf.get(p);
    if (!this.live.delete(p) || level === undefined) return false;
    this.counts[level]!--;
    this.levelOf.delete(p);
    return true;
  }

  /** How many leechers have p changed (facts.level(p) is the new count). */
  changed(p: PieceIndex): void {
    const level = this.levelOf.get(p);
    if (level === undefined || level === this.facts.level(p)) return;
    this.counts[level]!--;
    this.place(p);
  }

  /**
   * Hands out the next piece: with peers connected, rarest first (`seeds`:
   * a connected seed makes the pieces no leecher has the rarest, and every
   * other pick is the rarest piece some leecher has), then
   * fewest bytes missing, then the random rank; without peers, in order.
   */
  next(peers: boolean, seeds: boolean): PieceIndex | undefined {
    if (this.live.size === 0) return undefined;
    let p: PieceIndex | undefined;
    if (!peers) {
      while (!this.live.has(this.inOrder[this.cursor]!)) this.cursor++;
      p = this.inOrder[this.cursor]!;
    } else if (seeds) {
      // Every other pick, the rarest piece some leecher has: the leechers get work of their own (see the class comment).
      if (this.seedPicks++ % 2 === 1) for (let l = 1; l < this.levels.length && p === undefined; l++) p = this.top(l);
      for (let l = 0; l < this.levels.length && p === undefined; l++) p = this.top(l);
    } else {
      // No seed: a piece no leecher has comes after every piece some peer has.
      for (let l = 1; l < this.levels.length && p === undefined; l++) p = this.top(l);
      p ??= this.top(0);
    }
    if (p !== undefined) this.take(p);
    return p;
  }

  /** The best live piece of `level`, dropping stale entries on the way; undefined when it has none. */
  private top(level: number): PieceIndex | undefined {
    if ((this.counts[level] ?? 0) === 0) return undefined;
    const heap = this.levels[level]!;
    for (let e = heap.peek(); e; e = heap.peek()) {
      if (this.live.get(e.piece) === e.version) return e.piece;
      heap.pop();
    }
    return undefined;
  }

  private place(p: PieceIndex): void {
    const level = this.facts.level(p);
    const version = this.live.get(p)! + 1;
    this.live.set(p, version);
    this.levelOf.set(p, level);
    while (this.levels.length <= level) {
      this.levels.push(new EntryHeap());
      this.counts.push(0);
    }
    this.counts[level]!++;
    this.levels[level]!.push({ piece: p, missing: this.facts.missingBytes(p), rank: this.ranks.get(p)!, version });
  }
}
