/**
 * The request book: every block wanted now, and which sources it was asked
 * of, since when. `H` is a source handle. Pure bookkeeping: no sockets, no
 * timers (times are passed in).
 *
 * Invariants:
 *   - a block is wanted at most once (by key: piece, offset, length);
 *   - `unasked` holds exactly the wanted blocks asked of nobody, oldest first
 *     (a block handed back after a failed ask goes to the end), so a turn in
 *     which every block is out costs nothing;
 *   - `byHandle` holds, per source, exactly the blocks asked of it now: its
 *     asks in flight, and what returns when it leaves;
 *   - `unaskedAheadCount` and `unaskedBytes` count the blocks in `unasked`
 *     wanted `ahead` (look-ahead took them for the web seeds), and their
 *     bytes, so a turn learns in O(1) whether the web seeds' queues hold
 *     every unasked block.
 */
import type { PieceIndex } from '../core/ids.js';
import { keyOf, type Block } from './block.js';

interface Entry<H> {
  readonly block: Block;
  /** Wanted by look-ahead for the web seeds' room (engine/look-ahead.ts). */
  readonly ahead: boolean;
  /** Sources asked for it, with when (ms). */
  readonly askedOf: Map<H, number>;
}

/** What the scheduler may read of the book. Every view yields one Block object per wanted block (the scheduler tells blocks apart by identity). */
export interface BookView<H> {
  readonly size: number;
  /** Wanted blocks asked of nobody, oldest first. */
  unasked(): Iterable<Block>;
  readonly unaskedCount: number;
  /** Of those, the blocks wanted `ahead`: look-ahead took their pieces (the scheduler's `ahead` holds for them). */
  readonly unaskedAheadCount: number;
  /** Bytes of the unasked blocks. */
  readonly unaskedBytes: number;
  /** Every wanted block with the sources asked for it (endgame). */
  entries(): Iterable<{ readonly block: Block; readonly askedOf: ReadonlyMap<H, number> }>;
  /** The wanted blocks of `piece` with the sources asked for each. */
  askedFor(piece: PieceIndex): [Block, H[]][];
  /** Blocks asked of `h` now. */
  askedCount(h: H): number;
  /** Bytes of the blocks asked of `h` now. */
  askedBytes(h: H): number;
}

/** What `drop` returns when the block was asked of nobody (shared: never written). */
const NOBODY: never[] = [];

export class RequestBook<H> implements BookView<H> {
  private readonly wanted = new Map<string, Entry<H>>();
  /**
   * The wanted entries of each piece: `askedFor` reads one piece's (a
   * leecher's HAVE asks it in a swarm with a seed), not every wanted block.
   */
  private readonly byPiece = new Map<PieceIndex, Set<Entry<H>>>();
  /** The blocks asked of nobody, oldest first (a Map's own iterator: the scheduler reads it every turn). */
  private readonly waiting = new Map<string, Block>();
  private readonly byHandle = new Map<H, Map<string, Block>>();
  /** Bytes of the blocks in byHandle, per source. */
  private readonly bytesByHandle = new Map<H, number>();
  private waitingAhead = 0;
  private waitingBytes = 0;

  get size(): number {
    return this.wanted.size;
  }

  get unaskedCount(): number {
    return this.waiting.size;
  }

  get unaskedAheadCount(): number {
    return this.waitingAhead;
  }

  get unaskedBytes(): number {
    return this.waitingBytes;
  }

  /** Wants a block (`ahead`: for a piece look-ahead took); false if it was wanted already. */
  want(block: Block, ahead = false): boolean {
    const k = keyOf(block);
    if (this.wanted.has(k)) return false;
    const e: Entry<H> = { block, ahead, askedOf: new Map() };
    this.wanted.set(k, e);
    const piece = this.byPiece.get(block.piece);
    if (piece) piece.add(e);
    else this.byPiece.set(block.piece, new Set([e]));
    this.wait(k, e);
    return true;
  }

