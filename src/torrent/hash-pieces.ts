/**
 * Piece hashing of an image file: the `pieces` string of a torrent, and
 * verification of an image against one.
 *
 * The content is cut into jobs of whole pieces (about JOB_BYTES each), taken
 * in turn by the calling thread and by any worker threads (hash-worker.ts);
 * the 20-byte digests are assembled in piece order. The calling thread hashes
 * with its reads done ahead on libuv's thread pool (hash-ahead.ts: reading
 * and hashing overlap without a worker); a worker reads its job with
 * synchronous 1 MiB reads. Workers run by default only beyond two cores
 * (defaultHashWorkers): on two, the calling thread and its reads already keep
 * both busy, and a worker costs ~0.12-0.16 s of CPU to start (a Node isolate
 * and its bootstrap), which a loaded machine pays in wall time as well.
 * Memory is bounded: the calling thread's ring of reads (3 MiB), one read
 * buffer per worker (READ_BYTES), and 20 bytes per piece. Small inputs are
 * hashed on the calling thread alone, with synchronous reads.
 *
 * The file is checked before and after (size, mtime): an image that changes
 * while it is hashed is an error, not a silently wrong torrent.
 *
 * hashPiecesV2 does the same pass for a v2 or hybrid torrent: SHA-1 pieces
 * and, in the same read, the BEP 52 piece layer and the file's pieces root.
 */
import { availableParallelism } from 'node:os';
import { closeSync, openSync, statSync, type Stats } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { IsosyncError } from '../errors.js';
import { readExactSync } from '../store/exact-io.js';
import { AHEAD_BUFFERS, hashRangeAhead } from './hash-ahead.js';
import { giveBack } from '../core/give-back.js';
import { HASH_WORKER_MARK, hashRange, READ_BYTES, type HashJob, type HashReply } from './hash-worker.js';
import { hashWorkerUrl } from './hash-worker-url.js';
import { SHA1_BYTES } from './info-hash.js';
import { equalBytes, fileRoot, leafHashes, SHA256_BYTES } from './merkle.js';
import { pieceCheckOf, type CheckSource } from './piece-check.js';
import type { PieceIndex } from '../core/ids.js';
import { V2_MIN_PIECE_LENGTH } from './v2-info.js';

/** Bytes per job: 16 MiB gives each worker long sequential reads and keeps ~64 jobs per GiB to balance. */
export const JOB_BYTES = 16 * 1024 * 1024;
/** Inputs up to this size are hashed on the calling thread alone, with synchronous reads: 8 MiB hashes in ~10 ms. */
export const INLINE_MAX_BYTES = 8 * 1024 * 1024;
/** Jobs posted to a worker ahead: 2 hides the round trip to this thread, which may be busy with a job of its own. */
const JOBS_QUEUED_PER_WORKER = 2;
/** Hashing threads at most, the calling thread included: SHA-1 of a page-cached image stops scaling where reads and memory bandwidth bind, and each worker costs a start-up. */
export const MAX_HASH_THREADS = 4;
/** Cores the calling thread keeps busy: its hashing and its reads ahead. */
const CALLING_THREAD_CORES = 2;

/**
 * Workers beside the calling thread when the caller does not say: one per
 * core beyond CALLING_THREAD_CORES, up to MAX_HASH_THREADS threads in all
 * (none on 2 cores: measured in hash-ahead.ts; more cores were not measured).
 */
export function defaultHashWorkers(): number {
  return Math.max(0, Math.min(MAX_HASH_THREADS, availableParallelism() + 1 - CALLING_THREAD_CORES) - 1);
}

export interface HashOptions {
  /** Called as pieces complete, with bytes hashed so far and the total. */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Content length to hash (default the file's size); the file must hold at least this many bytes. */
  readonly length?: number;
  /** Worker threads beside the calling thread, which hashes too (default defaultHashWorkers(); 0 hashes on the calling thread alone). */
  readonly workers?: number;
}

export async function hashPieces(path: string, pieceLength: number, opts: HashOptions = {}): Promise<Uint8Array> {
  return (await hashAll(path, pieceLength, opts, false)).pieces;
}

export interface V2Hashes {
  /** SHA-1 of each piece (the v1 half of a hybrid). */
  readonly pieces: Uint8Array;
  /** BEP 52 piece layer: 32 bytes per piece. */
  readonly pieceLayer: Uint8Array;
  /** The file's pieces root. */
  readonly root: Uint8Array;
}

/** SHA-1 pieces, the SHA-256 piece layer and the pieces root of one file, in one read. */
export async function hashPiecesV2(path: string, pieceLength: number, opts: HashOptions = {}): Promise<V2Hashes> {
  if (pieceLength < V2_MIN_PIECE_LENGTH) throw new IsosyncError('INTERNAL', `Internal error: hashPiecesV2 got piece length ${pieceLength}, below ${V2_MIN_PIECE_LENGTH}`);
  const { pieces, layer, length } = await hashAll(path, pieceLength, opts, true);
  return { pieces, pieceLayer: layer!, root: v2Root(path, length, pieceLength, layer!) };
}

/** The pieces root of the file at `path` from its piece layer (a one-piece file's from its own leaves, padded to a power of two, not to the piece length). */
export function v2Root(path: string, length: number, pieceLength: number, pieceLayer: Uint8Array): Uint8Array {
  return length <= pieceLength ? fileRoot(length, pieceLength, { leaves: leafHashes(readAt(path, 0, length)) }) : fileRoot(length, pieceLength, { pieceLayer });
}

function readAt(path: string, offset: number, length: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    readExactSync(fd, buf, 0, length, offset, (at) => new IsosyncError('IO', `Cannot hash ${JSON.stringify(path)}: it ended at byte ${at}, before ${offset + length}`, { path }));
    return buf;
  } finally {
    closeSync(fd);
  }
}

