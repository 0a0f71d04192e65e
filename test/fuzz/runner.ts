/**
 * Runs a fuzz target over inputs [start, start + count) in worker threads,
 * with a watchdog: an input that runs longer than `hangMs`, or a worker that
 * dies (out of memory, a native crash), is reported as a foreign failure at
 * that input's index, and the run goes on from the next input.
 */
import { Worker } from 'node:worker_threads';
import { describeError, PROGRESS, type Foreign, type WorkerJob, type WorkerReply } from './protocol.js';

export interface FuzzResult {
  readonly target: string;
  readonly seed: number;
  readonly count: number;
  readonly seeds: number;
  /** Inputs parsed without error. */
  readonly accepted: number;
  /** Inputs refused with the project's own IsosyncError. */
  readonly rejected: number;
  /** Everything else: other exceptions, hangs, crashed workers. */
  readonly foreign: number;
  /** The first few foreign failures, each with the index that reproduces it. */
  readonly samples: readonly Foreign[];
  /** Milliseconds spent running inputs (seed making excluded). */
  readonly ms: number;
}

export interface RunOptions {
  readonly seed?: number;
  readonly start?: number;
  /**
   * An input still running after this long, while the process spent at least half of it on the CPU, is a hang
   * (default 20 s); one still running after four times this long is a hang whatever the CPU did (an input
   * waiting forever). CPU time, not wall time alone: on a loaded machine a worker that allocates its way to the
   * memory mark, or spins, gets a small share of a core, and wall time alone would call it a hang first.
   */
  readonly hangMs?: number;
  /** Heap limit of the worker in MiB (default 1024): more is a foreign failure. */
  readonly heapMb?: number;
  /** Resident memory of the whole process in MiB (default 4096) past which the worker is stopped: buffers live outside the heap limit. */
  readonly rssMb?: number;
}

const WORKER = new URL('./worker.js', import.meta.url);
/** A run whose workers keep dying stops after this many restarts. */
const MAX_RESTARTS = 20;
const MAX_SAMPLES = 20;

interface Tally {
  accepted: number;
  rejected: number;
  foreign: number;
  seeds: number;
  ms: number;
  samples: Foreign[];
}

/** One worker over [start, end): adds its counts to `t`; returns the index to go on from (end when done). */
function runWorker(target: string, seed: number, start: number, end: number, o: Required<Pick<RunOptions, 'hangMs' | 'heapMb' | 'rssMb'>>, t: Tally): Promise<number> {
  const progress = new SharedArrayBuffer(4 * PROGRESS.size);
  const cells = new Int32Array(progress);
  Atomics.store(cells, PROGRESS.index, start);
  const job: WorkerJob = { target, seed, start, count: end - start, progress };
  const t0 = performance.now();
  return new Promise((resolve) => {
    const w = new Worker(WORKER, { workerData: job, resourceLimits: { maxOldGenerationSizeMb: o.heapMb }, stdout: true, stderr: true });
    w.stdout.resume();
    w.stderr.resume();
    let settled = false;
    /** Why the worker is being stopped (the watchdog's finding, or its error): reported once it has exited. */
    let failure: string | undefined;
    // Counts are read only once the worker has stopped, so an input it finished meanwhile is not counted twice:
    // the worker adds one to exactly one counter per input it completes, so the input in progress is the next one.
    const finish = (why: string | undefined, ms?: number): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      const accepted = Atomics.load(cells, PROGRESS.accepted);
      const rejected = Atomics.load(cells, PROGRESS.rejected);
      const foreign = Atomics.load(cells, PROGRESS.foreign);
      t.accepted += accepted;
      t.rejected += rejected;
      t.foreign += foreign + Atomics.load(cells, PROGRESS.strays);
      t.seeds = Math.max(t.seeds, Atomics.load(cells, PROGRESS.seeds));
      t.ms += ms ?? performance.now() - t0;
      if (why === undefined) return resolve(end);
      const at = start + accepted + rejected + foreign;
      t.foreign++;
      if (t.samples.length < MAX_SAMPLES) t.samples.push({ index: at, error: why });
      // Died while making seeds: nothing can run.
      resolve(Atomics.load(cells, PROGRESS.ready) === 1 ? at + 1 : end);
    };
    const stop = (why: string): void => {
      if (failure !== undefined || settled) return;
      failure = why;
      clearInterval(watchdog);
      void w.terminate();
    };
    let last = -1;
    let since = Date.now();
    let sinceCpu = cpuMs();
    const watchdog = setInterval(() => {
      if (Atomics.load(cells, PROGRESS.ready) !== 1) return; // still making seeds
      const now = Atomics.load(cells, PROGRESS.index);
      const rss = process.memoryUsage.rss() / 1048576;
      if (rss > o.rssMb) return stop(`memory: the process passed ${o.rssMb} MiB (${Math.round(rss)} MiB)`);
      if (now !== last) {
        last = now;
        since = Date.now();
        sinceCpu = cpuMs();
      } else if (isHang(Date.now() - since, cpuMs() - sinceCpu, o.hangMs)) stop(`hang: input still running after ${o.hangMs} ms`);
    }, 100);
    w.on('message', (m: WorkerReply) => {
      if (m.type === 'foreign') {
        if (t.samples.length < MAX_SAMPLES) t.samples.push(m.sample);
      } else finish(undefined, m.ms);
    });
    // 'error' comes before 'exit'.
    w.on('error', (e) => void (failure ??= `worker died: ${describeError(e)}`));
    w.on('exit', (code) => finish(failure ?? `worker exited with ${code}`));
  });
}

/** The process's CPU milliseconds (every thread: the workers' with the rest). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Whether an input that has run `wallMs`, while the process spent `cpuMs` on the CPU, is a hang (RunOptions.hangMs). */
export function isHang(wallMs: number, cpuMs: number, hangMs: number): boolean {
  return (wallMs > hangMs && cpuMs >= hangMs / 2) || wallMs > 4 * hangMs;
}

/** After a worker was stopped for memory, the next one starts once the process is back under the mark (at most MEMORY_SETTLE_MS): its memory is not the next worker's. */
async function settleMemory(rssMb: number): Promise<void> {
  for (const t0 = Date.now(); process.memoryUsage.rss() / 1048576 > rssMb && Date.now() - t0 < MEMORY_SETTLE_MS; ) {
    await new Promise((r) => setTimeout(r, 50));
  }
}
const MEMORY_SETTLE_MS = 10_000;

export async function runTarget(target: string, count: number, opts: RunOptions = {}): Promise<FuzzResult> {
  const seed = opts.seed ?? 1;
  const start = opts.start ?? 0;
  const end = start + count;
  const t: Tally = { accepted: 0, rejected: 0, foreign: 0, seeds: 0, ms: 0, samples: [] };
  const o = { hangMs: opts.hangMs ?? 20_000, heapMb: opts.heapMb ?? 1024, rssMb: opts.rssMb ?? 4096 };
  let next = start;
  for (let restarts = 0; next < end && restarts <= MAX_RESTARTS; restarts++) {
    next = await runWorker(target, seed, next, end, o, t);
    await settleMemory(o.rssMb);
  }
  if (next < end) t.foreign += end - next; // gave up: the rest never ran
  return { target, seed, count, seeds: t.seeds, accepted: t.accepted, rejected: t.rejected, foreign: t.foreign, samples: t.samples, ms: t.ms };
}
