/**
 * Reads forward through a ByteSource into one reused buffer: the small files
 * of an image, which lie side by side, cost one read per window and no
 * allocation each (a fresh buffer per read left the garbage collector
 * hundreds of MiB of external memory to find on a 50,000-file extract).
 *
 * With `readAhead`, a refill reads a whole window from the requested offset
 * (local images); without, exactly the bytes asked for (a source that
 * fetches what it is asked for, such as a partial image, is asked for
 * nothing more).
 */
import { readInto, type ByteSource } from '../store/byte-source.js';
import type { TransientReads } from './tree-options.js';

/** Bytes of the window: one system call for a run of small files. */
export const WINDOW_BYTES = 1024 * 1024;

export class ReadWindow {
  private readonly buf = new Uint8Array(WINDOW_BYTES);
  private start = 0;
  private end = 0;

  constructor(private readonly src: ByteSource, private readonly readAhead: boolean) {}

  /** Where byte `offset` is in `bytes` when the window holds [offset, offset + length), else -1 (peek without a view). */
  indexOf(offset: number, length: number): number {
    return offset < this.start || offset + length > this.end ? -1 : offset - this.start;
  }

  /** The window's buffer (for indexOf), valid until the next view. */
  get bytes(): Uint8Array {
    return this.buf;
  }

  /** The bytes [offset, offset + length) when the window holds them (a view valid until the next view), else undefined. */
  peek(offset: number, length: number): Uint8Array | undefined {
    if (offset < this.start || offset + length > this.end) return undefined;
    return this.buf.subarray(offset - this.start, offset - this.start + length);
  }

  /** The bytes [offset, offset + length), length at most WINDOW_BYTES: a view valid until the next call. */
  async view(offset: number, length: number): Promise<Uint8Array> {
    if (offset < this.start || offset + length > this.end) {
      const n = this.readAhead ? Math.min(WINDOW_BYTES, this.src.size - offset) : length;
      await readInto(this.src, this.buf, 0, offset, n);
      this.start = offset;
      this.end = offset + n;
    }
    return this.buf.subarray(offset - this.start, offset - this.start + length);
  }
}

/**
 * A ByteSource for walking a local image's metadata (`ls`): reads go through
 * one ReadWindow, and each read returns its own copy; the walk's directory
 * chunks are lent views instead (TransientReads, see tree.ts). The parsers keep views
 * of what they read (names, system use areas) while reading more, so the
 * window cannot be handed out itself; and unlike a block cache, whose 256
 * KiB blocks stay referenced by those views long enough to be promoted to
 * the old generation, the copies (a directory's sectors each) die young.
 * They are plain Uint8Arrays: the parsers take views of them, and a
 * Buffer's view costs several times a typed array's. (Copies carved from
 * shared 256 KiB slabs cost no less CPU, and during an extract, which walks
 * slower, kept 11 MiB of slabs alive awaiting a collection.)
 */
export class WindowSource implements ByteSource, TransientReads {
  private readonly window: ReadWindow;

  constructor(private readonly src: ByteSource) {
    this.window = new ReadWindow(src, true);
  }

  get size(): number {
    return this.src.size;
  }

  /** TransientReads: a view of the window itself, valid until the next read or view (the walk's directory chunks). */
  peek(offset: number, length: number): Uint8Array | undefined {
    return this.window.peek(offset, length);
  }

  view(offset: number, length: number): Promise<Uint8Array> {
    return length > WINDOW_BYTES ? this.src.read(offset, length) : this.window.view(offset, length);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (length > WINDOW_BYTES) return this.src.read(offset, length);
    const out = new Uint8Array(length);
    out.set(await this.window.view(offset, length));
    return out;
  }
}
