/**
 * The bytes of re-encoded EROFS clusters (delta/reencoded-clusters.ts), kept
 * in memory as a local source of their own: plan segments point into it like
 * into a source image, and piece hashes decide whether they were right.
 * Each cluster is stored once per key (its place in the target image), so a
 * replan that rebuilds it again adds nothing.
 */
import { IsosyncError } from '../errors.js';
import type { ByteSource } from '../store/byte-source.js';

export class ReencodedStore implements ByteSource {
  private readonly chunks: Uint8Array[] = [];
  private readonly starts: number[] = [];
  private readonly byKey = new Map<number, number>();
  private total = 0;

  get size(): number {
    return this.total;
  }

  /** Keeps `bytes` under `key` (once: a second put with the same key returns the first offset) and gives their offset. */
  put(key: number, bytes: Uint8Array): number {
    const had = this.byKey.get(key);
    if (had !== undefined) return had;
    const at = this.total;
    this.chunks.push(bytes);
    this.starts.push(at);
    this.total += bytes.length;
    this.byKey.set(key, at);
    return at;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.total) {
      throw new IsosyncError('INTERNAL', `Cannot read re-encoded clusters: range ${offset}+${length} is outside their ${this.total} bytes`, { offset, length });
    }
    const out = new Uint8Array(length);
    // The chunk holding `offset`: the last start at or before it.
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    let at = 0;
    for (let i = lo; at < length && i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      const from = offset + at - this.starts[i]!;
      const n = Math.min(c.length - from, length - at);
      out.set(c.subarray(from, from + n), at);
      at += n;
    }
    return out;
  }
}
