/**
 * Start-up bench: how long the quick commands take from exec to exit, beside
 * `node -e 0` (Node's own start-up, the floor every isosync command pays),
 * measured in the same run, interleaved round by round so that load on the
 * machine hits every command alike:
 *
 *   - `isosync --version` (no command module loads at all),
 *   - `isosync info T` and `isosync info T --json` (T: a torrent published
 *     from the committed fixture pair, with delta hints),
 *   - `isosync --help` (every command module loads: the upper bound),
 *   - `isosync plan T --home EMPTY` (a long command's start: the CLI and the
 *     plan, nothing to read; with the code cache of bin/code-cache.cjs made by
 *     a run before the rounds, in a cache folder of the bench's own),
 *   - `isosync ls ISO` beside `isoinfo -l -R -i ISO` (ISO: the committed
 *     fixture, or ISOSYNC_BENCH_STARTUP_ISO, e.g. an image of 50,000 files),
 *   - loading the swarm (`import()` of swarm/sync-peers: what a sync with
 *     peers adds), from tsc's modules (dist/src) and from the bundle's chunk
 *     that holds it (dist/bundle, what bin/isosync runs; scripts/bundle.js).
 *
 * Every isosync case runs bin/isosync itself, as the `isosync` command runs
 * (its first lines: the V8 flags, the allocator's settings, NODE_EXTRA_CA_CERTS
 * moved aside), not `node bin/isosync`.
 *
 * With ISOSYNC_BENCH_STARTUP_BEFORE=DIR (a built checkout of another commit),
 * every isosync case also runs that build's bin/isosync in the same rounds:
 * before and after in one run.
 *
 * Prints the median and the fastest wall time of ISOSYNC_BENCH_STARTUP_ROUNDS
 * rounds (default 15), each as a ratio to `node -e 0`'s, the median CPU time
 * (user + system: what a loaded machine disturbs least) and its ratio, and
 * the peak RSS (/usr/bin/time). The order of the cases turns over every
 * round, so a load that rises or falls through a round weighs on all alike.
 *
 *   npm run bench -- startup
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

interface Case {
  name: string;
  cmd: string;
  args: string[];
}

/** The output file of the bundle that holds `src` (from the metafile scripts/bundle.js writes). */
function bundleChunkOf(src: string): string | undefined {
  const metaPath = join(ROOT, 'dist', 'bundle-meta.json');
  if (!existsSync(metaPath)) return undefined;
  const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const hit = Object.entries(meta.outputs).find(([, o]) => src in o.inputs);
  return hit ? join(ROOT, hit[0]) : undefined;
}

/** `node` importing one module (ESM), as a case. */
function importCase(name: string, file: string): Case {
  return { name, cmd: process.execPath, args: ['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(file).href)})`] };
}

export async function run(): Promise<void> {
  const rounds = Math.max(3, Number(process.env['ISOSYNC_BENCH_STARTUP_ROUNDS'] ?? 15));
  const before = process.env['ISOSYNC_BENCH_STARTUP_BEFORE'];
  const iso = process.env['ISOSYNC_BENCH_STARTUP_ISO'] ?? join(ROOT, 'fixtures', 'releases', 'distro-1.00.iso');
  if (!haveTimeTool()) {
    out('start-up bench skipped: needs /usr/bin/time (apt-get install time)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'isosync-startup-bench-'));
  const tf = join(dir, 'time.txt');
  try {
    const torrent = join(dir, 'distro-1.01.iso.torrent');
    const rel = join(ROOT, 'fixtures', 'releases');
    await measure(process.execPath, [BIN, 'publish', join(rel, 'distro-1.01.iso'), '--previous', join(rel, 'distro-1.00.iso'), '--product', 'bench', '--release', '1.01', '--home', join(dir, 'home'), '-o', torrent], tf);
    const home = join(dir, 'client-home');
    const builds: [string, string][] = [['', BIN]];
    if (before) builds.push([' (before)', join(before, 'bin', 'isosync')]);
    const cases: Case[] = [{ name: 'node -e 0 (reference)', cmd: process.execPath, args: ['-e', '0'] }];
    const isoinfo = existsSync('/usr/bin/isoinfo');
    if (isoinfo) cases.push({ name: 'isoinfo -l -R ISO', cmd: '/usr/bin/isoinfo', args: ['-l', '-R', '-i', iso] });
    for (const [tag, bin] of builds) {
      cases.push(
        { name: `isosync --version${tag}`, cmd: bin, args: ['--version'] },
        { name: `isosync info T${tag}`, cmd: bin, args: ['info', torrent, '--home', home] },
        { name: `isosync info T --json${tag}`, cmd: bin, args: ['info', torrent, '--json', '--home', home] },
        { name: `isosync --help${tag}`, cmd: bin, args: ['--help'] },
        { name: `isosync ls ISO${tag}`, cmd: bin, args: ['ls', iso] },
        { name: `isosync plan T${tag}`, cmd: bin, args: ['plan', torrent, '--home', home] },
      );
    }
    cases.push(importCase('import swarm/sync-peers (tsc)', join(ROOT, 'dist', 'src', 'swarm', 'sync-peers.js')));
    const chunk = bundleChunkOf('dist/src/swarm/sync-peers.js');
    if (chunk) cases.push(importCase('import swarm/sync-peers (bundle)', chunk));
    // Every run shares this cache folder; one run of each first makes its code cache.
    process.env['XDG_CACHE_HOME'] = join(dir, 'cache');
    for (const c of cases.filter((k) => k.name.startsWith('isosync plan'))) spawnSync(c.cmd, c.args, { stdio: 'ignore' });
    const secs = cases.map(() => [] as number[]);
    const cpu = cases.map(() => [] as number[]);
    const peak = cases.map(() => 0);
    for (let r = 0; r < rounds; r++) {
      const order = [...cases.keys()];
      if (r % 2) order.reverse();
      for (const i of order) {
        const c = cases[i]!;
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
    out(`start-up, ${rounds} interleaved rounds; ratios against node -e 0 of the same run; ISO ${iso}`);
    out(`${'command'.padEnd(36)} ${'median s'.padStart(9)} ${'x node'.padStart(7)} ${'fastest s'.padStart(10)} ${'x node'.padStart(7)} ${'CPU s'.padStart(7)} ${'x node'.padStart(7)} ${'peak RSS MiB'.padStart(13)}`);
    for (const [i, c] of cases.entries()) {
      const med = median(secs[i]!);
      const min = fastest(secs[i]!);
      out(`${c.name.padEnd(36)} ${med.toFixed(3).padStart(9)} ${(med / ref).toFixed(2).padStart(7)} ${min.toFixed(3).padStart(10)} ${(min / refMin).toFixed(2).padStart(7)} ${median(cpu[i]!).toFixed(3).padStart(7)} ${(median(cpu[i]!) / refCpu).toFixed(2).padStart(7)} ${(peak[i]! / 1024).toFixed(1).padStart(13)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
