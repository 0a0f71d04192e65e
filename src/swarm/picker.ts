/**
 * Which piece to work on next, and which blocks to ask which peer for.
 * Pure: no sockets, no timers (times are passed in), so a test sets a whole
 * scenario up with plain values.
 *
 * Piece order (pickPiece): pieces some source has before pieces nobody has;
 * then rarest first (fewest peers have it: spreads the swarm's copies, so
 * leechers that start together have something to trade); then partial first
 * (fewest bytes still missing after local filling: finishes cheap pieces and
 * frees their memory); then a random tie-break, so leechers do not all ask
 * the same piece.
 *
 * Blocks (RequestBook): a piece's missing byte ranges become requests of
 * exactly those bytes, cut so that none exceeds 16 KiB or crosses a 16 KiB
 * boundary (requestsFor: a change of 100 bytes costs 100 bytes, not a whole
 * 16 KiB block). Requests differ in size; the book only names them. A peer with free
 * pipeline slots gets the oldest unrequested blocks of pieces it has. When no
 * block is unrequested (endgame), an idle peer may ask a block already asked
 * of another peer (at most ENDGAME_REQUESTERS asks per block); the first copy
 * to arrive wins and the other asks are cancelled. A request that times out
 * or is rejected goes back to the queue for another peer.
 */
import { IsosyncError } from '../errors.js';
import type { Span } from '../core/span.js';

/** BEP 3 request size every client accepts. */
export const BLOCK_BYTES = 16 * 1024;
/** Peers asked for the same block in endgame: enough to beat one slow peer, not a flood. */
export const ENDGAME_REQUESTERS = 2;

export interface Block {
  readonly piece: number;
  /** Offset inside the piece. */
  readonly offset: number;
  readonly length: number;
}

/**
 * The requests that fetch exactly `ranges` (byte offsets inside the piece,
 * half-open; `pieceSize` is this piece's length, the last piece may be
 * short): each range cut at BLOCK_BYTES-aligned offsets, so no request is
 * longer than BLOCK_BYTES nor straddles two aligned blocks. BEP 3 lets a
 * request name any begin and length inside the piece; libtorrent,
 * Transmission and aria2 check only begin + length <= piece size and
 * length <= 16 KiB. A peer that answers only aligned blocks is asked the one
 * aligned block holding each request (`alignedBlockOf`).
 */
export function requestsFor(piece: number, pieceSize: number, ranges: readonly Span[]): Block[] {
  const out: Block[] = [];
  for (const r of ranges) {
    if (r.start < 0 || r.end > pieceSize || r.end <= r.start) throw new IsosyncError('INTERNAL', `Internal error: range ${r.start}-${r.end} is outside piece ${piece} of ${pieceSize} bytes`, { piece });
    for (let a = r.start; a < r.end; ) {
      const e = Math.min(r.end, (Math.floor(a / BLOCK_BYTES) + 1) * BLOCK_BYTES);
      out.push({ piece, offset: a, length: e - a });
      a = e;
    }
  }
  return out;
}

/** The BLOCK_BYTES-aligned block of the piece that holds request `b` (which never straddles two, see requestsFor). */
export function alignedBlockOf(b: Block, pieceSize: number): Block {
  const offset = Math.floor(b.offset / BLOCK_BYTES) * BLOCK_BYTES;
  return { piece: b.piece, offset, length: Math.min(BLOCK_BYTES, pieceSize - offset) };
}

/** Whether `b` is itself an aligned block (what every client asks and serves). */
export function isAlignedBlock(b: Block, pieceSize: number): boolean {
  return b.offset % BLOCK_BYTES === 0 && b.length === Math.min(BLOCK_BYTES, pieceSize - b.offset);
}

export interface PieceFacts {
  /** How many connected peers have the piece. */
  availability(piece: number): number;
  /** Bytes of the piece still to fetch after local filling (unknown: the piece length). */
  missingBytes(piece: number): number;
  /** Whether a web seed can serve any piece. */
  readonly webSeeds: boolean;
}

