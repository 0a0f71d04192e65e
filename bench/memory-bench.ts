/**
 * `npm run bench -- memory`: peak RSS of every isosync command the memory
 * goal names (publish, plan, sync, seed, and the sync that leeches from that
 * seed) on a large release pair and on an image of 1,000,000 files, beside
 * `node -e 0` and `isosync --version` measured in the same run. Peak RSS is
 * /usr/bin/time's %M (wait4's ru_maxrss); the column "x node" is the ratio
 * to `node -e 0`, and "over node" the MiB above it (what isosync itself adds
 * to an empty Node process).
 *
 * Images:
 *   - the large pair: bench/make-large-image.sh (ISOSYNC_BENCH_MEMORY_FILES
 *     packages, default 50,000, ISOSYNC_BENCH_MEMORY_MB MiB of payload,
 *     default 300), or an existing folder holding distro-large-1.00.iso and
 *     distro-large-1.01.iso given as ISOSYNC_BENCH_MEMORY_PAIR;
 *   - the many-files image: ISOSYNC_BENCH_MILLION_FILES empty files (default
 *     1,000,000; 0 skips it) in directories of 1,000, made by xorriso as in
 *     million-files-bench, or an existing image given as
 *     ISOSYNC_BENCH_MEMORY_MILLION_IMAGE. Its sync rebuilds it from itself
 *     (every file reused), so both images' trees are walked.
 *
 * ISOSYNC_BENCH_MEMORY_BEFORE=<worktree>: that build's bin/isosync runs every
 * step too, alternating with this one step by step (same images, same load),
 * in rows marked "(before)".
 *
 * The plan and the syncs fetch from a throwaway nginx on 127.0.0.1 (the web
 * seed); the leecher fetches only from the isosync seed. Every output image is
 * checked (size, and isosync verified every piece). The page cache is warm.
 *
 * isosync runs as a user runs it: bin/isosync itself, so the V8 flags of its
 * shebang apply (the other benches run `node bin/isosync`, without them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, hasTool, tempDir } from '../test/helpers/env.js';
import { measure, vmHwmKiB, haveTimeTool, type Measured } from './delta/measure.js';
import { Nginx } from './delta/nginx.js';

const MIB = 1024 * 1024;
const PACKAGES = Number(process.env['ISOSYNC_BENCH_MEMORY_FILES'] ?? 50_000);
const PAYLOAD_MIB = Number(process.env['ISOSYNC_BENCH_MEMORY_MB'] ?? 300);
const MILLION = Number(process.env['ISOSYNC_BENCH_MILLION_FILES'] ?? 1_000_000);
const PER_DIR = 1000;
/** The memory goal: peak RSS of each of these commands. */
const GOAL_MIB = 64;
/** A build to compare with, run step by step beside this one. */
const BEFORE = process.env['ISOSYNC_BENCH_MEMORY_BEFORE'];
/** How long a seed may take to verify its image and start listening. */
const SEED_START_MS = 600_000;
const STOP_GRACE_MS = 10_000;

const out = (s: string) => process.stdout.write(`${s}\n`);

interface Row {
  image: string;
  command: string;
  seconds: number;
  peakKiB: number;
}

/** Keeps a row for the table and prints it at once (a step on a million files can take minutes). */
function record(rows: Row[], r: Row): void {
  rows.push(r);
  out(`  ${r.image}: ${r.command}: ${r.seconds.toFixed(1)} s, peak ${(r.peakKiB / 1024).toFixed(1)} MiB`);
}

/** A long-running command (a seed) under /usr/bin/time in its own process group. */
interface Running {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  exited: Promise<number | string>;
  peakKiB: () => number;
  t0: number;
}

function startLong(cmd: string, args: string[], timeFile: string): Running {
  const useTime = haveTimeTool();
  const child = useTime
    ? spawn('/usr/bin/time', ['-f', '%e %M', '-o', timeFile, cmd, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  let err = '';
  let polled = 0;
  const poll = useTime ? undefined : setInterval(() => (polled = Math.max(polled, vmHwmKiB(child.pid!))), 20);
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (e) => resolve(String(e)));
    child.once('close', (c, sig) => {
      if (poll) clearInterval(poll);
      resolve(c ?? sig ?? 'unknown');
    });
  });
  const peakKiB = () => {
    if (!useTime) return polled;
    const m = existsSync(timeFile) ? /(\d+(?:\.\d+)?) (\d+)\s*$/.exec(readFileSync(timeFile, 'utf8')) : null;
    return m ? Number(m[2]) : 0;
  };
  return { child, lines, stderr: () => err, exited, peakKiB, t0: performance.now() };
}

/** SIGINT to the group (GNU time ignores it, so it still reports), SIGKILL after a grace period. */
async function stopLong(r: Running): Promise<void> {
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-r.child.pid!, sig);
    } catch {
      /* already gone */
    }
  };
  kill('SIGINT');
  const t = setTimeout(() => kill('SIGKILL'), STOP_GRACE_MS);
  await r.exited;
  clearTimeout(t);
}

