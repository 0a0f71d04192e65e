/**
 * Piece hashing started early and shared between threads, for publish: the
 * workers start hashing the image at once, while the calling thread does
 * other work (reading the ISO's metadata, computing delta hints); when the
 * caller asks for the result, it takes the jobs that are left itself.
 *
 * Jobs (JOB_BYTES of whole pieces) are claimed through an atomic counter
 * in shared memory and every thread writes its digests into shared arrays
 * (hash-worker.ts, SharedPass): no message per job, so a thread the
 * scheduler leaves waiting delays only the job it holds, and the calling
 * thread never waits for a worker to hand a job back. Every thread reads
 * with synchronous 1 MiB reads: on a loaded machine each hand-off to
 * another thread (a read on libuv's pool, a reply) waits for a core.
 *
 * On 2 cores this is what `mktorrent -t 2` does: two threads hashing. A
 * worker costs ~0.1 s of CPU to start (a Node isolate), paid while the
 * calling thread is busy with the rest of publish.
 *
 * Memory: one READ_BYTES buffer per thread and 20 bytes per piece (52 with
 * the v2 piece layer).
 */
import { closeSync, openSync, statSync } from 'node:fs';
import { spareCoresNow } from '../core/idle-sampler.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { IsosyncError } from '../errors.js';
import { INLINE_MAX_BYTES, MAX_HASH_THREADS } from './hash-pieces.js';
import { giveBack } from '../core/give-back.js';
import { CLAIMED, DONE, PARKED_WORKER, READ_BYTES, SHARED_WORKER_MARK, takeSharedJob, type SharedPass, type SharedReply } from './hash-worker.js';
import { hashWorkerUrl } from './hash-worker-url.js';
import { SHA1_BYTES } from './info-hash.js';
import { SHA256_BYTES } from './merkle.js';

/** Bytes per job: small enough that the threads finish close together, large enough for 4 long reads. */
export const POOL_JOB_BYTES = 4 * 1024 * 1024;

export interface PoolOptions {
  /** Content length to hash (default the file's size). */
  readonly length?: number;
  /** Also the BEP 52 piece layer (pieceLength is then a multiple of 16 KiB). */
  readonly v2?: boolean;
  /** Worker threads (default: one per core free beyond the calling thread, up to MAX_HASH_THREADS threads in all; none for small inputs). */
  readonly workers?: number;
}

export interface PoolResult {
  /** SHA-1 of each piece. */
  readonly pieces: Uint8Array;
  /** v2: the piece layer, 32 bytes per piece. */
  readonly layer?: Uint8Array;
}

/** A pass over an image under way: finish() for its pieces, or cancel(). */
export interface PieceHashing {
  /** Worker threads started so far (0: finish() hashes everything on the calling thread, unless `decided` adds some). */
  readonly workers: number;
  /** Resolves with the workers started once it is decided how many (at once when the caller said; else after a ~60 ms sample). */
  readonly decided: Promise<number>;
  /** Hashes what the workers have not taken yet on this thread, then waits for them. */
  finish(onProgress?: (doneBytes: number, totalBytes: number) => void): Promise<PoolResult>;
  /** Stops the workers (the result is not wanted). */
  cancel(): void;
}

/**
 * The workers a pool starts when the caller does not say: one per core free
 * now beyond the calling thread's (`spare`, core/idle-sampler.ts), up to
 * MAX_HASH_THREADS threads with the calling thread; none for small inputs.
 * They start once the sample is in (~60 ms; the calling thread hashes
 * meanwhile when it asks for the result: jobs are claimed, not dealt). A worker pays for its
 * start (a Node isolate, ~0.1-0.15 s of CPU) only on a core that would
 * otherwise idle: on a saturated machine the threads only take turns on the
 * same cores. Measured on 2 cores at load 13-16, publish of a 348 MB image
 * (4 alternated rounds): 0.67 CPU s without a worker, 0.89 with one, and
 * no shorter wall time.
 */
export function defaultPoolWorkers(length: number, spare: number): number {
  if (length <= INLINE_MAX_BYTES) return 0;
  return Math.max(0, Math.min(MAX_HASH_THREADS - 1, spare));
}

/**
 * Hands `pass` to the worker bin/isosync parked on globalThis (taken once: a second pass starts its own), if it is
 * still alive; `watch` counts it as one of the pass's workers.
 */
function adoptParked(pass: SharedPass, watch: (w: Worker) => void): void {
  const g = globalThis as { [PARKED_WORKER]?: Worker };
  const w = g[PARKED_WORKER];
  delete g[PARKED_WORKER];
  if (!(w instanceof Worker) || w.threadId < 0) return;
  w.ref();
  watch(w);
  w.postMessage({ pass });
}

