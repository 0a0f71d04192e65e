/**
 * Fetched byte ranges of the target, sorted and disjoint, kept for the whole
 * sync (VirtualTarget: the planning bytes). A nested image's metadata comes
 * as one range per inode or cluster index, some 90 bytes each, thousands of
 * them: each range is a row of typed columns (start, end, where its bytes
 * sit), its bytes copied into shared slabs; a view of them is made when read.
 *
 * Bytes live in chunks, numbered in the order they were made: a slab of small
 * ranges, or a large range's own buffer. With a spill store, only the newest
 * chunks up to `residentBytes` stay in memory; older ones are appended to the
 * store (an unlinked scratch file, store/spill-file.ts) and dropped, oldest
 * first. A range in a spilled chunk is read back by loading its whole chunk
 * (a fresh buffer, so a view handed out stays valid), and the last few chunks
 * loaded are kept (`readbackBytes`): reads that walk a directory sector by
 * sector, or inodes in image order, load each chunk about once. The
 * planning bytes of an image of a million files (~270 MiB) then cost a few
 * MiB of memory, not their size.
 */
import { firstEndingAfter } from './bounds-search.js';

/** Ranges up to this size are copied into shared slabs of SLAB_BYTES; longer ones keep a buffer of their own. */
const SLAB_BYTES = 256 * 1024;
const SLAB_MAX_COPY = 4096;

/** Where spilled chunks go: append-only, read back by offset (store/spill-file.ts). */
export interface SpillStore {
  append(bytes: Uint8Array): number;
  readInto(dest: Uint8Array, at: number, position: number, length: number): void;
  close(): void;
}

export interface RangeCacheOptions {
  /** Creates the store on the first spill; without it every byte stays in memory. */
  readonly spill?: () => SpillStore;
  /** Chunk bytes kept in memory before the oldest are spilled. */
  readonly residentBytes?: number;
  /** Spilled chunks loaded back and kept, at most this many bytes of them. */
  readonly readbackBytes?: number;
}

export class RangeCache {
  private bounds = new Float64Array(64);
  /** Per range: the index of its chunk, and its offset there. */
  private where = new Uint32Array(64);
  private n = 0;
  /** Per chunk: its bytes while in memory, its length used, and its offset in the spill store once spilled (-1 before). */
  private readonly chunks: (Uint8Array | undefined)[] = [];
  private readonly chunkLength: number[] = [];
  private readonly spilledAt: number[] = [];
  /** The slab being filled (an index into `chunks`), and its bytes used. */
  private slab = -1;
  private slabUsed = SLAB_BYTES;
  /** Bytes of chunks in memory (a slab counts whole), and the oldest chunk not spilled. */
  private resident = 0;
  private oldest = 0;
  private store: SpillStore | undefined;
  /** Spilled chunks loaded back, least recently used first, and their bytes. */
  private readonly loaded = new Map<number, Uint8Array>();
  private loadedBytes = 0;
  private readonly residentLimit: number;
  private readonly readbackLimit: number;

  constructor(private readonly opts: RangeCacheOptions = {}) {
    this.residentLimit = opts.residentBytes ?? 4 * 1024 * 1024;
    this.readbackLimit = opts.readbackBytes ?? 4 * 1024 * 1024;
  }

  get count(): number {
    return this.n;
  }

  /** Bytes of chunks held in memory (not counting chunks loaded back). */
  get residentBytes(): number {
    return this.resident;
  }

  /** Bytes written to the spill store. */
  get spilledBytes(): number {
    let s = 0;
    for (let c = 0; c < this.oldest; c++) s += this.chunkLength[c]!;
    return s;
  }

  start(i: number): number {
    return this.bounds[2 * i]!;
  }

  end(i: number): number {
    return this.bounds[2 * i + 1]!;
  }

  /** Whether range i's bytes are in memory now (a view of them costs no I/O). */
  isResident(i: number): boolean {
    return this.chunks[this.where[2 * i]!] !== undefined;
  }

  /** The bytes of range i (a view; of a chunk loaded back from the spill store when it was spilled). */
  bytes(i: number): Uint8Array {
    const at = this.where[2 * i + 1]!;
    return this.chunk(this.where[2 * i]!).subarray(at, at + this.end(i) - this.start(i));
  }

  /** Index of the first range that ends after `pos`. */
  firstAfter(pos: number): number {
    return firstEndingAfter(this.bounds, 2, this.n, pos);
  }

  /** Adds the range at `start` holding `bytes` (disjoint from every range held). */
  add(start: number, bytes: Uint8Array): void {
    let chunk: number;
    let offset = 0;
    if (bytes.length <= SLAB_MAX_COPY) {
      if (this.slabUsed + bytes.length > SLAB_BYTES) this.newSlab();
      chunk = this.slab;
      offset = this.slabUsed;
      this.chunks[chunk]!.set(bytes, offset);
      this.slabUsed += bytes.length;
      this.chunkLength[chunk] = this.slabUsed;
    } else {
      chunk = this.pushChunk(bytes, bytes.length);
    }
    if (this.n === this.where.length / 2) this.grow();
    const i = this.firstAfter(start);
    this.bounds.copyWithin(2 * i + 2, 2 * i, 2 * this.n);
    this.where.copyWithin(2 * i + 2, 2 * i, 2 * this.n);
    this.bounds[2 * i] = start;
    this.bounds[2 * i + 1] = start + bytes.length;
    this.where[2 * i] = chunk;
    this.where[2 * i + 1] = offset;
    this.n++;
    this.spillOld();
  }

  /** Drops the spill store (its file goes with it); the cache is not used afterwards. */
  close(): void {
    this.store?.close();
    this.store = undefined;
    this.loaded.clear();
  }

  private newSlab(): void {
    this.slab = this.pushChunk(new Uint8Array(SLAB_BYTES), 0);
    this.slabUsed = 0;
  }

  private pushChunk(bytes: Uint8Array, used: number): number {
    this.resident += bytes.length;
    this.spilledAt.push(-1);
    this.chunkLength.push(used);
    return this.chunks.push(bytes) - 1;
  }

  /** Spills the oldest chunks until the rest fit `residentLimit` (the newest chunk always stays). */
  private spillOld(): void {
    if (!this.opts.spill) return;
    while (this.resident > this.residentLimit && this.oldest < this.chunks.length - 1) {
      const c = this.oldest++;
      const bytes = this.chunks[c]!;
      // A slab still being filled is finished here: small ranges after this go to a new one.
      if (c === this.slab) {
        this.slab = -1;
        this.slabUsed = SLAB_BYTES;
      }
      this.store ??= this.opts.spill();
      this.spilledAt[c] = this.store.append(bytes.subarray(0, this.chunkLength[c]!));
      this.chunks[c] = undefined;
      this.resident -= bytes.length;
    }
  }

  private chunk(c: number): Uint8Array {
    const inMemory = this.chunks[c];
    if (inMemory) return inMemory;
    const hit = this.loaded.get(c);
    if (hit) {
      this.loaded.delete(c);
      this.loaded.set(c, hit);
      return hit;
    }
    const bytes = new Uint8Array(this.chunkLength[c]!);
    this.store!.readInto(bytes, 0, this.spilledAt[c]!, bytes.length);
    this.loaded.set(c, bytes);
    this.loadedBytes += bytes.length;
    for (const [k, v] of this.loaded) {
      if (this.loadedBytes <= this.readbackLimit || k === c) break;
      this.loaded.delete(k);
      this.loadedBytes -= v.length;
    }
    return bytes;
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
