/**
 * Worker thread for hash-pieces.ts: hashes whole pieces of a byte range of
 * a file with OpenSSL's SHA-1 (node:crypto) and returns the 20-byte digests
 * in order; with `v2`, also each piece's BEP 52 piece-layer hash (the merkle
 * root of its 16 KiB SHA-256 leaves, merkle.ts), 32 bytes per piece, after
 * all the SHA-1 digests.
 *
 * Message in:  { id, path, start, end, pieceLength, v2? }  start is
 *              piece-aligned; end is piece-aligned or the content's end.
 * Message out: { id, digests: ArrayBuffer } or { id, error, code }.
 *
 * Reads go through one reusable buffer of at most READ_BYTES, so memory per
 * worker is bounded whatever the piece length. Reads are synchronous: this
 * thread has nothing else to do, and it keeps the libuv pool free.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { IsosyncError } from '../errors.js';
import { readExactSync } from '../store/exact-io.js';
import { MERKLE_BLOCK_BYTES, pieceNode, SHA256_BYTES } from './merkle.js';

/**
 * Bytes per read: 1 MiB amortises the syscall and stays in the CPU cache, so
 * SHA-1 reads what read() just wrote. Measured on 1 GiB beside mktorrent -t 2:
 * 8 MiB reads ran at 0.84x its speed, 1 MiB at 1.03x.
 */
export const READ_BYTES = 1024 * 1024;
const SHA1_BYTES = 20;
/** workerData that marks a thread started by hash-pieces.ts (so importing this module elsewhere does nothing). */
export const HASH_WORKER_MARK = 'isosync-hash-worker';

export interface HashJob {
  readonly id: number;
  readonly path: string;
  readonly start: number;
  readonly end: number;
  readonly pieceLength: number;
  /** Also the SHA-256 piece layer (pieceLength is then a multiple of 16 KiB). */
  readonly v2?: boolean;
}

export type HashReply =
  | { readonly id: number; readonly digests: ArrayBuffer }
  | { readonly id: number; readonly error: string; readonly code: string };

const fds = new Map<string, number>();
let buffer: Buffer | undefined;

function fdFor(path: string): number {
  let fd = fds.get(path);
  if (fd === undefined) {
    fd = openSync(path, 'r');
    fds.set(path, fd);
  }
  return fd;
}

/**
 * The pieces of [start, end) of a file from its bytes, fed in order in chunks
 * of any size: SHA-1 of each piece and, with `v2`, its piece-layer hash.
 */
export class RangeHasher {
  private readonly out: Uint8Array;
  private readonly layerAt: number;
  /** v2: the leaf hashes of the current piece (chunks are 16 KiB-aligned: they start at a piece border and READ_BYTES is a multiple of 16 KiB). */
  private readonly leaves: Uint8Array | undefined;
  private leafCount = 0;
  private pos: number;
  private piece = 0;
  private hash: Hash = createHash('sha1');
  private pieceEnd: number;

  constructor(private readonly job: Omit<HashJob, 'id' | 'path'>) {
    const { start, end, pieceLength } = job;
    const count = Math.ceil((end - start) / pieceLength);
    this.out = new Uint8Array(count * (job.v2 ? SHA1_BYTES + SHA256_BYTES : SHA1_BYTES));
    this.layerAt = count * SHA1_BYTES;
    this.leaves = job.v2 ? new Uint8Array((pieceLength / MERKLE_BLOCK_BYTES) * SHA256_BYTES) : undefined;
    this.pos = start;
    this.pieceEnd = Math.min(start + pieceLength, end);
  }

  /** The next bytes of the range (they start where the last chunk ended). */
  feed(chunk: Uint8Array): void {
    const { end, pieceLength } = this.job;
    const leaves = this.leaves;
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(chunk.length - off, this.pieceEnd - (this.pos + off));
      this.hash.update(chunk.subarray(off, off + take));
      if (leaves) {
        for (let b = off; b < off + take; b += MERKLE_BLOCK_BYTES) {
          const leaf = createHash('sha256').update(chunk.subarray(b, Math.min(b + MERKLE_BLOCK_BYTES, off + take))).digest();
          leaves.set(leaf, this.leafCount++ * SHA256_BYTES);
        }
      }
      off += take;
      if (this.pos + off === this.pieceEnd) {
        this.out.set(this.hash.digest(), this.piece * SHA1_BYTES);
        if (leaves) {
          this.out.set(pieceNode(leaves.subarray(0, this.leafCount * SHA256_BYTES), pieceLength), this.layerAt + this.piece * SHA256_BYTES);
          this.leafCount = 0;
        }
        this.piece++;
        this.hash = createHash('sha1');
        this.pieceEnd = Math.min(this.pieceEnd + pieceLength, end);
      }
    }
    this.pos += chunk.length;
  }

  /** The SHA-1 digests in piece order, then (v2) the piece-layer hashes. */
  digests(): Uint8Array {
    return this.out;
  }
}

/** The error of a file that ends before the range to hash does. */
export function shortRead(at: number, end: number): IsosyncError {
  return new IsosyncError('IO', `Cannot hash the file: it ended at byte ${at}, before ${end}`, { offset: at, errno: 'SHORT_READ' });
}

/** Hashes [start, end) of the file with synchronous reads into `buf`. Exported for the single-thread path. */
export function hashRange(fd: number, job: Omit<HashJob, 'id' | 'path'>, buf: Buffer): Uint8Array {
  const { start, end } = job;
  const hasher = new RangeHasher(job);
  for (let pos = start; pos < end; ) {
    const want = Math.min(buf.length, end - pos);
    readExactSync(fd, buf, 0, want, pos, (at) => shortRead(at, end));
    hasher.feed(buf.subarray(0, want));
    pos += want;
  }
  return hasher.digests();
}

