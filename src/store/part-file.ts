/**
 * The target being built: `NAME.part` beside the final path.
 *
 * - Created at full length (sparse); pieces are written whole, only after
 *   their hash verified, so every verified piece on disk is complete.
 * - On open, an existing .part of the right size is re-hashed (all cores) and
 *   its verified pieces are kept. A kill -9 in the middle of a write leaves
 *   at most that piece invalid, and it is redone.
 * - Blocks received for pieces not verified yet are kept too (`writeBlock`,
 *   once they waited DEFER_MS / 2 to DEFER_MS): appended with their bytes to a
 *   journal beside the .part (block-journal.ts), all blocks of one flush in
 *   one sequential write, and written into the .part only with their piece
 *   once it verifies (not twice, at their place and again whole). Up to
 *   JOURNAL_DATA_BYTES; past that, a block is written at its place in the
 *   .part and journaled by an in-place record. A resumed run copies the
 *   journaled blocks to their place (journal-file.ts), gets them as
 *   `received` ranges and fetches only the rest of their pieces. A piece
 *   whose received bytes fail its hash is fetched again (assembly never
 *   trusts them). Once writePiece seals a piece, no block write touches it.
 * - `finish` fsyncs and renames to the final name; before that, the final
 *   path is never touched. A source image is never opened for writing here.
 * - Written data is flushed in the background every FLUSH_BYTES, so the
 *   fsync of `finish` has little left to wait for.
 */
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { DirectWrites } from './direct-writes.js';
import { VerifiedWrites, WorkerGone, WRITE_BATCH_BYTES } from './verified-writes.js';
import { DeferredBlocks } from './deferred-blocks.js';

export { DEFER_BYTES, DEFER_MS } from './deferred-blocks.js';
import { IsosyncError } from '../errors.js';
import { verifyPieces } from '../torrent/hash-pieces.js';
import { pieceCheckOf, type CheckSource } from '../torrent/piece-check.js';
import type { ByteSource } from './byte-source.js';
import { checkRange } from './byte-source.js';
import { readFully, readFullyInto } from './file-source.js';
import { pieceIndex, type PieceIndex } from '../core/ids.js';
import type { PieceStore } from '../core/ports.js';
import type { Span } from '../core/span.js';
import { encodeBlocks, encodeRecords, MAX_DATA_BYTES, type DeferredBlock, type JournalBlock } from './block-journal.js';
import { ioError, JournalAppender, resumeJournal, writeAll } from './journal-file.js';

/**
 * Written bytes after which a background fdatasync starts. Without it the
 * kernel keeps a whole image dirty (the background writeback threshold is 10%
 * of RAM) and finish's fsync wrote it all at once: ~0.15-0.2 s at the end of
 * a 348 MiB sync, with nothing else to do meanwhile.
 */
export const FLUSH_BYTES = 32 * 1024 * 1024;

/**
 * Block bytes the journal takes per run (64 MiB of disk beside the .part): a
 * delta sync of a 348 MiB image journals ~15 MiB. Past it, blocks are written
 * at their place in the .part, one write each (a slow full download).
 */
export const JOURNAL_DATA_BYTES = 64 * 1024 * 1024;

/** The target: its metainfo, or the v1 fields alone (pieces are checked by torrent/piece-check.ts). */
export type PartTarget = CheckSource;

