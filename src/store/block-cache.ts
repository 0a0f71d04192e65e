/**
 * A ByteSource wrapper that reads in aligned blocks and keeps the most recent
 * ones, so the many small reads of metadata parsing and piece filling cost one
 * system call per block instead of one each. Reads of a block or more go
 * straight through. Memory: at most `maxBlocks` x `blockBytes`.
 *
 * Over a source whose small reads are cheap (ByteSource.cheapReads: a regular
 * local file, read synchronously from the page cache) a miss reads only the
 * bytes asked, straight into the caller's buffer with readInto, and loads no
 * block: piece filling reads small segments that move forward, and loading a
 * 256 KiB block for each cost an allocation, a copy and garbage collection
 * far above the one pread it saved (8 clients updating through one serve on
 * the 100 MB bench pair: 2.4-2.7 -> 1.5-1.7 s of CPU per client). Blocks held
 * (prefetched ones) still serve reads.
 */
import type { ByteSource, Span } from './byte-source.js';
import { checkRange, readInto } from './byte-source.js';

/** 256 KiB blocks: one ISO directory area or one piece's worth per read. */
export const BLOCK_BYTES = 256 * 1024;
/**
 * 8 blocks = 2 MiB per source: reads of DIRECT_BYTES or more bypass the cache, so it only serves metadata and small
 * segments, which move forward (a stock sync of the 348 MiB DVD pair missed 82 times with 16 blocks, 97 with 8: ~0.15 ms of CPU each).
 */
export const MAX_BLOCKS = 8;
/**
 * readInto of this many bytes or more goes straight to the inner source, into
 * the caller's buffer: a large read gains nothing from the cache and would
 * cost a block allocation and a copy (piece filling reads whole file runs).
 */
export const DIRECT_BYTES = 32 * 1024;
/**
 * prefetch reads a run of nearby blocks with one read of at most this many bytes, bridging gaps of up
 * to PREFETCH_GAP_BYTES: a read of a local file costs ~0.15 ms of CPU on a loaded machine (the thread
 * pool's hand-off), far more than reading and copying some kilobytes more.
 */
const PREFETCH_RUN_BYTES = 256 * 1024;
const PREFETCH_GAP_BYTES = 64 * 1024;
/** Prefetch reads at once (libuv's thread pool has 4 threads): memory stays at a few runs. */
const PREFETCH_READS = 4;

export class BlockCache implements ByteSource {
  private readonly blocks = new Map<number, Promise<Uint8Array>>();
  /** Pooled: the slots' one buffer, each held block's slot, the free slots, blocks being read, and reads under way per block. */
  private slab: Uint8Array | undefined;
  private readonly slotOf = new Map<number, number>();
  private readonly freeSlots: number[] = [];
  private readonly loading = new Set<number>();
  private readonly pins = new Map<number, number>();

  constructor(
    readonly inner: ByteSource,
    private readonly blockBytes = BLOCK_BYTES,
    private readonly maxBlocks = MAX_BLOCKS,
    /**
     * Blocks in `maxBlocks` slots of one buffer, allocated once, and reads return copies (a slot is reused once its
     * block is evicted): a nested walk loads a block per few inodes, and a fresh 4 KiB buffer each (EROFS at 100,000
     * entries: tens of thousands) was garbage in malloc's arenas until the old space's next collection.
     */
    private readonly pooled = false,
  ) {
    for (let k = maxBlocks - 1; pooled && k >= 0; k--) this.freeSlots.push(k);
  }

  get size(): number {
    return this.inner.size;
  }

