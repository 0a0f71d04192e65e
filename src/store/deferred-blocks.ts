/**
 * Received blocks of pieces not verified yet, kept a while before they are
 * journaled (part-file.ts writeBlock): in two generations, the older one
 * journaled every DEFER_MS / 2 and the younger one becoming the older, so a
 * block waits DEFER_MS / 2 to DEFER_MS; a piece written whole meanwhile drops
 * its blocks, which then never reach the disk on their own.
 *
 * A kept block carries a hold (core/block-slabs.ts), given back when its
 * piece drops it or is written by the time its generation is handed on;
 * blocks handed to the journal keep theirs (their slabs go to the collector
 * as before).
 */
import { holdBlock, releaseBlock } from '../core/block-slabs.js';
import type { DeferredBlock } from './block-journal.js';

/**
 * A received block waits DEFER_MS / 2 to DEFER_MS before it is journaled: a
 * piece that verifies meanwhile is written once, whole, and its blocks never
 * reach the disk on their own. A kill -9 loses at most this much of the
 * download. Blocks wait that long in a sync whose assembly is busy: look-ahead
 * (engine/look-ahead.ts) holds a few MiB of blocks for pieces not started yet.
 * At 50 ms, on the stock-torrent bench under load, every fetched byte was
 * written twice (64 MiB journaled, the journal's whole budget, and the rest
 * of the 82 MB written in place); at 1 s 11-42 MB, at 4 s none.
 */
export const DEFER_MS = 2000;

/**
 * Bytes of received blocks kept waiting (memory): past it, the older
 * generation is journaled at once. Twice the look-ahead window
 * (engine/look-ahead.ts LOOK_AHEAD_BYTES), whose blocks the engine holds
 * anyway until their pieces start.
 */
export const DEFER_BYTES = 16 * 1024 * 1024;

export class DeferredBlocks {
  private young = new Map<number, DeferredBlock[]>();
  private old = new Map<number, DeferredBlock[]>();
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  /** `journal` takes a generation's blocks by piece, but for pieces `written` since (verified, or being written whole). */
  constructor(
    private readonly journal: (waiting: ReadonlyMap<number, readonly DeferredBlock[]>) => void,
    private readonly written: (piece: number) => boolean = () => false,
  ) {}

  /** Keeps a block (not copied: `bytes` must not change afterwards). */
  add(piece: number, offset: number, bytes: Uint8Array): void {
    let list = this.young.get(piece);
    if (!list) this.young.set(piece, (list = []));
    list.push({ offset, bytes });
    holdBlock(bytes);
    this.bytes += bytes.length;
    if (this.bytes > DEFER_BYTES) return this.age();
    this.timer ??= setTimeout(this.onAge, DEFER_MS / 2).unref();
  }

  /** The generations' timer (DEFER_MS / 2). */
  private readonly onAge = (): void => this.age();

  /** Journals the older generation; the younger becomes the older. */
  private age(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.hand(this.old);
    this.old = this.young;
    this.young = new Map();
    if (this.old.size > 0) this.timer = setTimeout(this.onAge, DEFER_MS / 2).unref();
  }

  /** Journals every waiting block now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.hand(this.old);
    this.hand(this.young);
  }

  /** Forgets the blocks of `piece` (it is being written whole). */
  drop(piece: number): void {
    for (const waiting of [this.young, this.old]) {
      for (const b of waiting.get(piece) ?? []) {
        this.bytes -= b.bytes.length;
        releaseBlock(b.bytes);
      }
      waiting.delete(piece);
    }
  }

  private hand(waiting: Map<number, DeferredBlock[]>): void {
    for (const [piece, list] of waiting) {
      for (const b of list) this.bytes -= b.bytes.length;
      if (!this.written(piece)) continue;
      for (const b of list) releaseBlock(b.bytes);
      waiting.delete(piece);
    }
    if (waiting.size > 0) this.journal(waiting);
    waiting.clear();
  }
}
