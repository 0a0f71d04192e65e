/**
 * A local source that gives the event loop a turn now and then: a ByteSource
 * whose reads, once `sliceMs` of work went by since the last turn, first wait
 * for one (setImmediate).
 *
 * A source image's walk reads the page cache synchronously (store/exact-io.ts),
 * so its awaits resolve as microtasks and nothing else runs until it ends. The
 * sources' nested walks run beside the target's (sync/nested-plan.ts), which is
 * a chain of network round trips (the squashfs superblock, its tables, each
 * directory level's inodes): without turns, every reply of that chain waited
 * for the old image's whole walk, and the target's walk then ran its round
 * trips one after the other once the old one had ended. The ISO walk of a
 * source does the same for the target's ISO tree (iso/plan-image.ts
 * yieldEveryMs).
 */
import { readInto, type ByteSource, type Span } from '../store/byte-source.js';

export class YieldingSource implements ByteSource {
  private since = performance.now();
  readonly prefetch?: (ranges: readonly Span[]) => Promise<void>;
  readonly prefetchBounds?: (bounds: Float64Array) => Promise<void>;

  constructor(
    private readonly inner: ByteSource,
    private readonly sliceMs: number,
  ) {
    if (inner.prefetch) this.prefetch = async (ranges) => (this.due() && (await this.pause()), inner.prefetch!(ranges));
    if (inner.prefetchBounds) this.prefetchBounds = async (bounds) => (this.due() && (await this.pause()), inner.prefetchBounds!(bounds));
  }

  get size(): number {
    return this.inner.size;
  }

  get cheapReads(): boolean | undefined {
    return this.inner.cheapReads;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (this.due()) await this.pause();
    return this.inner.read(offset, length);
  }

  async readInto(dest: Uint8Array, at: number, offset: number, length: number): Promise<void> {
    if (this.due()) await this.pause();
    return readInto(this.inner, dest, at, offset, length);
  }

  /** Whether the slice is used up. */
  private due(): boolean {
    return performance.now() - this.since >= this.sliceMs;
  }

  /** A turn of the event loop, then a new slice. */
  private async pause(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    this.since = performance.now();
  }
}
