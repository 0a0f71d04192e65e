/**
 * Fetched byte ranges of the target, sorted and disjoint, kept for the whole
 * sync (VirtualTarget: the planning bytes). A nested image's metadata comes
 * as one range per inode or cluster index, some 90 bytes each, thousands of
 * them: each range is a row of typed columns (start, end, where its bytes
 * sit), its bytes copied into shared slabs; a view of them is made when read.
 */
import { firstEndingAfter } from './bounds-search.js';

/** Ranges up to this size are copied into shared slabs of SLAB_BYTES; longer ones keep a buffer of their own. */
const SLAB_BYTES = 256 * 1024;
const SLAB_MAX_COPY = 4096;

export class RangeCache {
  private bounds = new Float64Array(64);
  /** Per range: the index of its buffer in `buffers`, and its offset there. */
  private where = new Uint32Array(64);
  private n = 0;
  private readonly buffers: Uint8Array[] = [];
  /** The slab being filled (an index into `buffers`), and its bytes used. */
  private slab = -1;
  private slabUsed = SLAB_BYTES;

  get count(): number {
    return this.n;
  }

  start(i: number): number {
    return this.bounds[2 * i]!;
  }

  end(i: number): number {
    return this.bounds[2 * i + 1]!;
  }

  /** The bytes of range i (a view). */
  bytes(i: number): Uint8Array {
    const at = this.where[2 * i + 1]!;
    return this.buffers[this.where[2 * i]!]!.subarray(at, at + this.end(i) - this.start(i));
  }

  /** Index of the first range that ends after `pos`. */
  firstAfter(pos: number): number {
    return firstEndingAfter(this.bounds, 2, this.n, pos);
  }

  /** Adds the range at `start` holding `bytes` (disjoint from every range held). */
  add(start: number, bytes: Uint8Array): void {
    let buffer: number;
    let offset = 0;
    if (bytes.length <= SLAB_MAX_COPY) {
      if (this.slabUsed + bytes.length > SLAB_BYTES) {
        this.slab = this.buffers.push(new Uint8Array(SLAB_BYTES)) - 1;
        this.slabUsed = 0;
      }
      buffer = this.slab;
      offset = this.slabUsed;
      this.buffers[buffer]!.set(bytes, offset);
      this.slabUsed += bytes.length;
    } else buffer = this.buffers.push(bytes) - 1;
    if (this.n === this.where.length / 2) this.grow();
    const i = this.firstAfter(start);
    this.bounds.copyWithin(2 * i + 2, 2 * i, 2 * this.n);
    this.where.copyWithin(2 * i + 2, 2 * i, 2 * this.n);
    this.bounds[2 * i] = start;
    this.bounds[2 * i + 1] = start + bytes.length;
    this.where[2 * i] = buffer;
    this.where[2 * i + 1] = offset;
    this.n++;
  }

  private grow(): void {
    const b = new Float64Array(this.bounds.length * 2);
    b.set(this.bounds);
    this.bounds = b;
    const w = new Uint32Array(this.where.length * 2);
    w.set(this.where);
    this.where = w;
  }
}