  /** `e` waits for a first ask again. */
  private wait(k: string, e: Entry<H>): void {
    this.waiting.set(k, e.block);
    this.waitingBytes += e.block.length;
    if (e.ahead) this.waitingAhead++;
  }

  /** `e` no longer waits (asked, or not wanted). */
  private unwait(k: string, e: Entry<H>): void {
    if (!this.waiting.delete(k)) return;
    this.waitingBytes -= e.block.length;
    if (e.ahead) this.waitingAhead--;
  }

  isWanted(block: Block): boolean {
    return this.wanted.has(keyOf(block));
  }

  /** Stops wanting a block (it arrived, or nobody needs it); returns the sources it was asked of (to cancel: the caller's to keep). */
  drop(block: Block): readonly H[] {
    const k = keyOf(block);
    const e = this.wanted.get(k);
    if (!e) return NOBODY;
    this.wanted.delete(k);
    const piece = this.byPiece.get(block.piece);
    if (piece?.delete(e) && piece.size === 0) this.byPiece.delete(block.piece);
    this.unwait(k, e);
    if (e.askedOf.size === 0) return NOBODY;
    // forEach, not an iterator: unoptimized code allocates a result object per step (this runs once per block received).
    const asked: H[] = [];
    e.askedOf.forEach((_t, h) => {
      this.forget(h, k, e.block);
      asked.push(h);
    });
    return asked;
  }

  /** Records that `block` was asked of `h` at `now`. */
  asked(block: Block, h: H, now: number): void {
    const k = keyOf(block);
    const e = this.wanted.get(k);
    if (!e || e.askedOf.has(h)) return;
    e.askedOf.set(h, now);
    this.unwait(k, e);
    let mine = this.byHandle.get(h);
    if (!mine) this.byHandle.set(h, (mine = new Map()));
    mine.set(k, block);
    this.bytesByHandle.set(h, (this.bytesByHandle.get(h) ?? 0) + block.length);
  }

  /** `block` (key k) is no longer asked of `h`. */
  private forget(h: H, k: string, block: Block): void {
    if (this.byHandle.get(h)?.delete(k)) this.bytesByHandle.set(h, this.bytesByHandle.get(h)! - block.length);
  }

  /** The ask of `h` for `block` ended without the block: it waits for another source (if nobody else was asked). */
  release(block: Block, h: H): void {
    const k = keyOf(block);
    this.forget(h, k, block);
    const e = this.wanted.get(k);
    if (e && e.askedOf.delete(h) && e.askedOf.size === 0) this.wait(k, e);
  }

  /** `h` left: every ask of it ends; returns the blocks it was asked. */
  releaseHandle(h: H): Block[] {
    const mine = [...(this.byHandle.get(h)?.values() ?? [])];
    for (const b of mine) this.release(b, h);
    this.byHandle.delete(h);
    this.bytesByHandle.delete(h);
    return mine;
  }

  /** Whether `block` is asked of `h` now. */
  isAskedOf(block: Block, h: H): boolean {
    return this.byHandle.get(h)?.has(keyOf(block)) ?? false;
  }

  askedCount(h: H): number {
    return this.byHandle.get(h)?.size ?? 0;
  }

  askedBytes(h: H): number {
    return this.bytesByHandle.get(h) ?? 0;
  }

  unasked(): IterableIterator<Block> {
    return this.waiting.values();
  }

  entries(): Iterable<{ readonly block: Block; readonly askedOf: ReadonlyMap<H, number> }> {
    return this.wanted.values();
  }

  askedFor(piece: PieceIndex): [Block, H[]][] {
    const out: [Block, H[]][] = [];
    this.byPiece.get(piece)?.forEach((e) => out.push([e.block, [...e.askedOf.keys()]]));
    return out;
  }

  /** Asks made before `before`: [block, source] pairs (the caller times them out). */
  expired(before: number): [Block, H][] {
    const out: [Block, H][] = [];
    for (const e of this.wanted.values()) for (const [h, t] of e.askedOf) if (t < before) out.push([e.block, h]);
    return out;
  }
}
