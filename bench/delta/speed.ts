/**
 * The speed of a stock-torrent upgrade (mktorrent's torrent, the old image
 * given with --from, nginx as the web seed), in rounds that alternate with
 * its references, all in the same run:
 *
 *   - zsync -i (the old image through its rolling checksum, then the new file written),
 *   - `cp` of the target image (what writing it costs, warm cache) and
 *     `sha1sum` of it (what hashing every piece costs, one core): together a
 *     floor no client that reads, hashes and writes the image goes under,
 *   - optionally an older isosync build (ISOSYNC_BENCH_DELTA_BEFORE=DIR, a
 *     built worktree), for before/after figures of the same rounds,
 *
 * then one more isosync run under `node --cpu-prof`, whose main thread is
 * broken down into phases and buckets (profile.ts). Medians of the rounds,
 * wall and CPU seconds, each as a ratio to zsync's; the load average is
 * printed, as the machine may be shared.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { measure, type Measured } from './measure.js';
import type { Nginx } from './nginx.js';
import { sha256 } from './host.js';
import { breakdown, formatBreakdown, launcherOf, readProfile } from './profile.js';

export interface SpeedSetup {
  work: string;
  nginx: Nginx;
  /** The isosync executable (bin/isosync of this build). */
  bin: string;
  /** The old image (--from), the target image, its stock torrent and .zsync control file's URL. */
  old: string;
  cur: string;
  stockTorrent: string;
  webSeed: string;
  zsyncUrl: string;
  rounds: number;
  /** bin/isosync of an older build, measured in the same rounds. */
  beforeBin?: string | undefined;
}

interface Series {
  name: string;
  runs: Measured[];
  /** A client whose output is checked against the target. */
  checked: boolean;
  failures: number;
}

const out = (s = '') => process.stdout.write(`${s}\n`);
const median = (xs: number[]) => {
  const s = [...xs].filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Preloaded into the profiled run: writes the main thread's CPU seconds (its own /proc task entry, user +
 * system) at exit. The profile's samples are wall-clock (a thread that lost its core is sampled where it
 * lost it), so their sum is no CPU figure under load; the buckets are also printed scaled to this one.
 */
export const MAIN_THREAD_CPU_HOOK = `const fs = require('fs');
process.on('exit', () => {
  const s = fs.readFileSync('/proc/self/task/' + process.pid + '/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  fs.writeFileSync(process.env.ISOSYNC_BENCH_CPU_OUT, String((Number(f[11]) + Number(f[12])) / 100));
});
`;