export class PartFile implements ByteSource, PieceStore {
  /** The journal of received blocks: `NAME.part.blocks`. */
  readonly journalPath: string;
  /** Bytes of received blocks on disk (journaled) per piece not verified yet. */
  private readonly receivedIn = new Map<number, number>();
  private readonly journal: JournalAppender;
  /** Block bytes journaled in data records by this run (JOURNAL_DATA_BYTES). */
  private journaled = 0;
  /** Blocks kept by writeBlock until they are journaled (deferred-blocks.ts). */
  private readonly deferred = new DeferredBlocks((waiting) => this.journalBlocks(waiting));
  /** Block writes under way, chained per piece. */
  private readonly blockWrites = new Map<number, Promise<void>>();
  /** Pieces writePiece is writing: no block write may touch them any more. */
  private readonly sealed = new Set<number>();
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly finalPath: string,
    readonly size: number,
    /** have[i]: piece i is on disk and verified. */
    readonly have: boolean[],
    private readonly target: PartTarget,
    /** Ranges an earlier run received and journaled, in pieces not verified: sorted, disjoint. */
    readonly received: readonly Span[],
  ) {
    this.journalPath = `${path}.blocks`;
    this.journal = new JournalAppender(this.journalPath, received.length > 0, () => pieceCheckOf(target).fingerprint, (r) => this.countReceived(r));
    for (const r of received) this.countReceived(r);
  }

  /** Bytes of received blocks on disk (journaled) in pieces not verified: what a resume gets besides verified pieces. */
  get receivedBytes(): number {
    let n = 0;
    for (const b of this.receivedIn.values()) n += b;
    return n;
  }

  private countReceived(s: Span): void {
    const pl = this.target.pieceLength;
    for (let p = Math.floor(s.start / pl); p * pl < s.end; p++) {
      if (this.have[p]) continue;
      const bytes = Math.min(s.end, (p + 1) * pl) - Math.max(s.start, p * pl);
      this.receivedIn.set(p, (this.receivedIn.get(p) ?? 0) + bytes);
    }
  }

  /**
   * Opens or creates `finalPath + ".part"`. When `resume` finds an existing
   * .part of the right length, its verified pieces are kept.
   */
  static async open(finalPath: string, target: PartTarget, opts: { onVerify?: (done: number, total: number) => void; verifyInWorker?: boolean | Promise<boolean> } = {}): Promise<PartFile> {
    const path = `${finalPath}.part`;
    const pieceCount = Math.ceil(target.length / target.pieceLength);
    let have: boolean[] = new Array<boolean>(pieceCount).fill(false);
    let existing = false;
    try {
      const st = await stat(path);
      existing = st.isFile() && st.size === target.length;
    } catch {
      existing = false;
    }
    if (existing && target.length > 0) {
      const v = await verifyPieces(path, target, { onProgress: opts.onVerify });
      have = [...v.valid];
    }
    let handle: FileHandle;
    try {
      handle = await open(path, existing ? 'r+' : 'w+');
      if (!existing) await handle.truncate(target.length);
    } catch (e) {
      throw ioError(`Cannot create ${JSON.stringify(path)}`, e, path);
    }
    const received = await resumeJournal(`${path}.blocks`, handle, target, have, existing);
    const part = new PartFile(handle, path, finalPath, target.length, have, target, received);
    part.direct = await DirectWrites.open(path);
    // writeIfMatches on a worker thread (SHA-1 torrents): started now, or once the caller's decision is in (a free
    // core seen while it plans: store/verified-writes.ts verifyWorkerDecision), it starts up while the caller plans.
    const start = (yes: boolean) => {
      if (yes && !part.closed && !part.verifier && pieceCheckOf(target).kind === 'sha1') part.verifier = VerifiedWrites.start(target.pieces, part.direct?.fd ?? -1, handle.fd);
    };
    part.verifierDecided = Promise.resolve(opts.verifyInWorker ?? false).then(start, () => undefined);
    if (opts.verifyInWorker === true) start(true);
    return part;
  }

  get verifiedCount(): number {
    return this.have.filter(Boolean).length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, JSON.stringify(this.path));
    return readFully(this.handle, this.path, offset, length, true);
  }
  async readInto(dest: Uint8Array, at: number, offset: number, length: number): Promise<void> {
    checkRange(this.size, offset, length, JSON.stringify(this.path));
    await readFullyInto(this.handle, this.path, dest, at, offset, length, true);
  }

  /** writePiece has written every byte when it resolves: the caller may reuse the buffer (PieceStore). */
  readonly releasesBytes = true;

  /** The .part opened with O_DIRECT (store/direct-writes.ts): pieces in aligned buffers skip the page cache. */
  private direct: DirectWrites | undefined;

  /** While true, verified pieces go through the page cache (cacheWritesWhile). */
  private cached: () => boolean = () => false;

  /**
   * Writes verified pieces through the page cache, not past it, while `when()` is true (asked at each piece): while
   * peers that lack pieces are connected, they ask for the ones we verify, and a piece written past the cache was
   * read back from the disk for each of them (a synchronous read: 20-26 % of each leecher's main thread, one seed to
   * four leechers, 300 MiB, load 5-11). Alone with seeds, pieces still skip the cache.
   */
  cacheWritesWhile(when: () => boolean): void {
    this.cached = when;
  }

  /** Whether pieces in page-aligned buffers (store/aligned.ts) are written past the page cache (PieceStore). */
  get alignedWrites(): boolean {
    return this.direct?.usable === true;
  }

  /**
   * Keeps a block received for a piece not verified yet (`offset` is
   * absolute): journaled after DEFER_MS / 2 to DEFER_MS unless its piece is
   * written verified first (its bytes are then written once). `bytes` must
   * not change afterwards (it is kept, not copied). A block of a verified or
   * sealed piece is ignored.
   */
  writeBlock(piece: PieceIndex, offset: number, bytes: Uint8Array): void {
    if (this.closed || this.have[piece] || this.sealed.has(piece)) return;
    this.deferred.add(piece, offset, bytes);
  }

  /** Journals `waiting`'s blocks in one append (past JOURNAL_DATA_BYTES: written at their place). */
  private journalBlocks(waiting: ReadonlyMap<number, readonly DeferredBlock[]>): void {
    const blocks: JournalBlock[] = [];
    const spans: Span[] = [];
    for (const [piece, list] of waiting) {
      if (this.have[piece] || this.sealed.has(piece)) continue;
      for (const b of list) {
        if (this.journaled + b.bytes.length > JOURNAL_DATA_BYTES || b.bytes.length > MAX_DATA_BYTES) {
          void this.writeNow(pieceIndex(piece), b.offset, b.bytes);
          continue;
        }
        this.journaled += b.bytes.length;
        blocks.push(b);
        spans.push({ start: b.offset, end: b.offset + b.bytes.length });
      }
    }
    if (blocks.length > 0) this.append(encodeBlocks(blocks), spans);
  }

  /**
   * Writes received bytes of a piece not verified yet, then journals them; in
   * the background, in order per piece. A failed write only loses them for a
   * resume (the piece's own write reports errors).
   */
  private writeNow(piece: PieceIndex, offset: number, bytes: Uint8Array): Promise<void> {
    if (this.closed || this.have[piece] || this.sealed.has(piece)) return Promise.resolve();
    const next = (this.blockWrites.get(piece) ?? Promise.resolve()).then(async () => {
      if (this.closed || this.have[piece] || this.sealed.has(piece)) return;
      await writeAll(this.handle, bytes, offset);
      const s = { start: offset, end: offset + bytes.length };
      this.append([encodeRecords([s])], [s]);
    }).catch(() => undefined);
    this.blockWrites.set(piece, next);
    void next.then(() => {
      if (this.blockWrites.get(piece) === next) this.blockWrites.delete(piece);
    });
    return next;
  }

  /** Received bytes at `offset` that may cross pieces (a whole-file stream): written and journaled like blocks; resolves when done. */
  async writeSpan(offset: number, bytes: Uint8Array): Promise<void> {
    const pl = this.target.pieceLength;
    const writes: Promise<void>[] = [];
    for (let at = offset; at < offset + bytes.length; ) {
      const p = Math.floor(at / pl);
      const end = Math.min(offset + bytes.length, (p + 1) * pl);
      writes.push(this.writeNow(pieceIndex(p), at, bytes.subarray(at - offset, end - offset)));
      at = end;
    }
    await Promise.all(writes);
  }

  private append(parts: Uint8Array[], spans: Span[]): void {
    this.journal.append(parts, spans);
  }

  /** Block writes and journal appends under way, done. */
  private async settle(): Promise<void> {
    await this.verifier?.idle();
    this.deferred.flush();
    while (this.blockWrites.size > 0 || this.journal.busy) {
      await Promise.all([...this.blockWrites.values()]);
      await this.journal.busy;
    }
  }

  /** Checks and writes pieces off the main thread (verified-writes.ts), when opened with verifyInWorker. */
  private verifier: VerifiedWrites | undefined;
  /** Resolves once it is decided whether pieces are checked and written on a worker (and it is started if so). */
  verifierDecided: Promise<void> = Promise.resolve();

  /** The verifying worker writes adjacent pieces together, up to this many bytes in one write (PieceStore). */
  get writeBatchBytes(): number | undefined {
    return this.verifier?.alive ? WRITE_BATCH_BYTES : undefined;
  }

  /**
   * Writes `bytes` as piece `piece` if they are that piece (its hash matches): true once written, false (nothing
   * written) otherwise. On the verifying thread when there is one and the bytes are in aligned memory (PieceStore).
   */
  async writeIfMatches(piece: PieceIndex, offset: number, bytes: Uint8Array): Promise<boolean> {
    const v = this.verifier;
    const done = v?.takes(bytes) ? await this.viaWorker(v, piece, offset, bytes) : undefined;
    if (done !== undefined) return done;
    if (!pieceCheckOf(this.target).matches(piece, bytes)) return false;
    await this.writePiece(piece, offset, bytes);
    return true;
  }

  /** writeIfMatches of bytes the verifying thread reads itself (PieceStore): false without it, or when a read or the hash fails. */
  readonly fillAndWriteIfMatches = async (piece: PieceIndex, offset: number, bytes: Uint8Array, reads: readonly number[]): Promise<boolean> => (this.verifier?.takes(bytes) ? ((await this.viaWorker(this.verifier, piece, offset, bytes, reads)) ?? false) : false);

  /** writeIfMatches on the verifying thread; undefined when that thread is gone (the caller checks here then). */
  private async viaWorker(v: VerifiedWrites, piece: PieceIndex, offset: number, bytes: Uint8Array, reads?: readonly number[]): Promise<boolean | undefined> {
    // Sealed while checked and written (no block write may touch it), its waiting blocks dropped only once written.
    this.sealed.add(piece);
    let written: boolean;
    try {
      await this.blockWrites.get(piece);
      written = await v.verifyAndWrite(piece, bytes, offset, this.cached(), reads);
    } catch (e) {
      if (e instanceof WorkerGone) return undefined;
      throw ioError(`Cannot write ${JSON.stringify(this.path)}`, e, this.path);
    } finally {
      this.sealed.delete(piece);
    }
    if (written) {
      this.dropWaiting(piece);
      this.written(piece, bytes.length);
    }
    return written;
  }

  /** Writes a verified piece. */
  async writePiece(piece: PieceIndex, offset: number, bytes: Uint8Array): Promise<void> {
    this.sealed.add(piece);
    this.dropWaiting(piece);
    try {
      await this.blockWrites.get(piece);
      // On the thread pool, unlike reads (exact-io.ts): the copy into the page cache, most of a buffered write's
      // cost, ran there beside the main thread (written synchronously, the stock-torrent bench's main thread did
      // ~0.9-1.2 s more); an aligned piece skips that copy (direct-writes.ts).
      if (this.cached() || !(await this.direct?.write(bytes, offset))) await writeAll(this.handle, bytes, offset);
    } catch (e) {
      throw ioError(`Cannot write ${JSON.stringify(this.path)}`, e, this.path);
    } finally {
      this.sealed.delete(piece);
    }
    this.written(piece, bytes.length);
  }

  /** Piece `piece` (`n` bytes) is on disk, verified. */
  private written(piece: number, n: number): void {
    this.have[piece] = true;
    this.receivedIn.delete(piece);
    this.unflushed += n;
    if (this.unflushed >= FLUSH_BYTES && !this.flushing) {
      this.unflushed = 0;
      // An error here shows again in finish's fsync, which is awaited.
      this.flushing = this.handle
        .datasync()
        .catch(() => undefined)
        .finally(() => (this.flushing = undefined));
    }
  }

  /** Forgets the blocks of `piece` still waiting (it is being written whole). */
  private dropWaiting(piece: number): void {
    this.deferred.drop(piece);
  }

  private unflushed = 0;
  private flushing: Promise<void> | undefined;

  /** Flushes and renames to the final name. Call only when every piece is verified. */
  async finish(): Promise<void> {
    const missing = this.have.indexOf(false);
    if (missing >= 0) throw new IsosyncError('VERIFY_FAILED', `Cannot finish ${JSON.stringify(this.finalPath)}: piece ${missing} is not verified`);
    try {
      await this.settle();
      this.closed = true;
      await this.journal.close(true);
      await unlink(this.journalPath).catch(() => undefined);
      await this.flushing;
      // The verifying worker is idle (settle): it ends while the .part is synced, closed and renamed, not before them.
      // Its end (a Node isolate torn down) took 14-54 ms of a loaded machine's wall time that the main thread waited for.
      const ended = this.verifier?.close().then(
        () => undefined,
        (e: unknown) => e,
      );
      await this.handle.sync();
      await this.direct?.close();
      await this.handle.close();
      await rename(this.path, this.finalPath);
      const failed = await ended;
      if (failed !== undefined) throw failed;
    } catch (e) {
      throw ioError(`Cannot finish ${JSON.stringify(this.finalPath)}`, e, this.finalPath);
    }
  }

  /** Closes and removes the .part and its journal (a run that kept nothing). Returns whether the .part was there. */
  async discard(): Promise<boolean> {
    await this.close();
    await unlink(this.journalPath).catch(() => undefined);
    return unlink(this.path).then(() => true, () => false);
  }

  async close(): Promise<void> {
    await this.settle();
    this.closed = true;
    await this.journal.close(false);
    await this.flushing;
    try {
      await this.handle.sync();
    } catch {
      // closing after a failure: the data already written stays for a resume
    }
    await this.verifier?.close().catch(() => undefined);
    await this.direct?.close().catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }
}
