/**
 * Start-up bench: how long the quick commands take from exec to exit, beside
 * `node -e 0` (Node's own start-up, the floor every isosync command pays),
 * measured in the same run, interleaved round by round so that load on the
 * machine hits every command alike:
 *
 *   - `isosync --version` (no command module loads at all),
 *   - `isosync info T` and `isosync info T --json` (T: a torrent published
 *     from the committed fixture pair, with delta hints),
 *   - `isosync --help` (every command module loads: the upper bound).
 *
 * Prints the median and the fastest wall time of ISOSYNC_BENCH_STARTUP_ROUNDS
 * rounds (default 15), each as a ratio to `node -e 0`'s, the median CPU time
 * (user + system: what a loaded machine disturbs least) and its ratio, and
 * the peak RSS of every isosync process (/usr/bin/time).
 *
 *   npm run bench -- startup
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { haveTimeTool, measure } from './delta/measure.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'isosync');
const out = (s = '') => process.stdout.write(`${s}\n`);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fastest(xs: readonly number[]): number {
  return xs.reduce((a, b) => Math.min(a, b), Infinity);
}

export async function run(): Promise<void> {
  const rounds = Math.max(3, Number(process.env['ISOSYNC_BENCH_STARTUP_ROUNDS'] ?? 15));
  const dir = mkdtempSync(join(tmpdir(), 'isosync-startup-bench-'));
  const tf = join(dir, 'time.txt');
  try {
    const torrent = join(dir, 'distro-1.01.iso.torrent');
    const rel = join(ROOT, 'fixtures', 'releases');
    await measure(process.execPath, [BIN, 'publish', join(rel, 'distro-1.01.iso'), '--previous', join(rel, 'distro-1.00.iso'), '--product', 'bench', '--release', '1.01', '--home', join(dir, 'home'), '-o', torrent], tf);
    const home = join(dir, 'client-home');
    const cases: { name: string; cmd: string; args: string[]; isosync: boolean }[] = [
      { name: 'node -e 0 (reference)', cmd: process.execPath, args: ['-e', '0'], isosync: false },
      { name: 'isosync --version', cmd: process.execPath, args: [BIN, '--version'], isosync: true },
      { name: 'isosync info T', cmd: process.execPath, args: [BIN, 'info', torrent, '--home', home], isosync: true },
      { name: 'isosync info T --json', cmd: process.execPath, args: [BIN, 'info', torrent, '--json', '--home', home], isosync: true },
      { name: 'isosync --help (every command)', cmd: process.execPath, args: [BIN, '--help'], isosync: true },
    ];
    if (!haveTimeTool()) {
      out('start-up bench skipped: needs /usr/bin/time (apt-get install time)');
      return;
    }
    const secs = cases.map(() => [] as number[]);
    const cpu = cases.map(() => [] as number[]);
    const peak = cases.map(() => 0);
    for (let r = 0; r < rounds; r++) {
      for (const [i, c] of cases.entries()) {
        const t0 = performance.now();
        const run = spawnSync('/usr/bin/time', ['-f', '%U %S %M', '-o', tf, c.cmd, ...c.args], { stdio: 'ignore' });
        secs[i]!.push((performance.now() - t0) / 1000);
        if (run.status !== 0) throw new Error(`${c.name} failed (${run.status ?? run.signal})`);
        const [user, sys, kib] = readFileSync(tf, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
        cpu[i]!.push(user! + sys!);
        peak[i] = Math.max(peak[i]!, kib!);
      }
    }
    const ref = median(secs[0]!);
    const refMin = fastest(secs[0]!);
    const refCpu = median(cpu[0]!);
    out(`start-up, ${rounds} interleaved rounds; ratios against node -e 0 of the same run`);
    out(`${'command'.padEnd(32)} ${'median s'.padStart(9)} ${'x node'.padStart(7)} ${'fastest s'.padStart(10)} ${'x node'.padStart(7)} ${'CPU s'.padStart(7)} ${'x node'.padStart(7)} ${'peak RSS MiB'.padStart(13)}`);
    for (const [i, c] of cases.entries()) {
      const med = median(secs[i]!);
      const min = fastest(secs[i]!);
      out(`${c.name.padEnd(32)} ${med.toFixed(3).padStart(9)} ${(med / ref).toFixed(2).padStart(7)} ${min.toFixed(3).padStart(10)} ${(min / refMin).toFixed(2).padStart(7)} ${median(cpu[i]!).toFixed(3).padStart(7)} ${(median(cpu[i]!) / refCpu).toFixed(2).padStart(7)} ${(peak[i]! / 1024).toFixed(1).padStart(13)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
