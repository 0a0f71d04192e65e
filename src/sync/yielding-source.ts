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
 * yieldEveryMs); both take their turns from core/turns.ts.
 */
import { TurnSlices } from '../core/turns.js';
import { readInto, type ByteSource, type Span } from '../store/byte-source.js';

export class YieldingSource implements ByteSource {
  private readonly turns: TurnSlices;
  readonly prefetch?: (ranges: readonly Span[]) => Promise<void>;
  readonly prefetchBounds?: (bounds: Float64Array) => Promise<void>;

  constructor(
    private readonly inner: ByteSource,
    sliceMs: number,
  ) {
    this.turns = new TurnSlices(sliceMs);
    if (inner.prefetch) this.prefetch = async (ranges) => (this.turns.due() && (await this.turns.turn()), inner.prefetch!(ranges));
    if (inner.prefetchBounds) this.prefetchBounds = async (bounds) => (this.turns.due() && (await this.turns.turn()), inner.prefetchBounds!(bounds));
  }

  get size(): number {
    return this.inner.size;
  }

  get cheapReads(): boolean | undefined {
    return this.inner.cheapReads;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (this.turns.due()) await this.turns.turn();
    return this.inner.read(offset, length);
  }

  async readInto(dest: Uint8Array, at: number, offset: number, length: number): Promise<void> {
    if (this.turns.due()) await this.turns.turn();
    return readInto(this.inner, dest, at, offset, length);
  }
}
