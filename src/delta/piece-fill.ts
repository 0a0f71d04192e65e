/**
 * The local half of assembling a piece: copying planned segments into a
 * piece buffer (neighbours that continue each other read at once), and the
 * pool of piece-sized buffers those copies and the network fill.
 */
import { readInto, type ByteSource } from '../store/byte-source.js';
import { mergeSpans, type Span } from '../core/span.js';
import { CACHE_SOURCE, ZERO_SOURCE, type LocalSegment } from './plan.js';

/** Where segments read from: local sources by index, and the bytes fetched while planning. */
export interface FillInput {
  readonly sources: readonly (ByteSource | undefined)[];
  readonly cache?: { cacheBytes(out: Uint8Array, start: number, end: number): void } | undefined;
}

/**
 * Segments in order, with neighbours that continue each other (same source,
 * adjacent in the target and in the source) joined: one read instead of
 * several (runs of consecutive files, zeros split by layers).
 */
function coalesce(segs: readonly LocalSegment[]): LocalSegment[] {
  const out: LocalSegment[] = [];
  for (const s of segs) {
    const last = out[out.length - 1];
    if (last && last.source === s.source && last.end === s.start && (s.source === ZERO_SOURCE || last.sourceOffset + (last.end - last.start) === s.sourceOffset)) {
      out[out.length - 1] = { ...last, end: s.end };
    } else out.push(s);
  }
  return out;
}

/** Copies segments into `buf` (buf[0] is target byte `base`), reading straight into it; returns the spans filled. */
export async function fillSegments(
  buf: Uint8Array,
  base: number,
  segs: readonly LocalSegment[],
  input: FillInput,
): Promise<Span[]> {
  const filled: Span[] = [];
  for (const s of coalesce(segs)) {
    const len = s.end - s.start;
    if (s.source === ZERO_SOURCE) {
      buf.fill(0, s.start - base, s.end - base);
    } else if (s.source === CACHE_SOURCE) {
      if (!input.cache) continue;
      input.cache.cacheBytes(buf.subarray(s.start - base, s.end - base), s.start, s.end);
    } else {
      const src = input.sources[s.source];
      if (!src || s.sourceOffset < 0 || s.sourceOffset + len > src.size) continue;
      try {
        await readInto(src, buf, s.start - base, s.sourceOffset, len);
      } catch {
        continue; // an unreadable source byte is simply not local
      }
    }
    filled.push({ start: s.start, end: s.end });
  }
  return mergeSpans(filled);
}

/**
 * Piece-sized buffers for reuse. A buffer is given back only when nothing
 * references it any more (the piece is written by a store that released it,
 * or it held network bytes that were copied out), so the pool never holds
 * more than the pieces in flight: `concurrency` x 2 at most.
 */
export class BufferPool {
  private readonly free: Uint8Array[] = [];

  constructor(private readonly capacity: number) {}

  /** A buffer of `len` bytes (len <= capacity) with arbitrary contents. */
  take(len: number): Uint8Array {
    if (len > this.capacity) return new Uint8Array(len);
    const b = this.free.pop() ?? new Uint8Array(this.capacity);
    return len === this.capacity ? b : b.subarray(0, len);
  }

  give(view: Uint8Array): void {
    if (view.buffer.byteLength !== this.capacity || view.byteOffset !== 0) return;
    this.free.push(view.length === this.capacity ? view : new Uint8Array(view.buffer, 0, this.capacity));
  }
}
