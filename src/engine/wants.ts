/**
 * The fetches waiting for blocks, and the blocks that arrived before any
 * fetch wanted them (taken ahead for a piece not started yet). A fetch
 * resolves when its last block is in, with each range's bytes and, per
 * block, who sent it (exact blame for a failed hash). No I/O, no timers.
 */
import type { PieceIndex } from '../core/ids.js';
import type { Blame, Fetched } from '../core/ports.js';
import type { Span } from '../core/span.js';
import { keyOf, type Block } from './block.js';

export interface Want<H> {
  readonly piece: PieceIndex;
  readonly ranges: readonly Span[];
  readonly blocks: readonly Block[];
  readonly got: Map<string, { bytes: Uint8Array; who: H }>;
  /** Since when no live source has its piece (engine.ts checkSources). */
  orphanSince: number | undefined;
  readonly pieceLength: number;
  /** Where to assemble the bytes (piece-relative), if the caller gave a buffer. */
  readonly into: Uint8Array | undefined;
  resolve(f: Fetched<H>): void;
  reject(e: unknown): void;
}

export class Wants<H> {
  private readonly waiters = new Map<string, Set<Want<H>>>();
  private readonly all = new Set<Want<H>>();
  private readonly held = new Map<PieceIndex, Map<string, { bytes: Uint8Array; who: H }>>();

  /** A fetch of `blocks` (covering `ranges` of `piece`): bytes held for it are used, the others wanted (`want`). */
  add(piece: PieceIndex, ranges: readonly Span[], blocks: readonly Block[], pieceLength: number, want: (b: Block) => void, into?: Uint8Array): Promise<Fetched<H>> {
    return new Promise((resolve, reject) => {
      const w: Want<H> = { piece, ranges, blocks, got: new Map(), orphanSince: undefined, pieceLength, into, resolve, reject };
      const held = this.held.get(piece);
      for (const b of blocks) {
        const k = keyOf(b);
        const h = held?.get(k);
        if (h) {
          w.got.set(k, h);
          held!.delete(k);
          continue;
        }
        let set = this.waiters.get(k);
        if (!set) this.waiters.set(k, (set = new Set()));
        set.add(w);
        want(b);
      }
      this.all.add(w);
      if (w.got.size === blocks.length) this.finish(w);
    });
  }

  /** Block `b` arrived from `who`: to the fetches waiting for it, or, with `keep`, held for a fetch to come. */
  deliver(b: Block, bytes: Uint8Array, who: H, keep: boolean): void {
    const k = keyOf(b);
    const set = this.waiters.get(k);
    this.waiters.delete(k);
    if (set && set.size > 0) {
      for (const w of set) {
        w.got.set(k, { bytes, who });
        if (w.got.size === w.blocks.length) this.finish(w);
      }
    } else if (keep) {
      let held = this.held.get(b.piece);
      if (!held) this.held.set(b.piece, (held = new Map()));
      held.set(k, { bytes, who });
    }
  }

  /** Whether some fetch waits for block `b`. */
  waitedFor(b: Block): boolean {
    return (this.waiters.get(keyOf(b))?.size ?? 0) > 0;
  }

  /** Drops the bytes held for `piece` (it is verified). */
  release(piece: PieceIndex): void {
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
    for (const b of w.blocks) {
      const k = keyOf(b);
      const set = this.waiters.get(k);
      if (!set?.delete(w) || set.size > 0) continue;
      this.waiters.delete(k);
      unwant(b);
    }
    w.reject(e);
  }

  private finish(w: Want<H>): void {
    this.all.delete(w);
    const base = w.piece * w.pieceLength;
    const parts = w.ranges.map((r) => (w.into ? w.into.subarray(r.start - base, r.end - base) : new Uint8Array(r.end - r.start)));
    const blame: { start: number; end: number; who: H }[] = [];
    let ri = 0;
    for (const b of w.blocks) {
      const at = b.piece * w.pieceLength + b.offset;
      while (w.ranges[ri]!.end <= at) ri++;
      const got = w.got.get(keyOf(b))!;
      parts[ri]!.set(got.bytes, at - w.ranges[ri]!.start);
      const last = blame[blame.length - 1];
      if (last && last.who === got.who && last.end === at) last.end = at + b.length;
      else blame.push({ start: at, end: at + b.length, who: got.who });
    }
    w.resolve({ parts, blame: blame as Blame<H> });
  }
}
