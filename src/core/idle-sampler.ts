/**
 * Takes the two readings core/idle-cores.ts decides from: /proc/stat and the
 * calling thread's /proc/thread-self/stat, SAMPLE_MS apart. A thin wrapper:
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
    const machine = parseProcStat(readFileSync('/proc/stat', 'utf8'));
    const own = parseThreadStat(readFileSync('/proc/thread-self/stat', 'utf8'));
    return machine && own !== undefined ? { machine, own } : undefined;
  } catch {
    return undefined;
  }
}

const byLoad = (): number => spareCoresFromLoad(availableParallelism(), loadavg()[0]!);

/** Cores free now beyond the calling thread's: from a SAMPLE_MS sample of /proc/stat, else from the load average. */
export async function spareCoresNow(ms = SAMPLE_MS): Promise<number> {
  const before = reading();
  if (!before) return byLoad();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = reading();
  // Never more than this process may run on (an affinity mask, a container's CPU set).
  const spare = after ? spareCores(before, after) : undefined;
  return spare === undefined ? byLoad() : Math.min(spare, Math.max(0, availableParallelism() - 1));
}
