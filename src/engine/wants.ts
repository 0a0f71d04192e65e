/**
 * The fetches waiting for blocks, and the blocks that arrived before any
 * fetch wanted them (taken ahead for a piece not started yet). A fetch
 * resolves when its last block is in, with each range's bytes and, per
 * block, who sent it (exact blame for a failed hash). No I/O, no timers.
 *
 * Blocks are found by piece, then by their numeric key inside the piece
 * (`slotOf`): no string is built per block, and a fetch keeps what arrived
 * in two arrays parallel to its blocks, not an object per block.
 *
 * Bytes kept past `deliver` (held, or awaited by a fetch not finished) carry
 * a hold each (core/block-slabs.ts), given back once a fetch has copied them
 * or failed, or the piece's held bytes are dropped: slabs of web-seed blocks
 * are then cut again, not left to the collector.
 */
import type { PieceIndex } from '../core/ids.js';
import type { Blame, Fetched } from '../core/ports.js';
import type { Span } from '../core/span.js';
import { holdBlock, releaseBlock } from '../core/block-slabs.js';
import { BLOCK_BYTES, type Block } from './block.js';

/** A block's key inside its piece, from its offset and length (two requests may start at one offset); exact for pieces below 2^38 bytes. */
const slotOf = (b: Block): number => b.offset * (BLOCK_BYTES + 1) + b.length;

export interface Want<H> {
  readonly piece: PieceIndex;
  readonly ranges: readonly Span[];
  readonly blocks: readonly Block[];
  /** bytes[i] and senders[i]: block i as it arrived, and who sent it. */
  readonly bytes: (Uint8Array | undefined)[];
  readonly senders: (H | undefined)[];
  /** Blocks not in yet. */
  missing: number;
  /** Since when no live source has its piece (engine.ts checkSources). */
  orphanSince: number | undefined;
  readonly pieceLength: number;
  /** Where to assemble the bytes (piece-relative), if the caller gave a buffer. */
  readonly into: Uint8Array | undefined;
  resolve(f: Fetched<H>): void;
  reject(e: unknown): void;
}

/** A fetch waiting for a block, and the block's index among its blocks. */
interface Waiter<H> {
  readonly w: Want<H>;
  readonly i: number;
}

type Held<H> = { readonly bytes: Uint8Array; readonly who: H };

export class Wants<H> {
  /** By piece, by slot: the fetches waiting for that block. */
  private readonly waiters = new Map<PieceIndex, Map<number, Waiter<H>[]>>();
  private readonly all = new Set<Want<H>>();
  private readonly held = new Map<PieceIndex, Map<number, Held<H>>>();

  /** A fetch of `blocks` (covering `ranges` of `piece`): bytes held for it are used, the others wanted (`want`). */
  add(piece: PieceIndex, ranges: readonly Span[], blocks: readonly Block[], pieceLength: number, want: (b: Block) => void, into?: Uint8Array): Promise<Fetched<H>> {
    return new Promise((resolve, reject) => {
      const n = blocks.length;
      const w: Want<H> = { piece, ranges, blocks, bytes: new Array(n), senders: new Array(n), missing: n, orphanSince: undefined, pieceLength, into, resolve, reject };
      const held = this.held.get(piece);
      let waiting = this.waiters.get(piece);
      blocks.forEach((b, i) => {
        const k = slotOf(b);
        const h = held?.get(k);
        if (h) {
          this.got(w, i, h.bytes, h.who);
          held!.delete(k);
          releaseBlock(h.bytes);
          return;
        }
        if (!waiting) this.waiters.set(piece, (waiting = new Map()));
        const list = waiting.get(k);
        if (list) list.push({ w, i });
        else waiting.set(k, [{ w, i }]);
        want(b);
      });
      this.all.add(w);
      if (w.missing === 0) this.finish(w);
    });
  }

  private got(w: Want<H>, i: number, bytes: Uint8Array, who: H): void {
    const had = w.bytes[i];
    if (had === undefined) w.missing--;
    else if (had !== bytes) releaseBlock(had);
    if (had !== bytes) holdBlock(bytes);
    w.bytes[i] = bytes;
    w.senders[i] = who;
  }