  /** The inner source's (ByteSource.preadFd): a cache holds the file's own bytes. */
  get preadFd(): number | undefined {
    return this.inner.preadFd;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, 'a cached source');
    if (length >= this.blockBytes || length === 0) return this.inner.read(offset, length);
    const first = Math.floor(offset / this.blockBytes);
    const last = Math.floor((offset + length - 1) / this.blockBytes);
    if (this.inner.cheapReads && !this.holds(first, last)) return this.inner.read(offset, length);
    if (this.pooled) {
      const out = new Uint8Array(length);
      await this.copy(out, 0, offset, length);
      return out;
    }
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
    if (length > 0 && this.inner.cheapReads && !this.holds(Math.floor(offset / this.blockBytes), Math.floor((offset + length - 1) / this.blockBytes))) {
      return readInto(this.inner, dest, at, offset, length);
    }
    if (this.pooled) await this.copy(dest, at, offset, length);
    else dest.set(await this.read(offset, length), at);
  }

  /** Pooled: bytes [offset, offset + length) into dest at `at`, each block pinned (kept in its slot) while awaited. */
  private async copy(dest: Uint8Array, at: number, offset: number, length: number): Promise<void> {
    const bs = this.blockBytes;
    const last = Math.floor((offset + length - 1) / bs);
    for (let i = Math.floor(offset / bs); i <= last; i++) {
      const p = this.block(i);
      this.pins.set(i, (this.pins.get(i) ?? 0) + 1);
      try {
        const b = await p;
        const start = i * bs;
        const a = Math.max(offset, start);
        const e = Math.min(offset + length, start + b.length);
        dest.set(b.subarray(a - start, e - start), at + a - offset);
      } finally {
        const n = this.pins.get(i)! - 1;
        if (n > 0) this.pins.set(i, n);
        else this.pins.delete(i);
      }
    }
  }

  /**
   * Loads the blocks of `ranges` not held yet, one read per run of nearby blocks, at most half the cache's
   * blocks (the first ranges first): a metadata walk announces a level's inodes at once (EROFS keeps them
   * all over the image), thousands of 4 KiB blocks that cost one read each when read one at a time.
   */
  async prefetch(ranges: readonly Span[]): Promise<void> {
    const bs = this.blockBytes;
    const wanted = new Set<number>();
    const limit = Math.max(1, this.maxBlocks >> 1);
    for (const r of ranges) {
      for (let i = Math.floor(Math.max(0, r.start) / bs); i * bs < Math.min(r.end, this.size) && wanted.size < limit; i++) if (!this.blocks.has(i)) wanted.add(i);
      if (wanted.size >= limit) break;
    }
    const order = [...wanted].sort((a, b) => a - b);
    const maxRun = Math.max(1, Math.floor(PREFETCH_RUN_BYTES / bs));
    const gap = Math.floor(PREFETCH_GAP_BYTES / bs);
    const runs: [number, number][] = [];
    for (const i of order) {
      const last = runs[runs.length - 1];
      if (last && i - last[1] <= gap + 1 && i - last[0] < maxRun) last[1] = i;
      else runs.push([i, i]);
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      // Pooled: each worker reads its runs into one buffer of its own, and the blocks are copied into their slots.
      const scratch = this.pooled ? new Uint8Array(maxRun * bs) : undefined;
      while (next < runs.length) {
        const [a, b] = runs[next++]!;
        const start = a * bs;
        const len = Math.min((b + 1) * bs, this.size) - start;
        let bytes: Uint8Array;
        if (scratch) {
          await readInto(this.inner, scratch, 0, start, len);
          bytes = scratch.subarray(0, len);
        } else bytes = await this.inner.read(start, len);
        for (let i = a; i <= b; i++) {
          if (!wanted.has(i) || this.blocks.has(i)) continue;
          if (this.pooled) {
            const from = bytes.subarray((i - a) * bs, Math.min((i - a + 1) * bs, len));
            const view = this.room(from.length);
            view.set(from);
            this.blocks.set(i, Promise.resolve(view));
            if (view.buffer === this.slab?.buffer) this.slotOf.set(i, view.byteOffset / bs);
            continue;
          }
          // A copy of each block, not a view: a Buffer's slice is a view, and one cached 4 KiB block
          // would keep its whole run's read (up to PREFETCH_RUN_BYTES) alive.
          const block = a === b ? bytes : new Uint8Array(bytes.subarray((i - a) * bs, (i - a + 1) * bs));
          this.blocks.set(i, Promise.resolve(block));
          if (this.blocks.size > this.maxBlocks) this.blocks.delete(this.blocks.keys().next().value!);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PREFETCH_READS, runs.length) }, worker));
  }

  /** Every block from `first` to `last` is held (or being loaded). */
  private holds(first: number, last: number): boolean {
    for (let i = first; i <= last; i++) if (!this.blocks.has(i)) return false;
    return true;
  }

  /**
   * Pooled: a view of a free slot of `length` bytes, evicting the least recently used block that is neither being
   * read nor pinned when none is free (a fresh buffer when every block is).
   */
  private room(length: number): Uint8Array {
    if (this.freeSlots.length === 0 && this.blocks.size >= this.maxBlocks) {
      for (const k of this.blocks.keys()) {
        if (this.loading.has(k) || this.pins.has(k)) continue;
        this.blocks.delete(k);
        const slot = this.slotOf.get(k);
        if (slot !== undefined) {
          this.slotOf.delete(k);
          this.freeSlots.push(slot);
        }
        break;
      }
    }
    const slot = this.freeSlots.pop();
    if (slot === undefined) return new Uint8Array(length);
    this.slab ??= new Uint8Array(this.maxBlocks * this.blockBytes);
    return this.slab.subarray(slot * this.blockBytes, slot * this.blockBytes + length);
  }

  private block(i: number): Promise<Uint8Array> {
    let p = this.blocks.get(i);
    if (p) {
      this.blocks.delete(i); // move to the back: most recently used
      this.blocks.set(i, p);
      return p;
    }
    const start = i * this.blockBytes;
    if (this.pooled) {
      const view = this.room(Math.min(this.blockBytes, this.size - start));
      const slot = view.buffer === this.slab?.buffer ? view.byteOffset / this.blockBytes : undefined;
      this.loading.add(i);
      p = readInto(this.inner, view, 0, start, view.length).then(
        () => {
          this.loading.delete(i);
          return view;
        },
        (e: unknown) => {
          this.loading.delete(i);
          if (this.blocks.get(i) === p) this.blocks.delete(i);
          if (slot !== undefined) {
            if (this.slotOf.get(i) === slot) this.slotOf.delete(i);
            this.freeSlots.push(slot);
          }
          throw e;
        },
      );
      this.blocks.set(i, p);
      if (slot !== undefined) this.slotOf.set(i, slot);
      return p;
    }
    p = this.inner.read(start, Math.min(this.blockBytes, this.size - start));
    p.catch(() => this.blocks.delete(i));
    this.blocks.set(i, p);
    if (this.blocks.size > this.maxBlocks) this.blocks.delete(this.blocks.keys().next().value!);
    return p;
  }
}
