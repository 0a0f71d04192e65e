/**
 * A ByteSource wrapper that reads in aligned blocks and keeps the most recent
 * ones, so the many small reads of metadata parsing and piece filling cost one
 * system call per block instead of one each. Reads of a block or more go
 * straight through. Memory: at most `maxBlocks` x `blockBytes`.
 */
import type { ByteSource } from './byte-source.js';
import { checkRange, readInto } from './byte-source.js';

/** 256 KiB blocks: one ISO directory area or one piece's worth per read. */
export const BLOCK_BYTES = 256 * 1024;
/** 16 blocks = 4 MiB per source: reads of DIRECT_BYTES or more bypass the cache, so it only serves metadata and small segments, which move forward. */
export const MAX_BLOCKS = 16;
/**
 * readInto of this many bytes or more goes straight to the inner source, into
 * the caller's buffer: a large read gains nothing from the cache and would
 * cost a block allocation and a copy (piece filling reads whole file runs).
 */
export const DIRECT_BYTES = 32 * 1024;

export class BlockCache implements ByteSource {
  private readonly blocks = new Map<number, Promise<Uint8Array>>();

  constructor(
    private readonly inner: ByteSource,
    private readonly blockBytes = BLOCK_BYTES,
    private readonly maxBlocks = MAX_BLOCKS,
  ) {}

  get size(): number {
    return this.inner.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, 'a cached source');
    if (length >= this.blockBytes || length === 0) return this.inner.read(offset, length);
    const first = Math.floor(offset / this.blockBytes);
    const last = Math.floor((offset + length - 1) / this.blockBytes);
    if (first === last) {
      const b = await this.block(first);
      const at = offset - first * this.blockBytes;
      return b.subarray(at, at + length);
    }
    const out = new Uint8Array(length);
    for (let i = first; i <= last; i++) {
      const b = await this.block(i);
      const start = i * this.blockBytes;
      const a = Math.max(offset, start);
      const e = Math.min(offset + length, start + b.length);
      out.set(b.subarray(a - start, e - start), a - offset);
    }
    return out;
  }

  async readInto(dest: Uint8Array, at: number, offset: number, length: number): Promise<void> {
    checkRange(this.size, offset, length, 'a cached source');
    if (length >= DIRECT_BYTES) return readInto(this.inner, dest, at, offset, length);
    dest.set(await this.read(offset, length), at);
  }

  private block(i: number): Promise<Uint8Array> {
    let p = this.blocks.get(i);
    if (p) {
      this.blocks.delete(i); // move to the back: most recently used
      this.blocks.set(i, p);
      return p;
    }
    const start = i * this.blockBytes;
    p = this.inner.read(start, Math.min(this.blockBytes, this.size - start));
    p.catch(() => this.blocks.delete(i));
    this.blocks.set(i, p);
    if (this.blocks.size > this.maxBlocks) this.blocks.delete(this.blocks.keys().next().value!);
    return p;
  }
}
