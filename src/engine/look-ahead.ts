/**
 * Look-ahead: while a web seed has room in its next request, the sure bytes
 * of the pieces that will be worked on next join it, and wait in memory
 * until those pieces start. With leechers present too, for the pieces no
 * connected leecher has (the others are the leechers' to trade; a seed's
 * pieces are not); the picker hands pieces taken ahead out first, in the
 * order taken.
 *
 * "Sure" bytes (delta/look-ahead.ts surelyFetched) are the bytes of a piece
 * that neither exact local bytes nor any guess layer cover: every network
 * attempt of the piece fetches them, so fetching them early costs no byte.
 * Pieces taken ahead are handed out by the picker next, in the same order,
 * so they start soon.
 *
 * Batches: once something is held, more is taken only when at least
 * AHEAD_BATCH_BYTES of the window are free (or nothing is left to take
 * after it), so the web seed gets few large requests rather than one small
 * request each time a piece starts (a stock-torrent delta of ~82 MB went
 * from ~300 requests for its pieces to a few dozen this way).
 *
 * Bounds: at most LOOK_AHEAD_PIECES pieces and LOOK_AHEAD_BYTES held or in
 * flight at once (a few MiB of memory). Pure: this chooses and remembers
 * what it took; the engine wants the blocks and keeps the bytes.
 */
import type { PieceIndex } from '../core/ids.js';
import { spanBytes, type Span } from '../core/span.js';
import { requestsFor, type Block } from './block.js';

/**
 * Pieces taken ahead at once. Bytes bound the memory; this only bounds the
 * bookkeeping: a changed package leaves a piece some tens of KiB to fetch,
 * so 32 pieces (the old bound) filled less than one request.
 */
export const LOOK_AHEAD_PIECES = 512;
/**
 * Bytes taken ahead (held or in flight) at once: two requests of AHEAD_BATCH_BYTES, one filling while the other
 * drains (half a web-seed request each, web-peer.ts REQUEST_BYTES). Held bytes are a sync's memory until their
 * pieces start: 8 MiB (two full requests) cost a DVD sync ~4-6 MiB more peak RSS, for no wall time measured
 * through 80 and 200 ms round trips at 30 and 20 MB/s, nor from a 3 MB/s mirror (docs/DESIGN.md, Memory).
 */
export const LOOK_AHEAD_BYTES = 4 * 1024 * 1024;
/** Free window below which nothing more is taken while pieces are held: one request's worth (half the window). */
export const AHEAD_BATCH_BYTES = 2 * 1024 * 1024;

export interface AheadState {
  /** Pieces in the order the picker would hand them out (not started, not taken ahead, not verified). */
  readonly next: Iterable<PieceIndex>;
  /** A piece's sure bytes, bridged as its own fetch would (empty: nothing sure). */
  sure(piece: PieceIndex): readonly Span[];
  /** Pieces taken ahead and not started yet, and their bytes. */
  readonly heldPieces: number;
  readonly heldBytes: number;
  /** Bytes the idle web seeds could take in their next requests. */
  readonly room: number;
}

/** What the plan tells the engine (delta/sure-bytes.ts pieceNeeds). */
export interface PlanFacts {
  /** Bytes of piece p still to fetch after local filling. */
  missingBytes(p: PieceIndex): number;
  /** Pieces with bytes every network attempt fetches, in order: what look-ahead may take. */
  readonly aheadCandidates: readonly PieceIndex[];
  /** Those bytes, bridged as the piece's own fetch would. */
  sure(p: PieceIndex): readonly Span[];
}

/** Seconds of a seed peer's measured rate that look-ahead takes for it beside a web seed (the web seeds' queues hold as long). */
export const SEED_AHEAD_SECONDS = 2;
/** Bytes taken for a seed peer not measured yet: enough to measure it (scheduler.ts PROBE_BYTES). */
export const SEED_PROBE_BYTES = 256 * 1024;

/**
 * The room look-ahead takes for a seed peer with free pipeline slots beside
 * a web seed: what it fetches in SEED_AHEAD_SECONDS at its measured rate
 * (engine/rate.ts). Without it the book held only what the web seeds' room
 * took, the web seeds' queues held all of it, and a seed peer beside a slow
 * mirror sat idle: 20-470 KB of a 21 MB delta beside a 2 MiB/s mirror.
 */
export function seedAheadBytes(rate: number | undefined): number {
  return rate === undefined ? SEED_PROBE_BYTES : rate * SEED_AHEAD_SECONDS;
}

/**
 * The room look-ahead may fill now: the ready web seeds' room in their next
 * requests (`webRooms`), and beside them each seed peer's with free slots
 * (`seedRates`: their measured rates, seedAheadBytes), less the bytes
 * already waiting for a first ask. Nothing without a web seed (the peers'
 * deep window feeds them then: piece-window.ts).
 */
