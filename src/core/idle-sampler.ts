/**
 * Takes the readings core/idle-cores.ts decides from: /proc/stat and the
 * calling thread's /proc/thread-self/stat, at a start and when asked
 * (SpareCoreWatch), or SAMPLE_MS apart (spareCoresNow). A thin wrapper:
 * where either file cannot be read (not Linux, /proc not mounted), or the
 * readings tell nothing, the answer is the load-average rule.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { parseProcStat, parseThreadStat, spareCores, spareCoresFromLoad, type CpuSample } from './idle-cores.js';

/**
 * Milliseconds between the readings: six jiffies of 10 ms per CPU, enough to tell a busy core from an idle
 * one, short enough to run beside the caller's start-up (the answer is awaited only when a worker is due).
 */
export const SAMPLE_MS = 60;

function reading(): CpuSample | undefined {
  try {
    return sampleOf(readFileSync('/proc/stat', 'utf8'), readFileSync('/proc/thread-self/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

function sampleOf(stat: string, thread: string): CpuSample | undefined {
  const machine = parseProcStat(stat);
  const own = parseThreadStat(thread);
  return machine && own !== undefined ? { machine, own } : undefined;
}

/**
 * The reading bin/isosync takes as its first step for `publish` (the texts
 * of /proc/stat and /proc/thread-self/stat, and performance.now() then),
 * before it loads the command: the first spareCoresNow() of the run takes it
 * as its first reading, so the wait between the two readings is spent on
 * loading the CLI instead of added after it (publish's hashing worker starts
 * that much sooner).
 */
export const EARLY_READING = Symbol.for('isosync.earlyIdleReading');

interface EarlyReading {
  readonly at: number;
  readonly stat: string;
  readonly thread: string;
}

/** Readings older than this are not used: the answer is for now. */
const EARLY_MAX_AGE_MS = 1000;

/** The early reading and when it was taken (once per run: it is removed), or undefined. */
function takeEarly(): { sample: CpuSample; at: number } | undefined {
  const g = globalThis as { [EARLY_READING]?: unknown };
  const early = g[EARLY_READING];
  delete g[EARLY_READING];
  return usableEarly(early, performance.now());
}

/** `early` (what bin/isosync left) as a first reading at time `now`: undefined unless it parses and is at most EARLY_MAX_AGE_MS old. */
export function usableEarly(early: unknown, now: number): { sample: CpuSample; at: number } | undefined {
  const e = early as Partial<EarlyReading> | undefined;
  if (!e || typeof e.at !== 'number' || typeof e.stat !== 'string' || typeof e.thread !== 'string') return undefined;
  if (!(now - e.at >= 0 && now - e.at <= EARLY_MAX_AGE_MS)) return undefined;
  const sample = sampleOf(e.stat, e.thread);
  return sample ? { sample, at: e.at } : undefined;
}

const byLoad = (): number => spareCoresFromLoad(availableParallelism(), loadavg()[0]!);

/**
 * A sample that keeps going: spare() answers over the whole span since the watch started, so a caller that
 * has work to do meanwhile can ask as late as it may still decide. A longer span also reads the coarse jiffies
 * finer: over 60 ms a CPU counts six 10 ms ticks, and two ticks of anyone else's (a web server's reply, a flush
 * of dirty pages) already made a core "busy" (FREE_SHARE). Ask from the thread that made it (its own CPU time is
 * set apart).
 */
export class SpareCoreWatch {
  private readonly first: CpuSample | undefined;
  private readonly startedMs: number;

  constructor(
    private readonly read: () => CpuSample | undefined = reading,
    private readonly clock: () => number = Date.now,
    private readonly fallback: () => number = byLoad,
  ) {
    this.first = read();
    this.startedMs = clock();
  }

  /** Whether the start was read (else spare() is the load-average rule at once). */
  get sampling(): boolean {
    return this.first !== undefined;
  }

  /** Milliseconds since the watch started. */
  get elapsedMs(): number {
    return this.clock() - this.startedMs;
  }

  /** Cores free beyond the calling thread's over the span so far (idle-cores.ts spareCores); the load-average rule when the readings tell nothing. */
  spare(): number {
    const after = this.first && this.read();
    // Never more than this process may run on (an affinity mask, a container's CPU set).
    const spare = after ? spareCores(this.first!, after) : undefined;
    return spare === undefined ? this.fallback() : Math.min(spare, Math.max(0, availableParallelism() - 1));
  }
}

/** Cores free now beyond the calling thread's: from a SAMPLE_MS sample of /proc/stat (begun early when bin/isosync took EARLY_READING), else from the load average. */
export async function spareCoresNow(ms = SAMPLE_MS): Promise<number> {
  const early = takeEarly();
  const before = early?.sample ?? reading();
  if (!before) return byLoad();
  const wait = early ? ms - (performance.now() - early.at) : ms;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const after = reading();
  // Never more than this process may run on (an affinity mask, a container's CPU set).
  const spare = after ? spareCores(before, after) : undefined;
  return spare === undefined ? byLoad() : Math.min(spare, Math.max(0, availableParallelism() - 1));
}
