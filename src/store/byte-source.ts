/**
 * Random access to the bytes of an image: "N bytes at offset X".
 *
 * Parsers (src/iso, the planner) read through this interface only, so they
 * work the same on a whole file, on a partly downloaded image (where reading
 * a range that is not present yet fails, or fetches it first), and in tests
 * on a Uint8Array.
 */
import { IsosyncError } from '../errors.js';

export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /**
   * Returns exactly `length` bytes starting at `offset`. Reading past `size`
   * is a caller error and rejects with an IsosyncError.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: the same bytes as `read(offset, length)`, written into
   * `dest[at, at+length)` instead of a new buffer (piece filling: no
   * allocation, one copy fewer).
   */
  readInto?(dest: Uint8Array, at: number, offset: number, length: number): Promise<void>;
  /**
   * Optional: the caller will soon read these ranges. A source that fetches
   * over a network gets them in one round trip; a local one ignores it.
   */
  prefetch?(ranges: readonly Span[]): Promise<void>;
}

/** A ByteSource over bytes in memory (tests, small metadata blobs). */
export class MemorySource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}

  get size(): number {
    return this.bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, 'memory');
    return this.bytes.subarray(offset, offset + length);
  }

  async readInto(dest: Uint8Array, at: number, offset: number, length: number): Promise<void> {
    checkRange(this.size, offset, length, 'memory');
    dest.set(this.bytes.subarray(offset, offset + length), at);
  }
}

/** Reads `length` bytes at `offset` of `src` into `dest` at `at`, with readInto when the source has it. */
export async function readInto(src: ByteSource, dest: Uint8Array, at: number, offset: number, length: number): Promise<void> {
  if (src.readInto) return src.readInto(dest, at, offset, length);
  dest.set(await src.read(offset, length), at);
}

/** A half-open byte range [start, end). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * Wraps a ByteSource and remembers every range read, merged, so that a caller
 * can tell which byte ranges a parse needed (the pieces to fetch first).
 */
export class RecordingSource implements ByteSource {
  private readonly spans: Span[] = [];

  constructor(private readonly inner: ByteSource) {}

  get size(): number {
    return this.inner.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const bytes = await this.inner.read(offset, length);
    if (length > 0) this.spans.push({ start: offset, end: offset + length });
    return bytes;
  }

  /** The ranges read so far, sorted and merged. */
  ranges(): Span[] {
    const sorted = [...this.spans].sort((a, b) => a.start - b.start);
    const out: Span[] = [];
    for (const s of sorted) {
      const last = out[out.length - 1];
      if (last && s.start <= last.end) out[out.length - 1] = { start: last.start, end: Math.max(last.end, s.end) };
      else out.push(s);
    }
    return out;
  }
}

export function checkRange(size: number, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new IsosyncError('IO', `Cannot read ${what}: range ${offset}+${length} is outside its ${size} bytes`, { offset, length, size });
  }
}
