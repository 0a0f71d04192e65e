/**
 * A piece's SHA-1 checked, and the piece written into the .part when it
 * matches, on a worker thread (verify-worker.ts): the main thread, which
 * plans, fills pieces and runs the network, only posts the piece's place in
 * the aligned shared memory (aligned.ts) and hears back whether it was
 * written. On the stock-torrent bench that took SHA-1 (~0.25-0.3 s of CPU per
 * 348 MiB image) and the writes' hand-offs to the thread pool off the main
 * thread, whose CPU time is a sync's wall time on a quiet machine.
 *
 * The worker starts with the .part (PartFile.open), so its start-up (~0.1 s
 * of CPU, a Node isolate) runs beside planning. It is only an accelerator:
 * bytes outside the aligned memory, a v2-only torrent, or a worker that could
 * not start or died (WorkerGone, also for the pieces it had) are checked and
 * written on the main thread as before.
 */
import { Worker } from 'node:worker_threads';
import { IsosyncError } from '../errors.js';
import { SAMPLE_MS } from '../core/idle-sampler.js';
import { alignedMemory, inAlignedMemory } from './aligned.js';
import { FAILED, VERIFY_WORKER_MARK, WRITTEN, type VerifyJob, type VerifyReply, type VerifyWorkerData } from './verify-worker.js';

export { WRITE_BATCH_BYTES } from './verify-worker.js';

/** The verifying thread failed or ended: the piece it had is to be checked and written on this thread. */
export class WorkerGone extends IsosyncError {
  constructor(why: string, cause?: unknown) {
    super('INTERNAL', `Internal error: the piece verifying thread ${why}`, {}, { cause });
  }
}

/**
 * Bytes of a target below which no worker is started: its SHA-1s would barely pay for its start. 128 MiB, not 256:
 * a live image of 150 MB then verifies beside the main thread too. On its bench pair (stock torrent, loaded
 * machine) the main thread's CPU time, a quiet machine's wall time, went from 1.33-1.84 s to 1.33-1.51 s
 * (5 runs each, alternating) for +0.1 s of CPU in all and +17 MiB of peak RSS; a sync's wall time is what counts.
 */
export const MIN_VERIFY_WORKER_BYTES = 128 * 1024 * 1024;

/**
 * Whether a sync of a `targetBytes` target checks and writes its pieces on a worker: a Node isolate
 * costs ~0.1 s of CPU to start and ~11 MiB of memory however small its heap, so only for a target
 * whose SHA-1s outweigh that, and only with a core free beyond the caller's (`spare`, from
 * core/idle-sampler.ts: on a busy core the two threads take turns, no wall time saved), the rule
 * re-encoding's worker follows (delta/reencode-pool.ts).
 */
export function wantsVerifyWorker(targetBytes: number, spare: number): boolean {
  return targetBytes >= MIN_VERIFY_WORKER_BYTES && spare >= 1;
}

/** What verifyWorkerDecision reads: a span's spare cores (core/idle-sampler.ts SpareCoreWatch). */
export interface CoreWatch {
  readonly elapsedMs: number;
  spare(): number;
}

export interface WorkerDecision {
  /** True as soon as a worker is wanted; false once decideNow or stop said no. */
  readonly decided: Promise<boolean>;
  /** The last moment to decide (assembly starts): the span so far answers (after SAMPLE_MS of it at least). */
  decideNow(): void;
  /** No worker after all (the sync failed): the watch stops. */
  stop(): void;
}

/**
 * wantsVerifyWorker asked while planning runs, every `everyMs` over the whole span since `watch` started, so
 * the worker starts (and its start-up runs beside planning) as soon as a core is seen free; decideNow answers
 * over the span so far. It was one 60 ms sample at the start: six 10 ms ticks per CPU, where two ticks of
 * anything else's made the core busy, and a stock sync then verified on its main thread for the whole run.
 * `every` starts a repeating call and returns its stop (an unref'd interval by default).
 */
export function verifyWorkerDecision(targetBytes: number, watch: () => CoreWatch, every: (f: () => void, ms: number) => () => void = repeat, everyMs = SAMPLE_MS): WorkerDecision {
  if (targetBytes < MIN_VERIFY_WORKER_BYTES) return { decided: Promise.resolve(false), decideNow: () => undefined, stop: () => undefined };
  const w = watch();
  let resolve!: (yes: boolean) => void;
  const decided = new Promise<boolean>((r) => (resolve = r));
  let settled = false;
  let last = false;
  let cancel: (() => void) | undefined;
  const settle = (yes: boolean) => {
    if (settled) return;
    settled = true;
    cancel?.();
    resolve(yes);
  };
  const ask = () => {
    if (w.elapsedMs < everyMs && !last) return;
    const yes = wantsVerifyWorker(targetBytes, w.spare());
    if (yes || last) settle(yes);
  };
  cancel = every(ask, everyMs);
  return {
    decided,
    decideNow: () => {
      last = true;
      ask(); // answers now, over however short a span: the tick is unref'd and may never come (nothing else may hold the loop)
    },
    stop: () => settle(false),
  };
}

