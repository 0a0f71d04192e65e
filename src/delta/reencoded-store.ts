/**
 * The bytes of re-encoded EROFS clusters (delta/reencoded-clusters.ts), kept
 * as a local source of their own: plan segments point into it like into a
 * source image, and piece hashes decide whether they were right.
 * Each cluster is stored once per key (its place in the target image), so a
 * replan that rebuilds it again adds nothing.
 *
 * They are not held in memory for the whole sync (4 KiB each, thousands on a
 * live image: 12.5 MiB on the bench pair, kept until the last piece is
 * assembled): puts are gathered in a buffer of SPILL_BYTES, written to a
 * temporary file when it fills, and read back from there. The file is
 * unlinked as soon as it is opened (nothing is left on disk whatever
 * happens) and closed by `close()`, or when the store is collected. Where no
 * temporary file can be made, the clusters stay in memory.
 */
import { closeSync, mkdtempSync, openSync, read as readFd, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsosyncError } from '../errors.js';
import type { ByteSource } from '../store/byte-source.js';

/** Bytes gathered before they are written out. */
const SPILL_BYTES = 256 * 1024;

/** Closes a store's file when the store is collected without close(). */
const closer = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
});

export class ReencodedStore implements ByteSource {
  private readonly byKey = new Map<number, number>();
  private total = 0;
  /** Bytes [0, written) are in the file; [written, total) in `pending` (or, without a file, in `kept`). */
  private written = 0;
  private pending = new Uint8Array(0);
  private fd: number | undefined;
  /** Without a file: every chunk, with its offset. */
  private readonly kept: { at: number; bytes: Uint8Array }[] = [];
  private noFile = false;
  private closed = false;

  constructor(private readonly spillBytes = SPILL_BYTES) {}

  get size(): number {
    return this.total;
  }

  /** Keeps a copy of `bytes` under `key` (once: a second put with the same key returns the first offset) and gives their offset. */
  put(key: number, bytes: Uint8Array): number {
    const had = this.byKey.get(key);
    if (had !== undefined) return had;
    const at = this.total;
    this.byKey.set(key, at);
    this.total += bytes.length;
    if (this.noFile) {
      this.kept.push({ at, bytes: bytes.slice() });
      this.written = this.total;
      return at;
    }
    const used = at - this.written;
    if (used + bytes.length > this.pending.length) {
      const grown = new Uint8Array(Math.max(this.spillBytes, used + bytes.length));
      grown.set(this.pending.subarray(0, used));
      this.pending = grown;
    }
    this.pending.set(bytes, used);
    if (this.total - this.written >= this.spillBytes) this.spill();
    return at;
  }

  /** Writes the gathered bytes to the file (made on first use), or keeps them in memory when there is none. */
  private spill(): void {
    const n = this.total - this.written;
    if (n === 0) return;
    const fd = this.file();
    if (fd === undefined) {
      this.kept.push({ at: this.written, bytes: this.pending.slice(0, n) });
    } else {
      for (let done = 0; done < n; ) done += writeSync(fd, this.pending, done, n - done, this.written + done);
    }
    this.written = this.total;
  }

  private file(): number | undefined {
    if (this.fd !== undefined || this.noFile) return this.fd;
    try {
      const dir = mkdtempSync(join(tmpdir(), 'isosync-reencoded-'));
      try {
        const path = join(dir, 'clusters');
        this.fd = openSync(path, 'w+', 0o600);
        unlinkSync(path);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      closer.register(this, this.fd, this);
    } catch {
      this.noFile = true;
    }
    return this.fd;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.total) {
      throw new IsosyncError('INTERNAL', `Cannot read re-encoded clusters: range ${offset}+${length} is outside their ${this.total} bytes`, { offset, length });
    }
    const out = new Uint8Array(length);
    // The gathered tail, from memory.
    const tail = Math.max(offset, this.written);
    if (tail < offset + length) out.set(this.pending.subarray(tail - this.written, offset + length - this.written), tail - offset);
    const head = Math.min(offset + length, this.written) - offset;
    if (head <= 0) return out;
    if (this.fd !== undefined) await this.readFile(out, head, offset);
    else if (this.closed) throw new IsosyncError('INTERNAL', `Cannot read re-encoded clusters: range ${offset}+${length} was read after the store was closed`, { offset, length });
    else this.readKept(out, head, offset);
    return out;
  }

  private async readFile(out: Uint8Array, length: number, offset: number): Promise<void> {
    const fd = this.fd!;
    for (let done = 0; done < length; ) {
      const n = await new Promise<number>((resolve, reject) => readFd(fd, out, done, length - done, offset + done, (e, got) => (e ? reject(e) : resolve(got))));
      if (n === 0) throw new IsosyncError('IO', `Cannot read re-encoded clusters: their file ends at byte ${offset + done}`, { offset: offset + done });
      done += n;
    }
  }

  private readKept(out: Uint8Array, length: number, offset: number): void {
    // The chunk holding `offset`: the last one starting at or before it.
    let lo = 0;
    let hi = this.kept.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.kept[mid]!.at <= offset) lo = mid;
      else hi = mid - 1;
    }
    let at = 0;
    for (let i = lo; at < length && i < this.kept.length; i++) {
      const c = this.kept[i]!;
      const from = offset + at - c.at;
      const n = Math.min(c.bytes.length - from, length - at);
      out.set(c.bytes.subarray(from, from + n), at);
      at += n;
    }
  }

  /** Closes the file (later reads of spilled bytes fail); a store that is collected closes it too. */
  close(): void {
    if (this.fd === undefined) return;
    closer.unregister(this);
    closeSync(this.fd);
    this.fd = undefined;
    this.noFile = true;
    this.closed = true;
  }
}