async function hashAll(path: string, pieceLength: number, opts: HashOptions, v2: boolean): Promise<{ pieces: Uint8Array; layer?: Uint8Array; length: number }> {
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new IsosyncError('INTERNAL', `Internal error: hashPieces got piece length ${pieceLength}`);
  const before = statFile(path);
  const length = opts.length ?? before.size;
  if (length > before.size) {
    throw new IsosyncError('IO', `Cannot hash ${JSON.stringify(path)}: it holds ${before.size} bytes, fewer than ${length}`, { path });
  }
  const jobs = makeJobs(path, length, pieceLength, v2);
  // The calling thread takes jobs too: more workers than jobs - 1 would have nothing to do.
  const workers = Math.min(opts.workers ?? (length <= INLINE_MAX_BYTES ? 0 : defaultHashWorkers()), jobs.length - 1);
  const count = Math.ceil(length / pieceLength);
  const out = new Uint8Array(count * SHA1_BYTES);
  const layer = v2 ? new Uint8Array(count * SHA256_BYTES) : undefined;
  const put = (job: Job, digests: Uint8Array) => {
    const n = Math.ceil((job.end - job.start) / pieceLength);
    out.set(digests.subarray(0, n * SHA1_BYTES), job.firstPiece * SHA1_BYTES);
    layer?.set(digests.subarray(n * SHA1_BYTES), job.firstPiece * SHA256_BYTES);
  };
  try {
    if (workers <= 0 && length <= INLINE_MAX_BYTES) hashInline(path, jobs, put, length, opts.onProgress);
    else await hashInPool(path, jobs, Math.max(0, workers), put, length, opts.onProgress);
  } catch (e) {
    if (e instanceof IsosyncError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new IsosyncError('IO', `Cannot hash ${JSON.stringify(path)}: ${err.message}`, { path }, { cause: e });
  }
  const after = statFile(path);
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
    throw new IsosyncError('IO', `Cannot hash ${JSON.stringify(path)}: the file changed while it was being hashed`, { path });
  }
  return { pieces: out, length, ...(layer ? { layer } : {}) };
}

export interface VerifyResult {
  /** valid[i] is true when piece i of the file matches the expected hash. */
  readonly valid: readonly boolean[];
  readonly validCount: number;
  readonly pieceCount: number;
}

/**
 * Which pieces of the file at `path` are the target's (piece-check.ts: SHA-1
 * for v1 and hybrid, BEP 52 merkle nodes for v2-only). A file shorter than
 * expected.length has its missing and partial pieces marked invalid; bytes
 * past expected.length are ignored.
 *
 * v2-only: the pool computes each piece's node over pieceLength / 16 KiB
 * leaves, which is the piece-layer node wherever the piece holds only its
 * file's bytes; the one piece per file that ends in pad bytes or is checked
 * against its pieces root is read again and checked on this thread.
 */
export async function verifyPieces(path: string, expected: CheckSource, opts: Omit<HashOptions, 'length'> = {}): Promise<VerifyResult> {
  const check = pieceCheckOf(expected);
  const size = statFile(path).size;
  const available = Math.min(size, expected.length);
  const pieceCount = check.pieceCount;
  const merkle = check.kind === 'merkle';
  const got = available > 0 ? await hashAll(path, expected.pieceLength, { ...opts, length: available }, merkle) : { pieces: new Uint8Array(), layer: undefined };
  // A piece is comparable when it lies wholly within the bytes present.
  const whole = available === expected.length ? pieceCount : Math.floor(available / expected.pieceLength);
  const valid: boolean[] = [];
  let validCount = 0;
  for (let i = 0; i < pieceCount; i++) {
    const p = i as PieceIndex;
    let ok = false;
    if (i < whole && !merkle) {
      ok = Buffer.compare(got.pieces.subarray(i * SHA1_BYTES, (i + 1) * SHA1_BYTES), expected.pieces.subarray(i * SHA1_BYTES, (i + 1) * SHA1_BYTES)) === 0;
    } else if (i < whole) {
      const at = check.v2Piece(p);
      if (at && at.against === 'piece layer' && at.dataBytes === check.size(p)) ok = equalBytes(got.layer!.subarray(i * SHA256_BYTES, (i + 1) * SHA256_BYTES), at.expected);
      else ok = check.matches(p, readAt(path, i * expected.pieceLength, check.size(p)));
    }
    valid.push(ok);
    if (ok) validCount++;
  }
  return { valid, validCount, pieceCount };
}

