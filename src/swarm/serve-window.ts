/**
 * The serve read-window: bytes served to peers are read from the store in
 * aligned windows of SERVE_WINDOW_BYTES and kept for the next requests (a
 * peer asks a piece's 16 KiB blocks one after another): one read instead of
 * 16 (each read was a thread-pool round trip, the largest CPU cost of a
 * loopback seed after socket writes). The most recent SERVE_WINDOWS windows
 * are kept (LRU); a request that crosses a window is read alone.
 *
 * A store that can read at once (`readNow`: a seed's image, most often in
 * the page cache) is read so: a request is then answered in the turn it
 * came, and so are the window's next ones (`peek`). Through the thread pool,
 * a loopback seed on a loaded machine held 4 MiB of replies waiting on reads
 * with an empty socket most of the time (each read waits for a pool thread
 * to get a CPU, then for the main thread to hear of it).
 *
 * Windows are read into reused buffers (window-pool.ts), when the store
 * reads into a buffer it is given (`into`; one that returns its own bytes
 * instead leaves the pooled buffer unused).
 */
import { WindowPool } from './window-pool.js';

export const SERVE_WINDOW_BYTES = 256 * 1024;
/** Windows kept at most (8 MiB): the pieces a handful of peers are fetching at once. */
export const SERVE_WINDOWS = 32;
/**
 * Windows kept per peer being served (1 MiB): a peer's replies in this process are
 * at most SEND_AHEAD_BYTES (512 KiB, uploads.ts), two windows, and it asks a piece's
 * blocks in order. 32 windows whatever the peer count held 8 MiB for one leecher.
 */
export const WINDOWS_PER_PEER = 4;

/**
 * Free buffers the pool keeps beyond the windows cached (`limit`): a peer's
 * replies may have READ_AHEAD_BYTES (16 windows) being read and sent past
 * the cache (uploads.ts), and those buffers come back in bursts. Kept to the
 * limit alone, a leecher serving three others took 15-26 % of its windows
 * fresh and dropped as many to the collector (one seed to four leechers,
 * 300 MiB); 32 more took 5-6 % fresh, peak RSS unchanged (90-92 MiB).
 */
export const SPARE_WINDOWS = 32;

/** Reads bytes [offset, offset+length) of the store, into `into` (length bytes) when the store can. */
export type WindowRead<R> = (offset: number, length: number, into?: Uint8Array) => R;

export class ServeWindows {
  /** Windows by absolute offset, oldest first. */
  private readonly windows = new Map<number, Promise<Uint8Array>>();
  /** The windows of `windows` whose read has finished, by absolute offset. */
  private readonly loaded = new Map<number, Uint8Array>();
  private readonly pool: WindowPool;

  constructor(
    private readonly read: WindowRead<Promise<Uint8Array>>,
    private readonly pieceLength: number,
    private readonly readNow?: WindowRead<Uint8Array>,
    /** Peers being served now: the cache keeps WINDOWS_PER_PEER windows each (SERVE_WINDOWS at most). */
    private readonly peers: () => number = () => SERVE_WINDOWS / WINDOWS_PER_PEER,
  ) {
    // As many free buffers as windows kept, and SPARE_WINDOWS more: a window evicted frees its buffer only once its
    // blocks are sent, after the next window took one, so fewer spares left a fresh buffer for the collector every ~5 windows.
    this.pool = new WindowPool(Math.min(SERVE_WINDOW_BYTES, pieceLength), () => this.limit + SPARE_WINDOWS);
  }

