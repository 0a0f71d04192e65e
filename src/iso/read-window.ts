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

/** Bytes of the window: one system call for a run of small files. */
export const WINDOW_BYTES = 1024 * 1024;

export class ReadWindow {
  private readonly buf = new Uint8Array(WINDOW_BYTES);
  private start = 0;
  private end = 0;

  constructor(private readonly src: ByteSource, private readonly readAhead: boolean) {}

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

/** Bytes of a WindowSource slab: the copies of a few hundred directory sectors. */
const SLAB_BYTES = 256 * 1024;

/**
 * A ByteSource for walking a local image's metadata (`ls`): reads go through
 * one ReadWindow, and each read returns its own copy, a view of a slab that
 * later reads fill on (a new slab when it is full; a read over half a slab
 * gets its own). The parsers keep views of what they read (names, system
 * use areas) while reading more, so the window cannot be handed out itself;
 * and unlike a block cache, whose 256 KiB blocks stay referenced by those
 * views long enough to be promoted to the old generation, the copies die
 * young. A buffer per read (12,500 directories on the 50,000-file bench
 * image) cost more CPU in allocation and collection than the walk's parsing.
 */
export class WindowSource implements ByteSource {
  private readonly window: ReadWindow;
  private slab = new Uint8Array(0);
  private used = 0;

  constructor(private readonly src: ByteSource) {
    this.window = new ReadWindow(src, true);
  }

  get size(): number {
    return this.src.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (length > WINDOW_BYTES) return this.src.read(offset, length);
    const bytes = await this.window.view(offset, length);
    if (length > SLAB_BYTES / 2) return bytes.slice();
    if (this.used + length > this.slab.length) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.used = 0;
    }
    const out = this.slab.subarray(this.used, this.used + length);
    this.used += length;
    out.set(bytes);
    return out;
  }
}
