/**
 * Fills asked blocks from reply bytes as they arrive, so a web seed hands
 * each block to the engine the moment its last byte is in: a reply that
 * stalls or breaks keeps every block it completed. Pure.
 *
 * Blocks are given with their absolute spans; `put(offset, bytes)` may hold
 * bytes of several blocks, of none (a server that coalesced ranges sends
 * the bytes between them too), and may repeat nothing: bytes already put
 * are not put again (RFC 9110 parts do not overlap what was asked twice).
 *
 * A block that lies whole in one `put` is handed on as a view of those bytes,
 * not copied: the caller gives bytes nobody writes to again (a reply chunk
 * of its own), and the engine copies blocks where they go (engine/handle.ts
 * HandleSink.block). Only a block cut by a chunk boundary is assembled in a
 * buffer of its own. Before, every 16 KiB block was a fresh, zero-filled
 * allocation and a copy: on a stock-torrent delta of 82 MB some 5,000 of
 * them a second, a few percent of the main thread's time.
 *
 * With `transient` (the lean HTTP client's body views of its one read
 * buffer: lean-get.ts), a whole block is copied out, cut from the shared
 * slabs (core/block-slabs.ts), and so is a block cut by a read's end, filled
 * there. The filler's hold on such a block ends when `onBlock` returns: a
 * holder that keeps the bytes past the call takes a hold of its own
 * (holdBlock) and gives it back when done with them (releaseBlock).
 */
import { firstEndingAfter, type Span } from '../core/span.js';
import type { Block } from '../engine/block.js';
import { blockSlabs } from '../core/block-slabs.js';

interface Slot {
  readonly block: Block;
  readonly span: Span;
  bytes: Uint8Array | undefined;
  filled: number;
  done: boolean;
}

/** `n` bytes of their own (not zeroed), cut from the shared slabs, with one hold (the filler's, until delivered). */
const slabCut = (n: number): Uint8Array => blockSlabs.cut(n);

/** A copy of `bytes` cut from the shared slabs. */
function slabCopy(bytes: Uint8Array): Uint8Array {
  const out = slabCut(bytes.length);
  out.set(bytes);
  return out;
}

export class BlockFiller {
  /** Bytes put are valid only during the call: whole blocks are copied out (slabCopy), not kept as views. */
  transient = false;
  /** Sorted by span start; spans do not overlap (blocks of one ask are distinct). */
  private readonly slots: Slot[];
  private readonly spans: Span[];
  private doneCount = 0;

  constructor(
    blocks: readonly { block: Block; span: Span }[],
    private readonly onBlock: (b: Block, bytes: Uint8Array) => void,
  ) {
    this.slots = blocks.map((b) => ({ block: b.block, span: b.span, bytes: undefined, filled: 0, done: false })).sort((a, b) => a.span.start - b.span.start);
    this.spans = this.slots.map((s) => s.span);
  }

  /** Bytes of the file at `offset`. */
  put(offset: number, bytes: Uint8Array): void {
    const end = offset + bytes.length;
    for (let i = firstEndingAfter(this.spans, offset); i < this.slots.length; i++) {
      const s = this.slots[i]!;
      if (s.span.start >= end) break;
      if (s.done) continue;
      const a = Math.max(offset, s.span.start);
      const b = Math.min(end, s.span.end);
      if (b <= a) continue;
      if (s.filled === 0 && a === s.span.start && b === s.span.end) {
        const view = bytes.subarray(a - offset, b - offset);
        this.deliver(s, this.transient ? slabCopy(view) : view);
        continue;
      }
      s.bytes ??= this.transient ? slabCut(s.span.end - s.span.start) : new Uint8Array(s.span.end - s.span.start);
      s.bytes.set(bytes.subarray(a - offset, b - offset), a - s.span.start);
      s.filled += b - a;
      if (s.filled >= s.bytes.length) {
        const out = s.bytes;
        s.bytes = undefined;
        this.deliver(s, out);
      }
    }
  }

  private deliver(s: Slot, bytes: Uint8Array): void {
    s.done = true;
    s.filled = bytes.length;
    this.doneCount++;
    this.onBlock(s.block, bytes);
    blockSlabs.release(bytes);
  }

  get complete(): boolean {
    return this.doneCount === this.slots.length;
  }

  /** Blocks not (wholly) received. */
  missing(): Block[] {
    return this.slots.filter((s) => !s.done).map((s) => s.block);
  }
}