  /**
   * Bytes [offset, offset+length) of piece `piece` (of `pieceSize` bytes)
   * when a window already read holds them, or when the store reads at once
   * (no promise, no turn), else undefined. A failed read is undefined too:
   * `bytes` reads again and reports it.
   */
  peek(piece: number, pieceSize: number, offset: number, length: number): Uint8Array | undefined {
    const wStart = Math.floor(offset / SERVE_WINDOW_BYTES) * SERVE_WINDOW_BYTES;
    const wEnd = Math.min(pieceSize, wStart + SERVE_WINDOW_BYTES);
    if (offset + length > wEnd) return undefined;
    const at = piece * this.pieceLength + wStart;
    let bytes = this.loaded.get(at);
    if (bytes) {
      const w = this.windows.get(at)!;
      this.windows.delete(at);
      this.windows.set(at, w);
    } else if (this.readNow && !this.windows.has(at)) {
      const into = this.pool.take().subarray(0, wEnd - wStart);
      try {
        bytes = this.readNow(at, wEnd - wStart, into);
      } catch {
        this.pool.retire(into);
        return undefined;
      }
      if (bytes.buffer !== into.buffer) this.pool.retire(into);
      this.keep(at, Promise.resolve(bytes));
      this.loaded.set(at, bytes);
    } else return undefined;
    return bytes.subarray(offset - wStart, offset - wStart + length);
  }

  /**
   * Bytes [offset, offset+length) of piece `piece` (of `pieceSize` bytes). A store that reads at once is read so
   * (peek), into a pooled window: through `read` (share-first serves by this path), a seed's image was read into a
   * fresh 256 KiB buffer per window, mapped, faulted in and unmapped by malloc and collected by V8: `isosync serve`
   * took 1.7-1.8 s of CPU instead of 3.1-3.3 s while eight clients updated (DVD pair, same runs).
   */
  async bytes(piece: number, pieceSize: number, offset: number, length: number): Promise<Uint8Array> {
    const now = this.readNow && this.peek(piece, pieceSize, offset, length);
    if (now) return now;
    const pieceStart = piece * this.pieceLength;
    const wStart = Math.floor(offset / SERVE_WINDOW_BYTES) * SERVE_WINDOW_BYTES;
    const wEnd = Math.min(pieceSize, wStart + SERVE_WINDOW_BYTES);
    if (offset + length > wEnd) return this.read(pieceStart + offset, length);
    const at = pieceStart + wStart;
    let w = this.windows.get(at);
    if (w) this.windows.delete(at);
    else {
      const into = this.pool.take().subarray(0, wEnd - wStart);
      w = this.read(at, wEnd - wStart, into);
      const mine = w;
      // Unused (the store returned bytes of its own) or failed: the pooled buffer is free again once the read is over.
      w.then(
        (bytes) => bytes.buffer !== into.buffer && this.pool.retire(into),
        () => this.pool.retire(into),
      );
      w.then(
        (bytes) => this.windows.get(at) === mine && this.loaded.set(at, bytes),
        () => this.windows.get(at) === mine && this.windows.delete(at),
      );
    }
    this.keep(at, w);
    const bytes = await w;
    return bytes.subarray(offset - wStart, offset - wStart + length);
  }

  /** Windows the cache may keep now. */
  get limit(): number {
    return Math.min(SERVE_WINDOWS, WINDOWS_PER_PEER * Math.max(1, this.peers()));
  }

  /** Windows kept now (read or being read). */
  get size(): number {
    return this.windows.size;
  }

  /** Keeps window `at` as the most recent, dropping the oldest past `limit`. */
  private keep(at: number, w: Promise<Uint8Array>): void {
    this.windows.set(at, w);
    this.trim();
  }

  /** Drops the oldest windows past `limit` (a peer left: its windows go too). */
  trim(): void {
    for (const limit = this.limit; this.windows.size > limit; ) {
      const oldest = this.windows.keys().next().value!;
      // Its buffer goes back to the pool once its read is over and its blocks are sent (window-pool.ts); not before
      // the next turn: a reply that got a view of it (bytes) is lent in a microtask still to run.
      this.windows.get(oldest)!.then(
        (bytes) => setImmediate(() => this.pool.retire(bytes)),
        () => undefined,
      );
      this.windows.delete(oldest);
      this.loaded.delete(oldest);
    }
  }
}