export function aheadRoom(webRooms: readonly number[], seedRates: readonly (number | undefined)[], unaskedBytes: number): number {
  if (webRooms.length === 0) return 0;
  let room = -unaskedBytes;
  for (const r of webRooms) room += r;
  for (const r of seedRates) room += seedAheadBytes(r);
  return Math.max(0, room);
}

/**
 * Whether look-ahead leaves piece p to the peers. With a leecher connected
 * (a swarm that trades, as `isosync serve`'s clients do): every piece a peer
 * has, a seed's too, since what the web seed takes ahead every leecher takes
 * from it again, where the swarm passes one copy on. With seeds only: none,
 * so look-ahead takes a seed's pieces too (the web seed and the seed then
 * split them, the faster first).
 */
export function leftToPeers(availability: number, seeds: number, connected: number): boolean {
  return connected > seeds ? availability > 0 : availability > seeds;
}

/** The pieces to take ahead now, with their sure bytes; stops at the first piece that does not fit. */
export function takeAhead(s: AheadState): { piece: PieceIndex; ranges: readonly Span[] }[] {
  const out: { piece: PieceIndex; ranges: readonly Span[] }[] = [];
  let pieces = s.heldPieces;
  let bytes = s.heldBytes;
  let room = s.room;
  if (room <= 0) return out;
  // A small free window waits (pieces in hand keep the workers busy) until a full request's worth is free.
  const waits = s.heldBytes > 0 && (LOOK_AHEAD_BYTES - s.heldBytes < AHEAD_BATCH_BYTES || LOOK_AHEAD_PIECES - s.heldPieces < LOOK_AHEAD_PIECES / 2);
  for (const p of s.next) {
    if (pieces >= LOOK_AHEAD_PIECES) break;
    const ranges = s.sure(p);
    const n = spanBytes(ranges);
    if (n === 0) continue;
    if (waits || bytes + n > LOOK_AHEAD_BYTES || n > room) break;
    out.push({ piece: p, ranges });
    pieces++;
    bytes += n;
    room -= n;
  }
  return out;
}

/** The pieces taken ahead, and the blocks wanted for them. */
export class AheadPieces {
  /** Taken and not started yet, in the order they will be handed out, with their bytes. */
  private readonly waiting = new Map<PieceIndex, number>();
  /** The blocks wanted for each piece taken, until it is done. */
  private readonly blocks = new Map<PieceIndex, Block[]>();
  private cursor = 0;

  constructor(
    private readonly length: number,
    private readonly pieceLength: number,
  ) {}

  /** Takes pieces ahead for `room` bytes (`out`: started or finished pieces); returns the blocks to want. */
  take(plan: PlanFacts, room: number, out: (p: PieceIndex) => boolean): Block[] {
    let heldBytes = 0;
    for (const n of this.waiting.values()) heldBytes += n;
    const wanted: Block[] = [];
    for (const t of takeAhead({ next: this.candidates(plan, out), sure: (p) => plan.sure(p), heldPieces: this.waiting.size, heldBytes, room })) {
      this.waiting.set(t.piece, spanBytes(t.ranges));
      const base = t.piece * this.pieceLength;
      const size = Math.min(this.pieceLength, this.length - base);
      const blocks = requestsFor(t.piece, size, t.ranges.map((r) => ({ start: r.start - base, end: r.end - base })));
      this.blocks.set(t.piece, blocks);
      for (const b of blocks) wanted.push(b);
    }
    return wanted;
  }

  /** Candidates not started, taken or finished, in order. */
  private *candidates(plan: PlanFacts, out: (p: PieceIndex) => boolean): Generator<PieceIndex> {
    const list = plan.aheadCandidates;
    while (this.cursor < list.length && out(list[this.cursor]!)) this.cursor++;
    for (let i = this.cursor; i < list.length; i++) {
      const p = list[i]!;
      if (!out(p) && !this.waiting.has(p)) yield p;
    }
  }

  /** The first piece taken ahead that is still to hand out (`open`); it is handed out now. */
  next(open: (p: PieceIndex) => boolean): PieceIndex | undefined {
    for (const [p] of this.waiting) {
      this.waiting.delete(p);
      if (open(p)) return p;
    }
    return undefined;
  }

  /** Taken ahead and not started. */
  isTaken(p: PieceIndex): boolean {
    return this.waiting.has(p);
  }

  /** Blocks were taken ahead for `p` (for the web seeds' room), and it is not done. */
  holds(p: PieceIndex): boolean {
    return this.blocks.has(p);
  }

  /** `piece` is done: the blocks wanted ahead for it. */
  release(piece: PieceIndex): Block[] {
    const b = this.blocks.get(piece) ?? [];
    this.waiting.delete(piece);
    this.blocks.delete(piece);
    return b;
  }

  /** Nothing takes blocks ahead any more: every block wanted ahead. */
  releaseAll(): Block[] {
    const all: Block[] = [];
    for (const p of [...this.blocks.keys()]) for (const b of this.release(p)) all.push(b);
    this.waiting.clear();
    return all;
  }
}