  /** Block `b` arrived from `who`: to the fetches waiting for it, or, with `keep`, held for a fetch to come. */
  deliver(b: Block, bytes: Uint8Array, who: H, keep: boolean): void {
    const k = slotOf(b);
    const waiting = this.waiters.get(b.piece);
    const list = waiting?.get(k);
    if (list) {
      waiting!.delete(k);
      if (waiting!.size === 0) this.waiters.delete(b.piece);
      for (let j = 0; j < list.length; j++) {
        const { w, i } = list[j]!;
        this.got(w, i, bytes, who);
        if (w.missing === 0 && this.all.has(w)) this.finish(w);
      }
    } else if (keep) {
      let held = this.held.get(b.piece);
      if (!held) this.held.set(b.piece, (held = new Map()));
      const had = held.get(k);
      if (had) releaseBlock(had.bytes);
      holdBlock(bytes);
      held.set(k, { bytes, who });
    }
  }

  /**
   * Where block (piece, offset, length) may be received in place: its place
   * in the buffer of the one fetch that waits for it (FetchOptions.into),
   * while that fetch has no bytes for it yet; undefined otherwise (the
   * receiver keeps a copy of its own). Bytes written there must be delivered
   * in the same turn (before any other copy of the block may land there);
   * bytes written and not delivered (a late or unasked copy) are overwritten
   * by the copy that is.
   */
  inPlace(piece: PieceIndex, offset: number, length: number): Uint8Array | undefined {
    const list = this.waiters.get(piece)?.get(offset * (BLOCK_BYTES + 1) + length);
    if (list === undefined || list.length !== 1) return undefined;
    const { w, i } = list[0]!;
    if (w.into === undefined || w.bytes[i] !== undefined || offset + length > w.into.length) return undefined;
    return w.into.subarray(offset, offset + length);
  }

  /** Whether some fetch waits for block `b`. */
  waitedFor(b: Block): boolean {
    return this.waiters.get(b.piece)?.has(slotOf(b)) ?? false;
  }

  /** Drops the bytes held for `piece` (it is verified). */
  release(piece: PieceIndex): void {
    const held = this.held.get(piece);
    if (held === undefined) return;
    for (const h of held.values()) releaseBlock(h.bytes);
    this.held.delete(piece);
  }

  get size(): number {
    return this.all.size;
  }

  pending(): Want<H>[] {
    return [...this.all];
  }

  /** Fails `w`; blocks nobody else waits for go to `unwant`. */
  fail(w: Want<H>, e: unknown, unwant: (b: Block) => void): void {
    if (!this.all.delete(w)) return;
    const waiting = this.waiters.get(w.piece);
    for (const b of w.blocks) {
      const k = slotOf(b);
      const list = waiting?.get(k);
      const at = list ? list.findIndex((x) => x.w === w) : -1;
      if (at < 0) continue;
      list!.splice(at, 1);
      if (list!.length > 0) continue;
      waiting!.delete(k);
      unwant(b);
    }
    if (waiting?.size === 0) this.waiters.delete(w.piece);
    releaseAll(w.bytes);
    w.reject(e);
  }

  private finish(w: Want<H>): void {
    this.all.delete(w);
    const base = w.piece * w.pieceLength;
    const parts = w.ranges.map((r) => (w.into ? w.into.subarray(r.start - base, r.end - base) : new Uint8Array(r.end - r.start)));
    const blame: { start: number; end: number; who: H }[] = [];
    let ri = 0;
    w.blocks.forEach((b, i) => {
      const at = base + b.offset;
      while (w.ranges[ri]!.end <= at) ri++;
      const who = w.senders[i] as H;
      const part = parts[ri]!;
      const bytes = w.bytes[i]!;
      const to = at - w.ranges[ri]!.start;
      // A block received in place (inPlace) is there already.
      if (bytes.buffer !== part.buffer || bytes.byteOffset !== part.byteOffset + to) part.set(bytes, to);
      const last = blame[blame.length - 1];
      if (last && last.who === who && last.end === at) last.end = at + b.length;
      else blame.push({ start: at, end: at + b.length, who });
    });
    releaseAll(w.bytes);
    w.resolve({ parts, blame: blame as Blame<H> });
  }
}

/** Gives back a fetch's holds on the bytes it has (it copied them, or it failed). */
function releaseAll(bytes: readonly (Uint8Array | undefined)[]): void {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b !== undefined) releaseBlock(b);
  }
}
