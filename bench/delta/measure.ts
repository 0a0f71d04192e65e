/**
 * Runs one command for a bench and measures it: wall time (around the whole
 * child), and peak RSS from `/usr/bin/time -f %M` (wait4's ru_maxrss: the
 * largest resident set of the process or any child it waited for). Without
 * /usr/bin/time, peak RSS comes from polling /proc/PID/status VmHWM.
 *
 * The child runs in its own process group, so that killCurrent() (for a
 * signal handler) ends it together with what it started (/usr/bin/time's
 * command, zsync's helpers) by that group's id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const TIME = '/usr/bin/time';
/** How often VmHWM is read when /usr/bin/time is missing. */
const POLL_MS = 20;

export interface Measured {
  seconds: number;
  peakKiB: number;
  /** User + system CPU seconds of the child and what it waited for (NaN without /usr/bin/time). */
  cpuSeconds: number;
  stdout: string;
  stderr: string;
}

let running: ChildProcess | undefined;

/** Ends the child being measured right now, if any, and its process group. */
export function killCurrent(): void {
  const pid = running?.pid;
  if (pid === undefined || running?.exitCode !== null) return;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
}

export const haveTimeTool = (): boolean => existsSync(TIME);

/** Peak resident set of a running process (VmHWM), in KiB; 0 once it is gone. */
export function vmHwmKiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a running process has used so far, from /proc/PID/stat; NaN if unreadable. */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ, 100 on Linux)
  } catch {
    return NaN;
  }
}

/** Runs CMD ARGS; throws with its stderr when it fails. `timeFile` is a scratch path for /usr/bin/time's output. */
export async function measure(cmd: string, args: readonly string[], timeFile: string, cwd?: string, env?: NodeJS.ProcessEnv): Promise<Measured> {
  const useTime = haveTimeTool();
  const argv = useTime ? ['-f', '%U %S %e %M', '-o', timeFile, cmd, ...args] : [...args];
  const t0 = performance.now();
  const child = spawn(useTime ? TIME : cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(cwd ? { cwd } : {}), ...(env ? { env: { ...process.env, ...env } } : {}) });
  running = child;
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let polled = 0;
  const poll = useTime ? undefined : setInterval(() => (polled = Math.max(polled, vmHwmKiB(child.pid!))), POLL_MS);
  const code = await new Promise<number | string>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, sig) => resolve(c ?? sig ?? 'unknown'));
  }).finally(() => {
    running = undefined;
    if (poll) clearInterval(poll);
  });
  const seconds = (performance.now() - t0) / 1000;
  let peakKiB = polled;
  let cpu = NaN;
  if (useTime) {
    const text = existsSync(timeFile) ? readFileSync(timeFile, 'utf8') : '';
    rmSync(timeFile, { force: true });
    const m = /(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)\s*$/.exec(text);
    if (code === 0 && !m) throw new Error(`no figures from /usr/bin/time for ${cmd}: ${JSON.stringify(text)}`);
    if (m) {
      peakKiB = Number(m[4]);
      cpu = Number(m[1]) + Number(m[2]);
    }
  }
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${code}): ${stderr.trim().slice(-800)}`);
  return { seconds, peakKiB, cpuSeconds: cpu, stdout, stderr };
}
