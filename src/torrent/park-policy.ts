/**
 * Whether bin/isosync parks a piece hashing worker for `publish` before it
 * loads the command (hash-worker.ts PARKED_WORKER, piece-pool.ts adopts it):
 * two threads hash the image, as `mktorrent -t 2` does, when the machine has
 * a second core, the image is large enough for the worker's start to pay,
 * and a core is free now.
 *
 * "Now" is read from the run queue, not from the 1-minute load average the
 * rule used before: that lags by minutes and counts whatever ran just before
 * (a bench's own mktorrent -t 2 left it at ~1.6 on 2 cores, so no worker ever
 * started there). /proc/loadavg's fourth field, "R/T", gives R, the threads
 * runnable at the moment it is read, this one among them (proc(5)).
 * bin/isosync reads it a few times over its first milliseconds; a core is
 * free when, on average, the other runnable threads leave one beyond the
 * caller's (rounded: a lone blip in one of three readings does not count).
 * /proc/stat's jiffies (10 ms) tell nothing over so short a span, and the
 * ~60 ms sample of core/idle-sampler.ts comes too late to hide the worker's
 * start behind the command's load; the pool still takes that sample and may
 * add workers on more cores (piece-pool.ts).
 *
 * Without /proc/loadavg (not Linux) the load-average rule decides, as before
 * (core/idle-cores.ts spareCoresFromLoad).
 *
 * Pure: the caller reads the files and the image's size.
 */

/**
 * Images below this hash on the calling thread alone: at ~1.3 GB/s per core
 * 32 MiB is ~25 ms of SHA-1, about what a worker takes to boot (~30-50 ms
 * wall, ~0.1 CPU s), so a smaller image ends before a worker would help.
 */
export const PARK_MIN_BYTES = 32 * 1024 * 1024;

export interface ParkInput {
  /** Cores this process may run on (os.availableParallelism()). */
  readonly cores: number;
  /** The image's size; undefined when it cannot be read (then no worker: publish will report why). */
  readonly imageBytes: number | undefined;
  /** R of /proc/loadavg at each reading (the reading thread counts itself); empty when the file could not be read. */
  readonly runnable: readonly number[];
  /** The 1-minute load average (the rule where there is no run queue reading). */
  readonly load1: number;
}

/** R, the threads runnable now, of /proc/loadavg's text ("0.52 0.58 0.59 3/467 12345"); undefined when it does not parse. */
export function runnableOf(text: string): number | undefined {
  const m = /^\S+\s+\S+\s+\S+\s+(\d+)\/\d+\s/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Workers to park (0 or 1): see the module comment. */
export function parkedWorkers({ cores, imageBytes, runnable, load1 }: ParkInput): number {
  if (!(cores >= 2) || imageBytes === undefined || !(imageBytes >= PARK_MIN_BYTES)) return 0;
  if (runnable.length === 0) return Math.min(cores - 1, Math.floor(cores - load1)) >= 1 ? 1 : 0;
  const others = runnable.reduce((a, r) => a + Math.max(0, r - 1), 0) / runnable.length;
  // Cores left beyond the caller's by the others' average, rounded to the nearest whole core.
  return Math.round(cores - 1 - others) >= 1 ? 1 : 0;
}
