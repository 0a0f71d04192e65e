/**
 * One fuzz run of one target, in a worker thread (runner.ts starts it): so
 * that a hang or an out-of-memory crash ends the worker, not the runner,
 * and the runner can name the input that caused it.
 *
 * The counts live in shared cells (PROGRESS), so they stay exact up to the
 * input that killed a worker; before each input the worker stores its index
 * there, and the runner's watchdog reads it. Foreign failures are posted as
 * they happen.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { IsosyncError } from '../../src/errors.js';
import { inputAt } from './mutate.js';
import { describeError, PROGRESS, type Foreign, type WorkerJob, type WorkerReply } from './protocol.js';
import { HARNESS_CHECKS, TARGETS } from './targets.js';

/** Foreign failures posted per worker; the rest are only counted. */
const MAX_SAMPLES = 20;
/** Synchronous targets still let the event loop run this often, so nothing they queue piles up. */
const SETTLE_EVERY = 1024;

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

async function main(job: WorkerJob, post: (m: WorkerReply) => void): Promise<void> {
  const target = [...TARGETS, ...HARNESS_CHECKS].find((t) => t.name === job.target);
  if (!target) throw new Error(`no fuzz target ${job.target}`);
  const cells = new Int32Array(job.progress);
  const seeds = await target.seeds();
  const dictionary = (target.dictionary ?? []).map((s) => new TextEncoder().encode(s));
  Atomics.store(cells, PROGRESS.seeds, seeds.length);
  Atomics.store(cells, PROGRESS.ready, 1);
  let posted = 0;
  let current = job.start;
  // One counter per completed input (accepted, rejected or foreign), added in one atomic step: the runner counts completed
  // inputs from them. A stray error is not a completed input and has its own cell.
  const foreign = (sample: Foreign, cell: number = PROGRESS.foreign): void => {
    Atomics.add(cells, cell, 1);
    if (posted++ < MAX_SAMPLES) post({ type: 'foreign', sample });
  };
  // A throw from a timer or event handler the parser left behind still belongs to the input that ran it.
  const stray = (e: unknown): void => foreign({ index: current, error: `asynchronous: ${describeError(e)}` }, PROGRESS.strays);
  process.on('uncaughtException', stray);
  process.on('unhandledRejection', stray);
  const t0 = performance.now();
  for (let i = job.start; i < job.start + job.count; i++) {
    current = i;
    Atomics.store(cells, PROGRESS.index, i);
    const input = inputAt(seeds, dictionary, job.seed, target.name, i, target.inPlace);
    try {
      const r = target.run(input);
      if (r instanceof Promise) await r; // most parsers are synchronous: no microtask for them
      Atomics.add(cells, PROGRESS.accepted, 1);
    } catch (e) {
      if (e instanceof IsosyncError) Atomics.add(cells, PROGRESS.rejected, 1);
      else foreign({ index: i, error: describeError(e) });
    }
    if (target.settle || (i - job.start) % SETTLE_EVERY === SETTLE_EVERY - 1) await turn();
  }
  post({ type: 'done', ms: performance.now() - t0 });
}

if (parentPort && workerData) {
  const port = parentPort;
  await main(workerData as WorkerJob, (m) => port.postMessage(m));
}