/** Starts hashing the pieces of the file at `path` in worker threads now; see the module comment. */
export function startPieceHashing(path: string, pieceLength: number, opts: PoolOptions = {}): PieceHashing {
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new IsosyncError('INTERNAL', `Internal error: startPieceHashing got piece length ${pieceLength}`);
  const length = opts.length ?? statSync(path).size;
  const count = Math.ceil(length / pieceLength);
  const jobPieces = Math.max(1, Math.floor(POOL_JOB_BYTES / pieceLength));
  const jobs = Math.ceil(count / jobPieces);
  const pass: SharedPass = {
    path,
    length,
    pieceLength,
    jobPieces,
    jobs,
    v2: opts.v2 ?? false,
    control: new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT),
    digests: new SharedArrayBuffer(count * SHA1_BYTES),
    ...(opts.v2 ? { layer: new SharedArrayBuffer(count * SHA256_BYTES) } : {}),
  };
  const control = new Int32Array(pass.control);
  let failure: IsosyncError | undefined;
  let running = 0;
  let wake: (() => void) | undefined;
  const workers: Worker[] = [];
  const ended = () => {
    running--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  let stopped = false;
  const spawn = (n: number): number => {
    // Not once every job is claimed (finish() ran through them) or the pass failed or was cancelled.
    const size = stopped || failure ? 0 : Math.max(0, Math.min(n, jobs - 1 - Atomics.load(control, CLAIMED)));
    for (let i = 0; i < size; i++) start();
    return workers.length;
  };
  const start = () => watch(new Worker(hashWorkerUrl(import.meta.url), { workerData: { mark: SHARED_WORKER_MARK, pass } }));
  const watch = (w: Worker) => {
    running++;
    let settled = false;
    const settle = () => {
      if (!settled) {
        settled = true;
        ended();
      }
    };
    w.on('message', (reply: SharedReply) => {
      if ('error' in reply) failure ??= new IsosyncError('IO', `Cannot hash ${JSON.stringify(path)}: ${reply.error}`, { path, errno: reply.code });
      settle();
    });
    w.on('error', (e) => {
      Atomics.store(control, CLAIMED, jobs);
      failure ??= new IsosyncError('IO', `Cannot hash ${JSON.stringify(path)}: ${e.message}`, { path }, { cause: e });
      settle();
    });
    w.on('exit', settle);
    workers.push(w);
  };
  // The worker bin/isosync parked for this pass (hash-worker.ts), when the caller leaves the count to the pool: it
  // joins at once (its start is paid, a core looked free then), and the sample below only adds to it.
  if (opts.workers === undefined && length > INLINE_MAX_BYTES && jobs > 1) adoptParked(pass, watch);
  const decided =
    opts.workers !== undefined
      ? Promise.resolve(spawn(opts.workers))
      : length <= INLINE_MAX_BYTES
        ? Promise.resolve(0)
        : spareCoresNow().then((spare) => spawn(defaultPoolWorkers(length, spare) - workers.length));
  const stop = () => {
    stopped = true;
    Atomics.store(control, CLAIMED, jobs);
    for (const w of workers) void w.terminate();
  };
  return {
    get workers() {
      return workers.length;
    },
    decided,
    cancel: stop,
    async finish(onProgress) {
      const jobBytes = jobPieces * pieceLength;
      const fd = openSync(path, 'r');
      const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(1, jobBytes)));
      try {
        while (failure === undefined && takeSharedJob(fd, pass, buf)) {
          onProgress?.(Math.min(length, Atomics.load(control, DONE) * jobBytes), length);
          // Between jobs: worker messages and the progress line get their turn.
          await yieldToLoop();
        }
      } catch (e) {
        stop();
        if (e instanceof IsosyncError) throw e;
        throw new IsosyncError('IO', `Cannot hash ${JSON.stringify(path)}: ${(e as Error).message}`, { path }, { cause: e });
      } finally {
        closeSync(fd);
        // Read synchronously (takeSharedJob), so nothing fills it now: its MiB goes back at once (core/give-back.ts).
        giveBack(buf);
      }
      while (running > 0 && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
      if (failure) {
        stop();
        throw failure;
      }
      onProgress?.(length, length);
      return { pieces: new Uint8Array(pass.digests).slice(), ...(pass.layer ? { layer: new Uint8Array(pass.layer).slice() } : {}) };
    },
  };
}
