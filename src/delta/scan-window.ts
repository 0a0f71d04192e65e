/**
 * The matcher's read window over the target (matcher.ts), and the runs a
 * scan already knows to be equal (a gap scan's turned-around runs,
 * two-way.ts), through which it follows a run without reading or comparing.
 */
import type { ByteSource } from '../store/byte-source.js';
import { readInto } from '../store/byte-source.js';
import { BLOCK } from './rolling-hash.js';
import { giveBack } from '../core/give-back.js';
import type { CopyRun } from './runs.js';

/** Bytes compared at once while following a run: one memcmp for most moved files. */
export const STRIDE_BYTES = 64 * 1024;
/** What a window's memory holds beyond its reads: the longest tail kept, and BLOCK bytes before it. */
export const WINDOW_EXTRA_BYTES = STRIDE_BYTES + BLOCK;

/**
 * Reads the target sequentially in chunks, keeping a tail so a window never
 * splits. One buffer serves every chunk (the tail moves to its front), so
 * `buf` is valid only until the next `ensure`.
 *
 * `pass` moves the window as `ensure` would, without reading: where a scan
 * follows a run through bytes known to be equal. The bytes are read at the
 * next `ensure`, so what is buffered (and where a run's start may be refined
 * back to) is the same as if every byte had been read.
 */
export class Window {
  /** Room for a read behind the longest tail kept (`need` is at most STRIDE_BYTES) and BLOCK bytes before it (a run's start is refined backwards): sized from the read, so a gap scan's 256 KiB reads take no 8 MiB window. */
  private readonly store: Buffer;
  /** Whether `store` is memory lent by the caller (not given back at release). */
  private readonly lent: boolean;
  buf: Buffer;
  base = 0; // target offset of buf[0]
  /** Bytes buffered from `base` (buf's length, unless `pass` moved the window since the last read). */
  private len = 0;
  /** Whether `buf` lags behind [base, base + len) (moved by `pass`, not read yet). */
  private unread = false;

  /** `memory`: room lent for the window when it has readBytes + WINDOW_EXTRA_BYTES (two-way.ts: the block hasher's, idle meanwhile). */
  constructor(
    private readonly src: ByteSource,
    private readonly readBytes = 1024 * 1024,
    private readonly onRead?: (bytes: Uint8Array, offset: number) => void,
    memory?: Buffer,
  ) {
    const bytes = readBytes + WINDOW_EXTRA_BYTES;
    this.lent = memory !== undefined && memory.length >= bytes;
    this.store = this.lent ? memory!.subarray(0, bytes) : Buffer.allocUnsafe(bytes);
    this.buf = this.store.subarray(0, 0);
  }

  /** Gives the window's memory back now (core/give-back.ts), unless it was lent: nothing reads it afterwards. */
  release(): void {
    this.buf = this.store.subarray(0, 0);
    this.len = 0;
    if (!this.lent) giveBack(this.store);
  }

  /** Starts buffering at `pos` unless it is buffered already or follows the buffered bytes. */
  seek(pos: number): void {
    if (pos >= this.base && pos <= this.base + this.len) return;
    this.buf = this.store.subarray(0, 0);
    this.base = pos;
    this.len = 0;
    this.unread = false;
  }

  /** Makes sure [pos, pos+need) is buffered when it exists; returns the buffered end. */
  async ensure(pos: number, need: number): Promise<number> {
    const end = this.base + this.len;
    if (pos + need <= end || end >= this.src.size) {
      if (this.unread) await this.load(this.base, this.len);
      return end;
    }
    const keepFrom = Math.max(this.base, Math.min(pos, end) - BLOCK);
    const kept = end - keepFrom;
    const readLen = Math.min(this.readBytes, this.src.size - end);
    if (this.unread) {
      await this.load(keepFrom, kept + readLen);
    } else {
      this.store.copyWithin(0, keepFrom - this.base, end - this.base);
      await readInto(this.src, this.store, kept, end, readLen);
      this.onRead?.(this.store.subarray(kept, kept + readLen), end);
      this.buf = this.store.subarray(0, kept + readLen);
    }
    this.base = keepFrom;
    this.len = kept + readLen;
    return end + readLen;
  }

  /** Moves the window as `ensure(pos, need)` would, without reading (only where no `onRead` wants the bytes); returns the buffered end. */
  pass(pos: number, need: number): number {
    const end = this.base + this.len;
    if (pos + need <= end || end >= this.src.size) return end;
    const keepFrom = Math.max(this.base, Math.min(pos, end) - BLOCK);
    const readLen = Math.min(this.readBytes, this.src.size - end);
    this.len = end + readLen - keepFrom;
    this.base = keepFrom;
    this.unread = true;
    return end + readLen;
  }

  /** Reads what `pass` moved the window over, without moving it. */
  async catchUp(): Promise<void> {
    if (this.unread) await this.load(this.base, this.len);
  }

  private async load(from: number, length: number): Promise<void> {
    await readInto(this.src, this.store, 0, from, length);
    this.buf = this.store.subarray(0, length);
    this.unread = false;
  }
}

/**
 * Runs known to be equal ("target [t, t+n) = source [s, s+n)"), looked up by
 * a position in the target and the source position it is compared with.
 * Kept as columns sorted by offset (source - target), then target, the runs
 * of one offset merged where they touch: a Map of two arrays per offset held
 * ~230 bytes per run (DVD pair: ~6,000 offsets, ~1.4 MB of a gap scan's heap).
 */
export class KnownRuns {
  private readonly offsets: Float64Array;
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;

  constructor(runs: readonly CopyRun[]) {
    const order = runs.map((_, i) => i);
    const off = (i: number) => runs[i]!.source - runs[i]!.target;
    order.sort((a, b) => off(a) - off(b) || runs[a]!.target - runs[b]!.target);
    const offsets = new Float64Array(runs.length);
    const starts = new Float64Array(runs.length);
    const ends = new Float64Array(runs.length);
    let n = 0;
    for (const i of order) {
      const r = runs[i]!;
      const d = r.source - r.target;
      if (n > 0 && offsets[n - 1] === d && ends[n - 1]! >= r.target) ends[n - 1] = Math.max(ends[n - 1]!, r.target + r.length);
      else {
        offsets[n] = d;
        starts[n] = r.target;
        ends[n] = r.target + r.length;
        n++;
      }
    }
    this.offsets = offsets.subarray(0, n);
    this.starts = starts.subarray(0, n);
    this.ends = ends.subarray(0, n);
  }

  /** Where the known equality of target `t` and source `s` on ends (in the target); `t` when none is known. */
  endAt(t: number, s: number): number {
    const d = s - t;
    const { offsets, starts, ends } = this;
    // The last run at or before (d, t) in (offset, start) order.
    let lo = 0;
    let hi = offsets.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (offsets[mid]! < d || (offsets[mid] === d && starts[mid]! <= t)) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && offsets[hi] === d && ends[hi]! > t ? ends[hi]! : t;
  }
}
