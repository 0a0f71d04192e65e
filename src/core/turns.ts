/**
 * Turns of the event loop for work that never has to wait: a walk of a local
 * image reads the page cache synchronously (store/exact-io.ts), so its awaits
 * resolve as microtasks and nothing else runs until it ends, not even the
 * replies of a target's walk over the network beside it. The work asks
 * `due()` between two steps and, once `sliceMs` went by since the last turn,
 * takes one (`turn()`: setImmediate, after I/O callbacks).
 *
 * Used by sync/yielding-source.ts (every read of a source's nested walk) and
 * iso/plan-image.ts (between two directories of a source's ISO walk).
 */
export class TurnSlices {
  private since: number;

  constructor(
    private readonly sliceMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.since = now();
  }

  /** Whether the slice is used up. */
  due(): boolean {
    return this.now() - this.since >= this.sliceMs;
  }

  /** A turn of the event loop, then a new slice. */
  async turn(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    this.since = this.now();
  }
}