/**
 * A pass shared between threads (piece-pool.ts): jobs of `jobPieces` whole
 * pieces each, claimed in turn by an atomic counter (control[CLAIMED]), each
 * thread writing its digests straight into the shared arrays and counting
 * the job done (control[DONE]). No message per job: a thread that the
 * scheduler leaves waiting costs the others nothing but the jobs it holds.
 */
export interface SharedPass {
  readonly path: string;
  /** Content bytes to hash (the file holds at least this many). */
  readonly length: number;
  readonly pieceLength: number;
  readonly jobPieces: number;
  readonly jobs: number;
  readonly v2: boolean;
  /** Int32Array: [CLAIMED, DONE]. */
  readonly control: SharedArrayBuffer;
  /** 20 bytes per piece. */
  readonly digests: SharedArrayBuffer;
  /** v2: 32 bytes per piece. */
  readonly layer?: SharedArrayBuffer;
}

/** control[CLAIMED]: the next job to take (at or past `jobs`: none left). */
export const CLAIMED = 0;
/** control[DONE]: jobs finished. */
export const DONE = 1;
/** workerData.mark of a thread that takes part in a shared pass. */
export const SHARED_WORKER_MARK = 'isosync-shared-hash-worker';

/**
 * Takes the next job of `pass` and hashes it with synchronous reads into
 * `buf`; false when no job was left.
 */
export function takeSharedJob(fd: number, pass: SharedPass, buf: Buffer): boolean {
  const control = new Int32Array(pass.control);
  const j = Atomics.add(control, CLAIMED, 1);
  if (j >= pass.jobs) return false;
  const start = j * pass.jobPieces * pass.pieceLength;
  const job = { start, end: Math.min(start + pass.jobPieces * pass.pieceLength, pass.length), pieceLength: pass.pieceLength, ...(pass.v2 ? { v2: true } : {}) };
  const out = hashRange(fd, job, buf);
  const n = Math.ceil((job.end - start) / pass.pieceLength);
  new Uint8Array(pass.digests).set(out.subarray(0, n * SHA1_BYTES), j * pass.jobPieces * SHA1_BYTES);
  if (pass.layer) new Uint8Array(pass.layer).set(out.subarray(n * SHA1_BYTES), j * pass.jobPieces * SHA256_BYTES);
  Atomics.add(control, DONE, 1);
  return true;
}

/** What a shared-pass worker says once: it ran out of jobs, or failed. */
export type SharedReply = { readonly done: true } | { readonly error: string; readonly code: string };

function errorReply(e: unknown): { error: string; code: string } {
  const err = e as NodeJS.ErrnoException;
  const code = e instanceof IsosyncError ? String(e.fields['errno']) : (err.code ?? 'EIO');
  return { error: err.message, code };
}

/**
 * A worker bin/isosync starts for `publish` before it loads the command
 * (workerData { mark: PARKED_WORKER_MARK }), left at PARKED_WORKER on
 * globalThis, unref'd: it boots while the command loads and waits for the
 * pass it is to join ({ pass }, piece-pool.ts adopts it); unused, it ends
 * with the process. bin/isosync spells both strings out.
 */
export const PARKED_WORKER_MARK = 'isosync-parked-hash-worker';
export const PARKED_WORKER = Symbol.for('isosync.parkedHashWorker');

/** A shared-pass worker's whole life: every job it can take, then one reply. */
function runSharedPass(port: NonNullable<typeof parentPort>, pass: SharedPass): void {
  let fd: number | undefined;
  try {
    fd = openSync(pass.path, 'r');
    const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(1, pass.jobPieces * pass.pieceLength)));
    while (takeSharedJob(fd, pass, buf)) {
      /* until no job is left */
    }
    port.postMessage({ done: true } satisfies SharedReply);
  } catch (e) {
    // The other threads stop taking jobs: the pass has failed.
    Atomics.store(new Int32Array(pass.control), CLAIMED, pass.jobs);
    port.postMessage(errorReply(e) satisfies SharedReply);
  } finally {
    if (fd !== undefined) closeSync(fd);
    port.close();
  }
}

const mark = (workerData as { mark?: string } | undefined)?.mark;
if (parentPort && mark === SHARED_WORKER_MARK) {
  runSharedPass(parentPort, (workerData as { pass: SharedPass }).pass);
} else if (parentPort && mark === PARKED_WORKER_MARK) {
  const port = parentPort;
  port.once('message', (msg: { pass: SharedPass }) => runSharedPass(port, msg.pass));
} else if (parentPort && workerData === HASH_WORKER_MARK) {
  const port = parentPort;
  port.on('message', (msg: HashJob | { close: true }) => {
    if ('close' in msg) {
      for (const fd of fds.values()) closeSync(fd);
      fds.clear();
      port.close();
      return;
    }
    try {
      const size = Math.min(READ_BYTES, Math.max(msg.end - msg.start, 1));
      if (!buffer || buffer.length < size) buffer = Buffer.allocUnsafe(size);
      const digests = hashRange(fdFor(msg.path), msg, buffer.subarray(0, size));
      const ab = digests.buffer as ArrayBuffer;
      port.postMessage({ id: msg.id, digests: ab } satisfies HashReply, [ab]);
    } catch (e) {
      port.postMessage({ id: msg.id, ...errorReply(e) } satisfies HashReply);
    }
  });
}
