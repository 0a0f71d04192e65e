/**
 * The chains of a round of delta/reencoded-clusters.ts, shared between the
 * calling thread and one worker thread (reencode-worker.ts) when a core would
 * otherwise idle. Chains are pure functions of plain data (reencode-chain.ts),
 * so which thread runs one does not change its result; results are returned
 * in the order of the inputs, so the caller records them as it would have.
 *
 * The calling thread takes the next chain itself while the worker holds up
 * to DEPTH of them, and yields one event-loop turn between its chains to let
 * the worker's replies in. The old files' stored clusters cross as views of
 * shared memory (the caller's arena, not written while a round runs); each
 * reply's clusters are transferred. A chain the worker fails, or could not be
 * sent, or that was with a worker that died, runs on the calling thread: a
 * worker can cost time, never a result.
 *
 * A worker is worth its start (a Node isolate, ~0.12-0.16 s of CPU, and the
 * encoder warmed up again, ~0.25 s) only on a core free now (beyond the
 * caller's: core/idle-sampler.ts) and for enough work:
 * on a saturated machine two threads take turns on the same cores (tried at
 * load ~20 on 2 cores: +0.8 s of CPU, no wall saved).
 */
import { Worker } from 'node:worker_threads';
import type { ChainInput, ChainOutput } from './reencode-chain.js';
import { REENCODE_WORKER_MARK, type ChainReply, type ChainRequest, type WarmRequest } from './reencode-worker.js';
import { spareCoresNow } from '../core/idle-sampler.js';

/** Chains queued on the worker at once (one running, one waiting: it never idles for a reply's round trip). */
const DEPTH = 2;
/** Uncompressed bytes of changed files below which no worker is started. */
export const MIN_WORKER_BYTES = 16 * 1024 * 1024;

/** Workers for re-encoding `workBytes` of changed files: one when a core is free (`spare` >= 1) and the work is large enough. */
export function defaultChainWorkers(workBytes: number, spare: number): number {
  return workBytes >= MIN_WORKER_BYTES && spare >= 1 ? 1 : 0;
}

/** A chain's size: the clusters after the one fetched. */
const work = (c: ChainInput): number => c.extents.length - c.k;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class ChainPool {
  private alive = true;
  /** Chains the worker ran (their results taken). */
  ranInWorker = 0;
  private readonly inFlight = new Set<number>();
  private onReply: ((r: ChainReply) => void) | undefined;
  private onDeath: (() => void) | undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (r: ChainReply) => this.onReply?.(r));
    // An error ends the thread ('exit' follows): its chains go back to the calling thread.
    worker.on('error', () => this.died());
    worker.on('exit', () => this.died());
    worker.unref();
  }

  /**
   * Starts one worker (`url`: another worker script, for tests); undefined when it cannot start. `warm`: its
   * encoder is warmed up first (reencode-worker.ts warmUp), for a pool started before its work is known.
   */
  static start(url: URL = new URL('./reencode-worker.js', import.meta.url), warm = false): ChainPool | undefined {
    try {
      const worker = new Worker(url, { workerData: { mark: REENCODE_WORKER_MARK } });
      if (warm) worker.postMessage({ warm: true } satisfies WarmRequest);
      return new ChainPool(worker);
    } catch {
      return undefined;
    }
  }

  /**
   * A pool started ahead of its chains, its encoder warmed up, when a core is free now (else undefined; never
   * rejects): planning starts it once an old image holds an EROFS, while the new image's walk goes on
   * (sync/nested-plan.ts), so the thread's start and the encoder's first compiles are off the re-encoding's path.
   */
  static async startAhead(url?: URL): Promise<ChainPool | undefined> {
    try {
      return (await spareCoresNow()) >= 1 ? ChainPool.start(url, true) : undefined;
    } catch {
      return undefined;
    }
  }

  private died(): void {
    if (!this.alive) return;
    this.alive = false;
    this.onDeath?.();
  }

  /**
   * Each input's chain, in order: some run here (`local`), some in the worker. They are taken longest first (the
   * most clusters after the one fetched), so that neither thread is left with a long chain while the other waits.
   */
  async run(inputs: readonly ChainInput[], local: (c: ChainInput) => ChainOutput): Promise<ChainOutput[]> {
    const outs: (ChainOutput | undefined)[] = new Array(inputs.length);
    const retry: number[] = [];
    const order = inputs.map((_, i) => i).sort((a, b) => work(inputs[b]!) - work(inputs[a]!) || a - b);
    let next = 0;
    let wake: (() => void) | undefined;
    const feed = (): void => {
      while (this.alive && this.inFlight.size < DEPTH && next < order.length) {
        const i = order[next++]!;
        try {
          this.worker.postMessage({ i, input: inputs[i]! } satisfies ChainRequest);
          this.inFlight.add(i);
        } catch {
          retry.push(i);
        }
      }
    };
    this.onReply = (r) => {
      if (!this.inFlight.delete(r.i)) return;
      if ('out' in r) {
        outs[r.i] = r.out;
        this.ranInWorker++;
      } else retry.push(r.i);
      feed();
      wake?.();
    };
    this.onDeath = () => {
      for (const i of this.inFlight) retry.push(i);
      this.inFlight.clear();
      wake?.();
    };
    // Held while chains are out (an unreferenced worker's replies would not keep the process waiting for them).
    this.worker.ref();
    try {
      feed();
      for (;;) {
        const i = retry.pop() ?? (next < order.length ? order[next++] : undefined);
        if (i !== undefined) {
          outs[i] = local(inputs[i]!);
          await turn();
          feed();
          continue;
        }
        if (this.inFlight.size === 0) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.onReply = undefined;
      this.onDeath = undefined;
      this.worker.unref();
    }
    return outs as ChainOutput[];
  }

  /** Ends the worker and waits until it has. */
  async close(): Promise<void> {
    this.alive = false;
    await this.worker.terminate().catch(() => undefined);
    await this.exited;
  }
}
