/**
 * Slabs that received blocks are cut from, handed back explicitly when the
 * last holder of every block cut from one lets go, and cut again: a web
 * seed's look-ahead blocks (webseed/block-filler.ts) live for seconds, their
 * views are promoted, and a slab left to the collector waited for a full
 * collection (one every ~1.5 s in a DVD sync: ~6 MiB of slabs at the peak,
 * ~2 MiB once let go explicitly; allocation sites tracked through a
 * finalization registry).
 *
 * Counting: `cut` gives the caller one hold on the bytes; whoever keeps them
 * past the call takes its own (`hold`) and gives it back (`release`) once it
 * has read them for the last time. A slab whose holds are all given back,
 * and from which nothing more is cut, is spare: the next cut takes it. A
 * hold never given back only keeps that slab from being cut again (the
 * counts are in a WeakMap: the slab then goes to the collector as before);
 * a release without its hold would let bytes be overwritten while read, so
 * a holder releases only what it held. Bytes not cut here (a peer's, a view
 * of a reply) are ignored by hold and release.
 *
 * At most `maxSpare` slabs wait spare; beyond that a slab let go whole goes
 * to `drop` (core/block-slabs.ts detaches it: its memory goes at the next
 * scavenge; a view of it read by mistake is then empty, not overwritten
 * bytes). Pure but for `alloc` and `drop`.
 */

export class SlabPool {
  /** Holds per slab of this pool (by its ArrayBuffer). */
  private readonly holds = new WeakMap<ArrayBufferLike, number>();
  private readonly spare: Uint8Array[] = [];
  private slab: Uint8Array | undefined;
  private at = 0;
  /** Slabs allocated and slabs cut again, since the start (for tests and reports). */
  allocated = 0;
  reused = 0;

  constructor(
    readonly slabBytes: number,
    public maxSpare: number,
    private readonly alloc: (n: number) => Uint8Array = (n) => new Uint8Array(Buffer.allocUnsafeSlow(n).buffer),
    /** What becomes of a slab let go whole when the spares are full (by default: left to the collector). */
    private readonly drop: (slab: ArrayBuffer) => void = () => undefined,
  ) {}

  /** `n` bytes of their own (not zeroed), with one hold for the caller; a length above a slab gets a buffer of its own (not pooled). */
  cut(n: number): Uint8Array {
    if (n > this.slabBytes) return this.alloc(n);
    if (this.slab === undefined || this.at + n > this.slab.length) this.next();
    const s = this.slab!;
    const out = s.subarray(this.at, this.at + n);
    this.at += n;
    this.holds.set(s.buffer, this.holds.get(s.buffer)! + 1);
    return out;
  }

  /** One more hold on `bytes` (no-op for bytes not cut here). */
  hold(bytes: Uint8Array): void {
    const n = this.holds.get(bytes.buffer);
    if (n !== undefined) this.holds.set(bytes.buffer, n + 1);
  }

  /** Gives one hold on `bytes` back; the slab's last one makes it spare, once nothing more is cut from it. */
  release(bytes: Uint8Array): void {
    const b = bytes.buffer;
    const n = this.holds.get(b);
    if (n === undefined || n <= 0) return;
    this.holds.set(b, n - 1);
    if (n === 1 && b !== this.slab?.buffer) this.retire(b);
  }

  /** Slabs waiting to be cut again. */
  get spares(): number {
    return this.spare.length;
  }

  private next(): void {
    const old = this.slab;
    this.slab = undefined;
    if (old && this.holds.get(old.buffer) === 0) this.retire(old.buffer);
    const reused = this.spare.pop();
    if (reused) this.reused++;
    else this.allocated++;
    this.slab = reused ?? this.alloc(this.slabBytes);
    this.at = 0;
    this.holds.set(this.slab.buffer, 0);
  }

  private retire(b: ArrayBufferLike): void {
    if (this.spare.length >= this.maxSpare) {
      this.holds.delete(b);
      if (b instanceof ArrayBuffer) this.drop(b);
      return;
    }
    this.spare.push(new Uint8Array(b));
  }
}
