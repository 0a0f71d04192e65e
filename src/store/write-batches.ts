/**
 * Verified pieces waiting for their write on the verifying thread
 * (verify-worker.ts), handed out as runs: the oldest waiting piece with the
 * waiting pieces adjacent to it in the file on both sides, all alike in
 * whether they may bypass the page cache, up to a byte budget (one pwritev
 * each). Pure: a table test covers it.
 */

/** A piece waiting for its write: `length` bytes at file offset `position`. */
export interface WaitingPiece {
  readonly position: number;
  readonly length: number;
  /** Its memory offset, length and file offset are multiples of the O_DIRECT alignment. */
  readonly aligned: boolean;
}

export class WriteBatches<T extends WaitingPiece> {
  /** In arrival order. */
  private readonly waiting = new Set<T>();
  private readonly byStart = new Map<number, T>();
  private readonly byEnd = new Map<number, T>();

  get size(): number {
    return this.waiting.size;
  }

  add(p: T): void {
    this.waiting.add(p);
    this.byStart.set(p.position, p);
    this.byEnd.set(p.position + p.length, p);
  }

  /** The next run to write, in file order (at least one piece however large; empty when none waits). */
  next(maxBytes: number): T[] {
    const first = this.waiting.values().next().value;
    if (first === undefined) return [];
    this.take(first);
    const run = [first];
    let bytes = first.length;
    const fits = (p: T | undefined): p is T => p !== undefined && p.aligned === first.aligned && bytes + p.length <= maxBytes;
    for (let p = this.byStart.get(first.position + first.length); fits(p); p = this.byStart.get(p.position + p.length)) {
      this.take(p);
      run.push(p);
      bytes += p.length;
    }
    for (let p = this.byEnd.get(first.position); fits(p); p = this.byEnd.get(p.position)) {
      this.take(p);
      run.unshift(p);
      bytes += p.length;
    }
    return run;
  }

  private take(p: T): void {
    this.waiting.delete(p);
    this.byStart.delete(p.position);
    this.byEnd.delete(p.position + p.length);
  }
}