/** The port a seed listens on, from its --json report (printed once it has verified the image). */
async function waitPort(r: Running, ms: number): Promise<number> {
  const t0 = Date.now();
  let exited = false;
  void r.exited.then(() => (exited = true));
  for (let seen = 0; ; ) {
    for (; seen < r.lines.length; seen++) {
      const m = /^\s*"port": (\d+)/.exec(r.lines[seen]!);
      if (m) return Number(m[1]);
    }
    if (exited || Date.now() - t0 > ms) throw new Error(`seed ${exited ? 'exited' : 'timed out'} before printing its port: ${r.stderr().trim().slice(-1500)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Makes an image of `files` empty files with xorriso (one options file; no files on disk). */
function makeManyFiles(dir: string, files: number): Promise<string> {
  const empty = join(dir, 'empty');
  writeFileSync(empty, '');
  const dirs = Math.ceil(files / PER_DIR);
  const opts: string[] = [];
  for (let d = 0; d < dirs; d++) opts.push(`-mkdir /d${String(d).padStart(4, '0')}`);
  for (let i = 0; i < files; i++) opts.push(`-map ${empty} /d${String(Math.floor(i / PER_DIR)).padStart(4, '0')}/package-${String(i).padStart(7, '0')}_1.0-1_amd64.deb`);
  writeFileSync(join(dir, 'make.opts'), `${opts.join('\n')}\n`);
  const image = join(dir, 'many.iso');
  return new Promise((resolve, reject) => {
    // xorriso reports every added file on stderr: discard it, keep only the end.
    const child = spawn('xorriso', ['-no_rc', '-outdev', image, '-rockridge', 'on', '-joliet', 'on', '-options_from_file', join(dir, 'make.opts'), '-commit'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let tail = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (tail = (tail + d).slice(-2000)));
    child.once('error', reject);
    child.once('close', (c) => (c === 0 ? resolve(image) : reject(new Error(`xorriso failed (${c}): ${tail}`))));
  });
}

async function makeLargePair(dir: string): Promise<{ old: string; cur: string }> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [join(ROOT, 'bench', 'make-large-image.sh'), dir, '--files', String(PACKAGES), '--mb', String(PAYLOAD_MIB)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let tail = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (tail = (tail + d).slice(-2000)));
    child.once('error', reject);
    child.once('close', (c) => (c === 0 ? resolve() : reject(new Error(`make-large-image.sh failed (${c}): ${tail}`))));
  });
  return { old: join(dir, 'distro-large-1.00.iso'), cur: join(dir, 'distro-large-1.01.iso') };
}

/**
 * publish (and publish with hints when `old` differs), plan, sync from a web
 * seed, seed, and a sync from that seed alone; one row each.
 */
async function runImage(rows: Row[], label: string, old: string, cur: string, work: string, webRoot: string, nginx: Nginx, bin = BIN): Promise<void> {
  const tf = join(work, 'time');
  const home = join(work, 'home');
  const run = async (command: string, args: string[]): Promise<Measured> => {
    const m = await measure(bin, args, tf);
    record(rows, { image: label, command, seconds: m.seconds, peakKiB: m.peakKiB });
    return m;
  };
  const webName = `${label.replace(/\W+/g, '-')}.iso`;
  if (!existsSync(join(webRoot, webName))) symlinkSync(cur, join(webRoot, webName));
  const webSeed = `${nginx.baseUrl}/${webName}`;
  const tCur = join(work, 'cur.torrent');
  if (old !== cur) {
    const tOld = join(work, 'old.torrent');
    await run('publish', ['publish', old, '--product', 'bench', '--release', '1.00', '--home', home, '-o', tOld]);
    await run('publish --previous (hints)', ['publish', cur, '--product', 'bench', '--release', '1.01', '--previous', tOld, '--home', home, '-o', tCur]);
  } else {
    await run('publish', ['publish', cur, '--product', 'bench', '--release', '1.00', '--home', home, '-o', tCur]);
  }
  const common = ['--home', home, '--no-catalog', '--no-dht', '--json'];
  await run('plan --from', ['plan', tCur, '--from', old, '--web-seed', webSeed, ...common]);
  const synced = join(work, 'synced.iso');
  await run('sync --from (web seed)', ['sync', tCur, '--from', old, '--web-seed', webSeed, '-o', synced, ...common]);
  if (statSync(synced).size !== statSync(cur).size) throw new Error(`${label}: sync wrote ${statSync(synced).size} bytes, expected ${statSync(cur).size}`);

  const seed = startLong(bin, ['seed', tCur, cur, '--port', '0', '--no-catalog', '--no-dht', '--json', '--home', join(work, 'seed-home')], join(work, 'seed-time'));
  try {
    const port = await waitPort(seed, SEED_START_MS);
    const leeched = join(work, 'leeched.iso');
    await run('sync from the seed (leecher)', ['sync', tCur, '--peer', `127.0.0.1:${port}`, '-o', leeched, ...common]);
    if (statSync(leeched).size !== statSync(cur).size) throw new Error(`${label}: the leecher wrote ${statSync(leeched).size} bytes, expected ${statSync(cur).size}`);
  } finally {
    await stopLong(seed);
  }
  record(rows, { image: label, command: 'seed (verify, then serve the leecher)', seconds: (performance.now() - seed.t0) / 1000, peakKiB: seed.peakKiB() });
}

/** This build's steps, then (with BEFORE) the build before's, each in a work folder of its own. */
async function runBoth(rows: Row[], label: string, old: string, cur: string, work: string, webRoot: string, nginx: Nginx): Promise<void> {
  mkdirSync(work, { recursive: true });
  const builds: [string, string][] = [[label, BIN]];
  if (BEFORE) builds.push([`${label} (before)`, join(BEFORE, 'bin', 'isosync')]);
  for (const [i, [name, bin]] of builds.entries()) {
    const dir = join(work, String(i));
    mkdirSync(dir);
    await runImage(rows, name, old, cur, dir, webRoot, nginx, bin);
  }
}

export async function run(): Promise<void> {
  for (const tool of ['nginx', 'xorriso']) {
    if (!hasTool(tool)) {
      out(`SKIPPED: needs ${tool}`);
      return;
    }
  }
  const tmp = tempDir('isosync-memory-');
  let nginx: Nginx | undefined;
  const rows: Row[] = [];
  const tf = join(tmp.dir, 'time');
  const ref = await measure(process.execPath, ['-e', '0'], tf);
  const version = await measure(BIN, ['--version'], tf);
  try {
    const webRoot = join(tmp.dir, 'web');
    mkdirSync(webRoot);
    nginx = await Nginx.start(join(tmp.dir, 'nginx'), webRoot);

    let pairDir = process.env['ISOSYNC_BENCH_MEMORY_PAIR'];
    const t0 = performance.now();
    if (!pairDir) {
      pairDir = join(tmp.dir, 'pair');
      await makeLargePair(pairDir);
    }
    const pair = { old: join(pairDir, 'distro-large-1.00.iso'), cur: join(pairDir, 'distro-large-1.01.iso') };
    out(`large pair: ${pair.cur}, ${(statSync(pair.cur).size / MIB).toFixed(0)} MiB (from ${(statSync(pair.old).size / MIB).toFixed(0)} MiB)${process.env['ISOSYNC_BENCH_MEMORY_PAIR'] ? '' : `, made in ${((performance.now() - t0) / 1000).toFixed(0)} s`}`);
    await runBoth(rows, 'large pair', pair.old, pair.cur, join(tmp.dir, 'large'), webRoot, nginx);

    if (MILLION > 0) {
      const manyWork = join(tmp.dir, 'many');
      mkdirSync(manyWork);
      const t1 = performance.now();
      const given = process.env['ISOSYNC_BENCH_MEMORY_MILLION_IMAGE'];
      const image = given ?? (await makeManyFiles(manyWork, MILLION));
      out(`many files: ${given ?? `${MILLION.toLocaleString('en')} files`}, ${(statSync(image).size / MIB).toFixed(0)} MiB${given ? '' : `, made by xorriso in ${((performance.now() - t1) / 1000).toFixed(0)} s`}`);
      const label = given ? 'many files' : `${(MILLION / 1e6).toLocaleString('en')}M files`;
      await runBoth(rows, label, image, image, manyWork, webRoot, nginx);
    }

  } finally {
    await nginx?.stop();
    tmp.cleanup();
    // Printed even when a step failed: the rows measured until then.
    const refKiB = ref.peakKiB;
    out(`\npeak RSS (/usr/bin/time %M${haveTimeTool() ? '' : ' missing: VmHWM polled'}); goal: ${GOAL_MIB} MiB for publish, plan, sync and seed`);
    out(`${'image'.padEnd(21)} ${'command'.padEnd(38)} ${'wall s'.padStart(7)} ${'peak MiB'.padStart(9)} ${'x node'.padStart(7)} ${'over node'.padStart(10)}`);
    const line = (image: string, command: string, seconds: number, kib: number) =>
      out(`${image.padEnd(21)} ${command.padEnd(38)} ${seconds.toFixed(2).padStart(7)} ${(kib / 1024).toFixed(1).padStart(9)} ${(kib / refKiB).toFixed(2).padStart(7)} ${((kib - refKiB) / 1024).toFixed(1).padStart(10)}`);
    line('-', 'node -e 0 (reference)', ref.seconds, refKiB);
    line('-', 'isosync --version', version.seconds, version.peakKiB);
    for (const r of rows) line(r.image, r.command, r.seconds, r.peakKiB);
    const over = rows.filter((r) => r.peakKiB > GOAL_MIB * 1024).length;
    out(`${over} of ${rows.length} isosync processes above ${GOAL_MIB} MiB`);
  }
}