/** Index in `remaining` of the piece to work on next (see the module comment); -1 when empty. */
export function pickPiece(remaining: readonly number[], facts: PieceFacts, random: () => number = Math.random): number {
  let best = -1;
  let bestKey: [number, number, number, number] | undefined;
  for (let i = 0; i < remaining.length; i++) {
    const p = remaining[i]!;
    const avail = facts.availability(p);
    const key: [number, number, number, number] = [avail > 0 || facts.webSeeds ? 0 : 1, avail > 0 ? avail : Number.MAX_SAFE_INTEGER, facts.missingBytes(p), random()];
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

/** A request is named by piece, offset and length (two requests may start at one offset). */
export function keyOf(b: Block): string {
  return `${b.piece}:${b.offset}:${b.length}`;
}

interface Entry<P> {
  block: Block;
  /** Peers asked for it, with when. */
  askedOf: Map<P, number>;
  /** Order of arrival in the book (oldest first is served first). */
  seq: number;
}

/**
 * Blocks wanted and who was asked for each. `P` is a peer handle. Entries
 * stay in arrival order (a Map keeps insertion order), and the book counts
 * the entries nobody was asked for, so a peer with a free slot while every
 * block is out (the usual state: one call per block received) costs nothing.
 */
export class RequestBook<P> {
  private readonly entries = new Map<string, Entry<P>>();
  private seq = 0;
  /** Entries asked of nobody, oldest first (an entry handed back after a failed ask goes to the end). */
  private readonly unasked = new Map<string, Entry<P>>();

  get size(): number {
    return this.entries.size;
  }

  /** Wants a block (no-op if already wanted). */
  want(block: Block): void {
    const k = keyOf(block);
    if (this.entries.has(k)) return;
    const e: Entry<P> = { block, askedOf: new Map(), seq: this.seq++ };
    this.entries.set(k, e);
    this.unasked.set(k, e);
  }

  /** Stops wanting a block (it arrived, or its piece is done); returns the other peers that were asked (to cancel). */
  drop(block: Block): P[] {
    const k = keyOf(block);
    const e = this.entries.get(k);
    if (!e) return [];
    this.entries.delete(k);
    this.unasked.delete(k);
    return [...e.askedOf.keys()];
  }

  isWanted(block: Block): boolean {
    return this.entries.has(keyOf(block));
  }

  /**
   * Unrequested blocks, oldest first, that `peer` can serve; then, in endgame
   * (`endgame` allowed: the picker has no piece left to start), blocks asked
   * of others only. At most `slots`.
   */
  assign(peer: P, has: (piece: number) => boolean, slots: number, now: number, avoid: (piece: number) => boolean = () => false, endgame = true): Block[] {
    if (slots <= 0 || (this.unasked.size === 0 && !endgame)) return [];
    // Whether the peer may serve a piece, asked once per run of entries of one piece.
    let lastPiece = -1;
    let lastOk = false;
    const usable = (piece: number): boolean => {
      if (piece !== lastPiece) {
        lastPiece = piece;
        lastOk = has(piece) && !avoid(piece);
      }
      return lastOk;
    };
    const chosen: Entry<P>[] = [];
    if (this.unasked.size > 0) {
      for (const e of this.unasked.values()) {
        if (!usable(e.block.piece)) continue;
        chosen.push(e);
        if (chosen.length === slots) break;
      }
    }
    // Endgame: only when no block anywhere waits for a first ask.
    if (chosen.length < slots && endgame && this.unasked.size === 0) {
      const shared: Entry<P>[] = [];
      for (const e of this.entries.values()) if (e.askedOf.size > 0 && e.askedOf.size < ENDGAME_REQUESTERS && !e.askedOf.has(peer) && usable(e.block.piece)) shared.push(e);
      shared.sort((a, b) => minTime(a) - minTime(b));
      for (const e of shared) {
        if (chosen.length === slots) break;
        chosen.push(e);
      }
    }
    for (const e of chosen) {
      this.unasked.delete(keyOf(e.block));
      e.askedOf.set(peer, now);
    }
    return chosen.map((e) => e.block);
  }

  /** The ask of `peer` for `block` ended without the block (reject, timeout, peer gone): the block waits for another peer. */
  release(block: Block, peer: P): void {
    const k = keyOf(block);
    const e = this.entries.get(k);
    if (e && e.askedOf.delete(peer) && e.askedOf.size === 0) this.unasked.set(k, e);
  }

  /** The wanted requests of `piece` with the peers each is asked of now. */
  askedFor(piece: number): [Block, P[]][] {
    const out: [Block, P[]][] = [];
    for (const e of this.entries.values()) if (e.block.piece === piece) out.push([e.block, [...e.askedOf.keys()]]);
    return out;
  }

  /** Forgets every ask of `peer` (it disconnected). */
  releasePeer(peer: P): void {
    for (const [k, e] of this.entries) if (e.askedOf.delete(peer) && e.askedOf.size === 0) this.unasked.set(k, e);
  }

  /** Asks older than `before`: [block, peer] pairs (the caller times them out). */
  expired(before: number): [Block, P][] {
    const out: [Block, P][] = [];
    for (const e of this.entries.values()) for (const [p, t] of e.askedOf) if (t < before) out.push([e.block, p]);
    return out;
  }
}

function minTime<P>(e: Entry<P>): number {
  let m = Infinity;
  for (const t of e.askedOf.values()) m = Math.min(m, t);
  return m;
}
