/**
 * LIVE_PROFILE=1 (or a folder, where the profiles are kept) for `npm run bench -- live`: after the
 * variant's rows, its stock sync and stock plan again, each under `node --cpu-prof` with the flags and
 * environment bin/isosync gives node (delta/profile.ts launcherOf), after one run that is not broken down
 * (bin/code-cache.cjs keys its code cache by node's flags: the first profiled run compiles everything).
 * Printed: the main thread's phases and buckets (delta/profile.ts), scaled to its CPU seconds, and each
 * worker thread's busy seconds (samples that are not idle).
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { breakdown, formatBreakdown, launcherOf, mainThreadProfile, readProfile, type CpuProfile } from './delta/profile.js';
import { measure } from './delta/measure.js';
import { MAIN_THREAD_CPU_HOOK } from './delta/speed.js';

export interface ProfiledRun {
  name: string;
  /** bin/isosync's arguments, given a fresh --home folder. */
  args: (home: string) => string[];
  /** Removed after each run (the sync's output). */
  output?: string;
}

const out = (s = '') => process.stdout.write(`${s}\n`);

/** Seconds of a profile's samples that are not idle (a worker thread's own work). */
function busySeconds(p: CpuProfile): number {
  const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)' || n.callFrame.functionName === '(program)').map((n) => n.id));
  return p.samples.reduce((s, id, i) => (idle.has(id) ? s : s + (p.timeDeltas[i] ?? 0)), 0) / 1e6;
}

export async function profileRuns(work: string, bin: string, runs: readonly ProfiledRun[], keep?: string): Promise<void> {
  const { flags, env } = launcherOf(readFileSync(bin, 'utf8'));
  for (const r of runs) {
    const dir = mkdtempSync(join(work, 'prof-'));
    try {
      const hook = join(dir, 'main-thread-cpu.cjs');
      const cpuOut = join(dir, 'main-thread-cpu.txt');
      writeFileSync(hook, MAIN_THREAD_CPU_HOOK);
      const run = (home: string) => measure(process.execPath, [...flags, '-r', hook, '--cpu-prof', `--cpu-prof-dir=${dir}`, bin, ...r.args(join(dir, home))], join(dir, 'time.txt'), work, { ...env, ISOSYNC_BENCH_CPU_OUT: cpuOut });
      await run('warm');
      if (r.output) rmSync(r.output, { force: true });
      for (const f of readdirSync(dir)) if (f.endsWith('.cpuprofile')) rmSync(join(dir, f));
      const m = await run('home');
      if (r.output) rmSync(r.output, { force: true });
      const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
      const main = readProfile(dir);
      const workers = files.filter((f) => f !== mainThreadProfile(files)).map((f) => busySeconds(JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile));
      out(`  ${r.name} under --cpu-prof: ${m.seconds.toFixed(2)} s wall, ${m.cpuSeconds.toFixed(2)} s CPU; worker threads busy: ${workers.length ? workers.map((s) => s.toFixed(2)).join(', ') : 'none'} s`);
      for (const l of formatBreakdown(breakdown(main), { mainCpu: Number(readFileSync(cpuOut, 'utf8')), processCpu: m.cpuSeconds })) out(`    ${l}`);
      if (keep) cpSync(dir, join(keep, r.name.replace(/\W+/g, '-')), { recursive: true });
    } catch (e) {
      out(`  ${r.name} under --cpu-prof: failed: ${(e as Error).message.split('\n')[0]!.slice(0, 300)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