export async function measureSpeed(s: SpeedSetup): Promise<void> {
  const tf = join(s.work, 'speed-time.txt');
  const want = await sha256(s.cur);
  const outIso = join(s.work, 'speed-out.iso');
  const args = (home: string) => ['sync', s.stockTorrent, '--from', s.old, '--web-seed', s.webSeed, '--home', home, '-o', outIso, '--json', '--no-catalog'];
  // Run as users run it (bin/isosync's shebang sets V8 flags that `node bin/isosync` would not).
  const sync = (bin: string, home: string) => measure(bin, args(home), tf);
  const clients: { series: Series; run: (round: number) => Promise<Measured> }[] = [];
  const add = (name: string, checked: boolean, run: (round: number) => Promise<Measured>) => clients.push({ series: { name, runs: [], checked, failures: 0 }, run });
  add('isosync, stock torrent', true, (r) => sync(s.bin, join(s.work, `speed-home-${r}`)));
  if (s.beforeBin) add('isosync before, stock torrent', true, (r) => sync(s.beforeBin!, join(s.work, `speed-home-b${r}`)));
  add('zsync -i', true, () => measure('zsync', ['-q', '-i', s.old, '-o', outIso, s.zsyncUrl], tf, s.work));
  add('cp target (write floor)', true, () => measure('cp', [s.cur, outIso], tf));
  add('sha1sum target (hash floor)', false, () => measure('sha1sum', [s.cur], tf));
  const loads: number[] = [];
  for (let r = 0; r < s.rounds; r++) {
    // Alternate the order each round, so no client always runs right after another's writes.
    const order = r % 2 === 0 ? clients : [...clients].reverse();
    for (const c of order) {
      loads.push(loadavg()[0]!);
      try {
        const m = await c.run(r);
        if (c.series.checked && (await sha256(outIso)) !== want) c.series.failures++;
        c.series.runs.push(m);
      } catch (e) {
        c.series.failures++;
        out(`  ${c.series.name}: failed: ${(e as Error).message.split('\n')[0]!.slice(0, 300)}`);
      }
      rmSync(outIso, { force: true });
      rmSync(`${outIso}.zs-old`, { force: true });
    }
  }
  const z = clients.find((c) => c.series.name.startsWith('zsync'))!.series;
  const zWall = median(z.runs.map((m) => m.seconds));
  const zCpu = median(z.runs.map((m) => m.cpuSeconds));
  out();
  out(`stock-torrent upgrade speed: ${s.rounds} alternating rounds, medians; load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} (2 cores shared: wall times are noisy, CPU seconds less so)`);
  const head = ['client', 'wall s', 'x zsync wall', 'CPU s', 'x zsync CPU', 'peak RSS MiB', 'output'];
  const widths = [32, 8, 12, 8, 11, 12, 10];
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ');
  out(line(head));
  for (const { series } of clients) {
    const wall = median(series.runs.map((m) => m.seconds));
    const cpu = median(series.runs.map((m) => m.cpuSeconds));
    const rss = Math.max(...series.runs.map((m) => m.peakKiB)) / 1024;
    const verdict = !series.checked ? '-' : series.failures ? `${series.failures} BAD` : 'sha256 ok';
    out(line([series.name, wall.toFixed(2), (wall / zWall).toFixed(3), cpu.toFixed(2), (cpu / zCpu).toFixed(3), rss.toFixed(1), verdict]));
  }
  out(`  wall seconds per round: ${clients.map(({ series }) => `${series.name.split(',')[0]}${series.name.includes('before') ? ' before' : ''} ${series.runs.map((m) => m.seconds.toFixed(2)).join('/')}`).join('; ')}`);

  // One more run under the profiler (not timed with the others: profiling costs a little), after one that is not
  // broken down: bin/code-cache.cjs keys its V8 code cache by node's flags, and these (the hook's and the profile's
  // paths) are new, so the first such run compiles everything and writes its cache (~0.3-0.6 s of "start-up" and
  // exit in a profile under load) where the timed runs had theirs.
  const profDir = mkdtempSync(join(s.work, 'prof-'));
  try {
    const { flags, env } = launcherOf(readFileSync(s.bin, 'utf8'));
    const hook = join(profDir, 'main-thread-cpu.cjs');
    const cpuOut = join(profDir, 'main-thread-cpu.txt');
    writeFileSync(hook, MAIN_THREAD_CPU_HOOK);
    const profiled = (home: string) => measure(process.execPath, [...flags, '-r', hook, '--cpu-prof', `--cpu-prof-dir=${profDir}`, s.bin, ...args(join(s.work, home))], tf, undefined, { ...env, ISOSYNC_BENCH_CPU_OUT: cpuOut });
    await profiled('speed-home-warm');
    rmSync(outIso, { force: true });
    for (const f of readdirSync(profDir)) if (f.endsWith('.cpuprofile')) rmSync(join(profDir, f));
    const m = await profiled('speed-home-prof');
    const profile = readProfile(profDir);
    // A worker thread in a stock sync is the verifying worker (store/verified-writes.ts): without it, SHA-1 runs on the main thread.
    out(`  where isosync's stock sync goes (one run under --cpu-prof, main thread, seconds; ${profile.workers} worker thread${profile.workers === 1 ? '' : 's'}):`);
    const mainCpu = Number(readFileSync(cpuOut, 'utf8'));
    for (const l of formatBreakdown(breakdown(profile), { mainCpu, processCpu: m.cpuSeconds })) out(`    ${l}`);
    // ISOSYNC_BENCH_DELTA_KEEP_PROFILE=DIR keeps the profile, to open in a viewer or aggregate by function.
    const keep = process.env['ISOSYNC_BENCH_DELTA_KEEP_PROFILE'];
    if (keep) cpSync(profDir, keep, { recursive: true });
  } catch (e) {
    out(`  profile: failed: ${(e as Error).message.split('\n')[0]!.slice(0, 300)}`);
  } finally {
    rmSync(profDir, { recursive: true, force: true });
    rmSync(outIso, { force: true });
  }
  if (clients.some(({ series }) => series.failures > 0)) process.exitCode = 1;
}