function repeat(f: () => void, ms: number): () => void {
  const t = setInterval(f, ms);
  t.unref();
  return () => clearInterval(t);
}

interface Waiting {
  resolve(written: boolean): void;
  reject(e: Error): void;
}

export class VerifiedWrites {
  private nextId = 0;
  private readonly waiting = new Map<number, Waiting>();
  private broken: WorkerGone | undefined;
  private idleWaiters: (() => void)[] = [];

  private constructor(private readonly worker: Worker) {
    worker.unref();
    worker.on('message', (r: VerifyReply[]) => this.onReply(r));
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', () => this.fail(new WorkerGone('ended')));
  }

  /**
   * Starts the worker for a torrent's SHA-1s (`pieces`, 20 bytes each) and the .part's descriptors: `direct`
   * (O_DIRECT, -1 for none) and `buffered`. Undefined when there is no aligned memory or no worker to be had.
   */
  static start(pieces: Uint8Array, direct: number, buffered: number): VerifiedWrites | undefined {
    const memory = alignedMemory();
    if (!memory) return undefined;
    const data: VerifyWorkerData = { mark: VERIFY_WORKER_MARK, memory, pieces: new Uint8Array(pieces), fds: [direct, buffered] };
    try {
      return new VerifiedWrites(new Worker(new URL('./verify-worker.js', import.meta.url), { workerData: data }));
    } catch {
      return undefined;
    }
  }

  /** Whether the worker is alive (it has not failed, ended or been closed). */
  get alive(): boolean {
    return !this.broken;
  }

  /** Whether `bytes` can go to the worker: they lie in the aligned memory, and the worker is alive. */
  takes(bytes: Uint8Array): boolean {
    return !this.broken && inAlignedMemory(bytes);
  }

  /**
   * Checks `bytes` against piece `piece`'s SHA-1 and, when they match, writes them at `offset`: true once written,
   * false (nothing written) when they do not match. `bytes` must not change until it resolves. With `reads`
   * (verify-worker.ts), the worker reads the piece's bytes into `bytes` first (false too when a read fails).
   */
  verifyAndWrite(piece: number, bytes: Uint8Array, offset: number, cached = false, reads?: readonly number[]): Promise<boolean> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    if (this.waiting.size === 0) this.worker.ref(); // a write under way keeps the process up
    const p = new Promise<boolean>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    // Sent with the others of this turn (pieces in flight reach this point in the same turns): one message.
    if (this.jobs.push(reads ? [id, piece, bytes.byteOffset, bytes.length, offset, cached ? 1 : 0, reads] : [id, piece, bytes.byteOffset, bytes.length, offset, cached ? 1 : 0]) === 1) setImmediate(this.send);
    return p;
  }

  private jobs: VerifyJob[] = [];
  private readonly send = (): void => {
    const jobs = this.jobs;
    this.jobs = [];
    if (!this.broken) this.worker.postMessage(jobs);
  };

  private onReply(replies: VerifyReply[]): void {
    for (const r of replies) {
      const w = this.waiting.get(r[0]);
      if (!w) continue;
      this.waiting.delete(r[0]);
      // A write that failed: the system's message and code (ENOSPC...), as part-file.ts ioError reads them.
      if (r[1] === FAILED) w.reject(new IsosyncError('IO', r[2], { errno: r[3] }));
      else w.resolve(r[1] === WRITTEN);
    }
    this.whenIdle();
  }

  private fail(e: Error): void {
    this.broken ??= e instanceof WorkerGone ? e : new WorkerGone(`failed: ${e.message}`, e);
    for (const w of this.waiting.values()) w.reject(this.broken);
    this.waiting.clear();
    this.whenIdle();
  }

  private whenIdle(): void {
    if (this.waiting.size > 0) return;
    this.worker.unref();
    for (const f of this.idleWaiters.splice(0)) f();
  }

  /** Resolves once no piece is being checked or written. */
  idle(): Promise<void> {
    return this.waiting.size === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Ends the worker (after idle: a write it was doing would be cut off). */
  async close(): Promise<void> {
    await this.idle();
    this.broken ??= new WorkerGone('was closed');
    await this.worker.terminate();
  }
}
