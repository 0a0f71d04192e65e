/**
 * An image read in aligned 256 KiB chunks, a few kept (most recently used),
 * their memory reused: the matcher follows runs through the source and
 * refines run ends in both images with it. Chunk buffers are valid until the
 * next `at` on the same cache.
 */
import type { ByteSource } from '../store/byte-source.js';
import { readInto } from '../store/byte-source.js';
import { giveBack } from '../core/give-back.js';

/**
 * Source bytes read at once, aligned, while following runs. 256 KiB, not 1 MiB: the eight kept were 8 MiB at the
 * peak of publish --previous's first scan, and a candidate block (most of them hash collisions) read a whole chunk;
 * 348 MiB DVD pair, 2 rounds: that scan's peak 84.6-85.7 -> 78.8-79.6 MiB, user CPU 3.0-3.1 -> 2.45-2.6 s.
 */
export const SOURCE_CHUNK_BYTES = 256 * 1024;
/** Source chunks kept: runs that interleave two places of the source (a file list and its files) stay cached. */
const SOURCE_CHUNKS_KEPT = 8;

/**
 * The source around the runs being followed, in aligned chunks (a few kept,
 * most recently used): runs mostly move forward through the source, so each
 * chunk is read once, with one large read.
 */
export class SourceChunks {
  private readonly chunks = new Map<number, Buffer>();
  /** The chunk `at` returned last (the most recently used: already last in `chunks`' order), looked up without the Map. */
  private lastIndex = -1;
  private lastChunk: Buffer | undefined;
  /**
   * `chunkBytes` and `kept`: large chunks for following runs through the
   * source; small ones, many kept, for refining run ends, which look at a few
   * bytes at each of thousands of places.
   */
  constructor(
    private readonly src: ByteSource,
    readonly chunkBytes = SOURCE_CHUNK_BYTES,
    private readonly kept = SOURCE_CHUNKS_KEPT,
  ) {}

  /** The chunk holding byte `pos` (its first byte is chunk * chunkBytes). */
  async at(pos: number): Promise<Buffer> {
    const i = Math.floor(pos / this.chunkBytes);
    if (i === this.lastIndex) return this.lastChunk!;
    const hit = this.chunks.get(i);
    if (hit) {
      this.chunks.delete(i);
      this.chunks.set(i, hit);
      this.lastIndex = i;
      this.lastChunk = hit;
      return hit;
    }
    const start = i * this.chunkBytes;
    const length = Math.min(this.chunkBytes, this.src.size - start);
    this.lastIndex = -1; // its memory may be the one reused below
    // The least recently used chunk's memory is reused: fresh buffers cost page faults.
    let store: Buffer;
    if (this.chunks.size >= this.kept) {
      const [oldest, old] = this.chunks.entries().next().value!;
      this.chunks.delete(oldest);
      store = Buffer.from(old.buffer, old.byteOffset, this.chunkBytes);
    } else {
      store = Buffer.allocUnsafe(this.chunkBytes);
    }
    await readInto(this.src, store, 0, start, length);
    const buf = store.subarray(0, length);
    this.chunks.set(i, buf);
    this.lastIndex = i;
    this.lastChunk = buf;
    return buf;
  }

  /** Gives every chunk's memory back now (core/give-back.ts): no chunk handed out is read afterwards. */
  release(): void {
    for (const c of this.chunks.values()) giveBack(c, true);
    this.chunks.clear();
  }
}

/** How many bytes before `t` and `s` (at most `max`) agree, compared chunk by chunk. */
export async function sameBefore(tc: SourceChunks, t: number, sc: SourceChunks, s: number, max: number): Promise<number> {
  let k = 0;
  while (k < max) {
    const tp = t - 1 - k;
    const sp = s - 1 - k;
    const tb = await tc.at(tp);
    const sb = await sc.at(sp); // separate caches: reading sb never reuses tb's memory
    const ti = tp % tc.chunkBytes;
    const si = sp % sc.chunkBytes;
    const lim = Math.min(max - k, ti + 1, si + 1);
    let j = 0;
    while (j < lim && tb[ti - j] === sb[si - j]) j++;
    k += j;
    if (j < lim) break;
  }
  return k;
}

/** How many bytes from `t` and `s` on (at most `max`) agree, compared chunk by chunk. */
export async function sameAfter(tc: SourceChunks, t: number, sc: SourceChunks, s: number, max: number): Promise<number> {
  let k = 0;
  while (k < max) {
    const tb = await tc.at(t + k);
    const sb = await sc.at(s + k);
    const ti = (t + k) % tc.chunkBytes;
    const si = (s + k) % sc.chunkBytes;
    const lim = Math.min(max - k, tb.length - ti, sb.length - si);
    let j = 0;
    while (j < lim && tb[ti + j] === sb[si + j]) j++;
    k += j;
    if (j < lim) break;
  }
  return k;
}
