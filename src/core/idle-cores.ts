/**
 * "Is a core free now?", decided from two readings of the machine's CPU time
 * a moment apart (core/idle-sampler.ts takes them ~60 ms apart), for the
 * places that start a worker thread only where it would not take turns with
 * other work on the same cores: the verifying writer of a sync
 * (store/verified-writes.ts), re-encoding's chain worker
 * (delta/reencode-pool.ts) and publish's hashing pool (torrent/piece-pool.ts).
 *
 * The 1-minute load average those places read before lags by minutes (a
 * machine that just got busy still looks idle, one that just got quiet still
 * looks busy) and counts every runnable thread on the machine, this process's
 * own among them. Here a reading is the machine's aggregate `cpu` line of
 * /proc/stat (proc(5): jiffies of user, nice, system, idle, iowait, irq,
 * softirq, steal; guest time is inside user) and the calling thread's own
 * CPU time (/proc/thread-self/stat, fields 14-15, utime and stime): the
 * cores busy with anything but the caller are the machine's busy time less
 * the caller's, over the span. The caller's thread needs a core of its own;
 * every other core counts as spare when at least FREE_SHARE of it was idle.
 *
 * Pure: parsing and the decision take text and numbers (a table test feeds
 * them samples); reading the files and waiting is the sampler's job.
 */

/** The share of a core that must have been idle for it to count as free (3/4: ticks of 10 ms over ~60 ms are coarse). */
export const FREE_SHARE = 0.75;

/** The machine's CPU time at one moment, in jiffies (USER_HZ) summed over every CPU. */
export interface MachineTimes {
  /** idle + iowait: time no thread wanted the CPU. */
  readonly idle: number;
  /** user + nice + system + idle + iowait + irq + softirq + steal. */
  readonly total: number;
  /** CPUs the reading counts (its cpuN lines). */
  readonly cpus: number;
}

/** One reading: the machine's times and the calling thread's own CPU time (jiffies). */
export interface CpuSample {
  readonly machine: MachineTimes;
  readonly own: number;
}

/** The aggregate times of /proc/stat's text, or undefined when it has no usable `cpu` line. */
export function parseProcStat(text: string): MachineTimes | undefined {
  const lines = text.split('\n');
  const agg = lines.find((l) => /^cpu\s/.test(l));
  if (!agg) return undefined;
  const f = agg.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 4 || f.some((x) => !Number.isFinite(x) || x < 0)) return undefined;
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3]! + (f[4] ?? 0);
  const cpus = lines.filter((l) => /^cpu\d+\s/.test(l)).length;
  return cpus > 0 ? { idle, total, cpus } : undefined;
}

/** utime + stime (jiffies) of a /proc/<pid>/task/<tid>/stat text, or undefined when it does not parse. */
export function parseThreadStat(text: string): number | undefined {
  // The command name (field 2) is in parentheses and may hold spaces or ')': fields are counted after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 2).trim().split(/\s+/);
  // f[0] is field 3 (state): utime is field 14, stime field 15.
  const user = Number(f[11]);
  const system = Number(f[12]);
  return Number.isFinite(user) && Number.isFinite(system) && user >= 0 && system >= 0 ? user + system : undefined;
}

/**
 * Cores free beyond the calling thread's own between two samples: 0 means a worker would share a core with
 * something; undefined when the samples tell nothing (no time passed, counters went back, CPUs changed).
 */
export function spareCores(before: CpuSample, after: CpuSample): number | undefined {
  const cpus = after.machine.cpus;
  const total = after.machine.total - before.machine.total;
  const idle = after.machine.idle - before.machine.idle;
  const own = Math.max(0, after.own - before.own);
  if (cpus !== before.machine.cpus || total <= 0 || idle < 0 || idle > total) return undefined;
  const span = total / cpus; // jiffies that passed, per CPU
  const othersBusy = Math.max(0, total - idle - own) / span;
  return spareOf(cpus - othersBusy, cpus);
}

/**
 * The rule these places followed before, from a load average, where there is no /proc/stat (macOS,
 * Windows): a worker per whole core the 1-minute load leaves, the caller's core not set apart.
 */
export function spareCoresFromLoad(cores: number, load: number): number {
  return Math.max(0, Math.min(cores - 1, Math.floor(cores - load)));
}

/** Whole cores beyond the caller's out of `free` cores' worth of time not taken by others, on `cores` cores. */
function spareOf(free: number, cores: number): number {
  return Math.max(0, Math.min(cores - 1, Math.floor(free - 1 + (1 - FREE_SHARE))));
}
