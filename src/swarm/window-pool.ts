/**
 * Buffers of the serve read-windows (serve-window.ts), reused: a window read
 * into a fresh 256 KiB buffer each time made every image a seed served ~1,200
 * ArrayBuffers, memory outside the JS heap that drove V8 to a full collection
 * every ~10 MB (as received blocks did, peer-link.ts).
 *
 * A window's blocks leave as views of its buffer: the buffer goes back to
 * the pool only when the window has left the cache (`retire`) and every
 * block sent from it is in the kernel. SafeWire counts a block it pushes
 * (`lend`), PeerLink passes `written` to the socket write that carries it.
 * A count that never comes back (a link closed before the write, an
 * encrypted wire that sends a copy, a uTP connection) keeps the buffer out
 * of the pool: it is then collected as before, never reused early.
 */

/** A pooled buffer's loans. */
class Loan {
  /** Blocks of the buffer pushed and not yet in the kernel. */
  writes = 0;
  /** Out of the window cache: back to the pool once `writes` is 0. */
  retired = false;
  /** In the pool's free list. */
  free = false;

  constructor(
    readonly buf: Uint8Array,
    private readonly pool: WindowPool,
  ) {}

  /** One write of a view of the buffer is done. */
  readonly done = (): void => {
    if (--this.writes === 0 && this.retired) this.pool.back(this);
  };
}

/** Pooled buffers by their memory (a view's `buffer` finds its loan). */
const loans = new WeakMap<ArrayBufferLike, Loan>();
/** Views lent (lend) and not written yet: a write is matched by the very view lent, never by a copy. */
const lentViews = new WeakMap<Uint8Array, Loan>();

export class WindowPool {
  private readonly free: Loan[] = [];

  constructor(
    /** Bytes of each buffer. */
    readonly size: number,
    /** Free buffers kept at most (past it, a returned one is left to the collector); read at each return. */
    private readonly spare: number | (() => number),
  ) {}

  /** A buffer of `size` bytes, contents arbitrary: a free one, or a fresh one. */
  take(): Uint8Array {
    for (let l = this.free.pop(); l; l = this.free.pop()) {
      l.free = false;
      if (l.writes > 0) continue; // lent again after it came back (never expected): it returns once written
      l.retired = false;
      return l.buf;
    }
    const buf = new Uint8Array(Buffer.allocUnsafeSlow(this.size).buffer, 0, this.size);
    loans.set(buf.buffer, new Loan(buf, this));
    return buf;
  }

  /** `buf` (from take, or a view of it) is out of use here: back to the pool once no write holds it. */
  retire(buf: Uint8Array): void {
    const l = loans.get(buf.buffer);
    if (!l || l.retired) return;
    l.retired = true;
    if (l.writes === 0) this.back(l);
  }

  /** @internal (Loan) */
  back(l: Loan): void {
    if (l.free || this.free.length >= (typeof this.spare === 'number' ? this.spare : this.spare())) return;
    l.free = true;
    this.free.push(l);
  }
}

/** A view of a pooled buffer is pushed to a socket (SafeWire.piece): it stays lent until `written`'s callback. */
export function lend(view: Uint8Array): void {
  const l = loans.get(view.buffer);
  if (!l || lentViews.has(view)) return;
  l.writes++;
  lentViews.set(view, l);
}

/** The callback for the socket write of `d`, when `d` is a view lent and not written yet (else undefined). */
export function written(d: Uint8Array): (() => void) | undefined {
  const l = lentViews.get(d);
  if (l) lentViews.delete(d);
  return l?.done;
}
