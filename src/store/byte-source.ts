/**
 * Random access to the bytes of an image, "N bytes at offset X": the
 * ByteSource port (core/ports.ts) and its small implementations.
 *
 * Parsers (src/iso, the planner) read through this interface only, so they
 * work the same on a whole file, on a partly downloaded image (where reading
 * a range that is not present yet fails, or fetches it first), and in tests
 * on a Uint8Array (MemorySource).
 */
import { IsosyncError } from '../errors.js';
import type { ByteSource } from '../core/ports.js';
import { mergeSpans, type Span } from '../core/span.js';

export type { ByteSource, Span };

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
    return mergeSpans(this.spans);
  }
}

export function checkRange(size: number, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new IsosyncError('IO', `Cannot read ${what}: range ${offset}+${length} is outside its ${size} bytes`, { offset, length, size });
  }
}