function statFile(path: string): Stats {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new IsosyncError('NOT_FOUND', `Cannot hash ${JSON.stringify(path)}: no such file`, { path });
    throw new IsosyncError('IO', `Cannot hash ${JSON.stringify(path)}: ${err.message}`, { path }, { cause: e });
  }
  if (!st.isFile()) throw new IsosyncError('BAD_ARGUMENT', `Cannot hash ${JSON.stringify(path)}: not a regular file`, { path });
  return st;
}

interface Job extends HashJob {
  /** Index of the first piece of the job. */
  readonly firstPiece: number;
}

function makeJobs(path: string, length: number, pieceLength: number, v2: boolean): Job[] {
  const piecesPerJob = Math.max(1, Math.floor(JOB_BYTES / pieceLength));
  const jobBytes = piecesPerJob * pieceLength;
  const jobs: Job[] = [];
  for (let start = 0, id = 0; start < length; start += jobBytes, id++) {
    jobs.push({ id, path, start, end: Math.min(start + jobBytes, length), pieceLength, firstPiece: id * piecesPerJob, ...(v2 ? { v2 } : {}) });
  }
  return jobs;
}

type Put = (job: Job, digests: Uint8Array) => void;

function hashInline(path: string, jobs: Job[], put: Put, total: number, onProgress?: HashOptions['onProgress']): void {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(1, total)));
    let done = 0;
    for (const job of jobs) {
      put(job, hashRange(fd, job, buf));
      done += job.end - job.start;
      onProgress?.(done, total);
    }
    giveBack(buf);
  } finally {
    closeSync(fd);
  }
}

/**
 * Jobs go, in order, to whichever thread asks next: each worker keeps
 * JOBS_QUEUED_PER_WORKER posted, and the calling thread hashes one job at a
 * time with its reads ahead (its awaits let worker replies in).
 */
async function hashInPool(path: string, jobs: Job[], size: number, put: Put, total: number, onProgress?: HashOptions['onProgress']): Promise<void> {
  const workers: Worker[] = [];
  let next = 0;
  let finished = 0;
  let done = 0;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const settle = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const fail = (e: unknown) => {
    if (failure) return;
    failure = { error: e };
    settle();
  };
  const complete = (job: Job, digests: Uint8Array) => {
    put(job, digests);
    done += job.end - job.start;
    finished++;
    onProgress?.(done, total);
  };
  const feed = (w: Worker) => {
    const job = jobs[next++];
    if (job) {
      const { firstPiece: _, ...msg } = job;
      w.postMessage(msg satisfies HashJob);
    }
  };
  const fd = openSync(path, 'r');
  let ring: Buffer[] = [];
  try {
    for (let i = 0; i < size; i++) {
      const w = new Worker(hashWorkerUrl(import.meta.url), { workerData: HASH_WORKER_MARK });
      workers.push(w);
      w.on('error', fail);
      w.on('message', (reply: HashReply) => {
        if (failure) return;
        if ('error' in reply) {
          fail(new IsosyncError('IO', reply.error, { errno: reply.code }));
          return;
        }
        complete(jobs[reply.id]!, new Uint8Array(reply.digests));
        if (finished === jobs.length) settle();
        else feed(w);
      });
      // Jobs queued per worker, so it never waits for the next one.
      for (let k = 0; k < JOBS_QUEUED_PER_WORKER; k++) feed(w);
    }
    ring = Array.from({ length: AHEAD_BUFFERS }, () => Buffer.allocUnsafe(Math.min(READ_BYTES, total)));
    while (!failure && next < jobs.length) {
      const job = jobs[next++]!;
      complete(job, await hashRangeAhead(fd, job, ring));
    }
    if (!failure && finished < jobs.length) await new Promise<void>((resolve) => (wake = resolve));
    if (failure) throw failure.error;
  } finally {
    closeSync(fd);
    // Every read into the ring has ended (hashRangeAhead settles only then): its 3 MiB go back now, not at the next
    // full collection (a seed serves right after verifying; core/give-back.ts).
    for (const b of ring) giveBack(b);
    // A failure on any thread stops the others at once; after success each worker closes its files and ends.
    if (finished < jobs.length) for (const w of workers) void w.terminate();
    else for (const w of workers) w.postMessage({ close: true });
  }
}
