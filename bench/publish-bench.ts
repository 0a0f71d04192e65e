/**
 * Publish throughput: piece hashing of a >= 1 GB generated image by isosync
 * (in process, and `isosync publish` end to end through the CLI) beside
 * `sha1sum` and `mktorrent -t <cores>` on the same file in the same run.
 *
 * The page cache cannot be dropped without root, so the file is read once
 * first to warm it, and every tool then reads from memory: this measures
 * hashing, not the disk. Then the delta hints (both directions) for the
 * fixture release pair and, when given, a large pair: their size and the CPU
 * to compute them beside zsyncmake's on the new image (see hintsPair).
 *
 * Size: ISOSYNC_BENCH_PUBLISH_MIB (default 1024 MiB). The file is made in the
 * system temp folder and deleted afterwards. Large hint pair:
 * ISOSYNC_BENCH_HINTS_PAIR=DIR or ISOSYNC_BENCH_HINTS_MB=M (see hintsBench).
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildHints } from '../src/delta/hints.js';
import { encodeBencode } from '../src/torrent/bencode-encode.js';
import { PieceStream } from '../src/library/piece-stream.js';
import { defaultHashWorkers, hashPieces } from '../src/torrent/hash-pieces.js';
import { defaultPoolWorkers, startPieceHashing } from '../src/torrent/piece-pool.js';
import { spareCoresNow } from '../src/core/idle-sampler.js';
import { ISO_HEADER_OFFSET, isoHeader } from '../test/helpers/iso-image.js';

const MIB = 1024 * 1024;
/** 256 KiB: the default piece length for images up to 4 GiB, and what distros use. */
const PIECE_LENGTH = 256 * 1024;
const PIECE_LOG2 = 18;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A Node process that only hashes the pieces of argv[1] (piece length argv[2]): synchronous 1 MiB reads, createHash per piece. */
const BARE_HASH = [
  "const { createHash } = require('node:crypto'); const fs = require('node:fs');",
  'const fd = fs.openSync(process.argv[1], "r"); const pl = Number(process.argv[2]); const buf = Buffer.allocUnsafe(1 << 20);',
  'let pos = 0, n, h = createHash("sha1"), inPiece = 0;',
  'while ((n = fs.readSync(fd, buf, 0, buf.length, pos)) > 0) {',
  '  for (let o = 0; o < n; ) { const take = Math.min(pl - inPiece, n - o); h.update(buf.subarray(o, o + take)); o += take; inPiece += take;',
  '    if (inPiece === pl) { h.digest(); h = createHash("sha1"); inPiece = 0; } }',
  '  pos += n; }',
].join('\n');

function makeImage(path: string, bytes: number): void {
  const block = Buffer.alloc(16 * MIB);
  const fd = openSync(path, 'w');
  try {
    for (let off = 0; off < bytes; off += block.length) {
      randomFillSync(block);
      const n = Math.min(block.length, bytes - off);
      let w = 0;
      while (w < n) w += writeSync(fd, block, w, n - w);
    }
    // publish takes ISO images only: random content inside a one-file ISO 9660 volume.
    writeSync(fd, isoHeader(bytes), 0, undefined, ISO_HEADER_OFFSET);
  } finally {
    closeSync(fd);
  }
}

function warm(path: string): void {
  const buf = Buffer.alloc(16 * MIB);
  const fd = openSync(path, 'r');
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0) {
      /* reading is the point */
    }
  } finally {
    closeSync(fd);
  }
}

interface Timing {
  readonly wall: number;
  /** CPU seconds (user + system, all threads), when known. */
  readonly cpu?: number;
  /** Peak resident set size in MiB, when known. */
  readonly rssMib?: number;
}

/** Runs a command under /usr/bin/time when present, for its CPU seconds beside the wall time. */
function timeCommand(cmd: string, args: string[]): Timing | undefined {
  const gnuTime = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = gnuTime
    ? spawnSync('/usr/bin/time', ['-f', 'CPU %U %S %M', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
    : spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  if (r.error || r.status !== 0) {
    process.stdout.write(`  ${cmd}: not measured (${r.error?.message ?? r.stderr.trim().split('\n')[0]})\n`);
    return undefined;
  }
  const m = /CPU ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  return m ? { wall, cpu: Number(m[1]) + Number(m[2]), rssMib: Number(m[3]) / 1024 } : { wall };
}

export async function run(): Promise<void> {
  const mib = Number(process.env['ISOSYNC_BENCH_PUBLISH_MIB'] ?? 1024);
  const bytes = mib * MIB;
  const cores = availableParallelism();
  const dir = mkdtempSync(join(tmpdir(), 'isosync-publish-bench-'));
  const image = join(dir, 'bench.iso');
  try {
    process.stdout.write(`publish: ${mib} MiB image (${(bytes / 1e9).toFixed(2)} GB), piece length 256 KiB, ${cores} cores\n`);
    makeImage(image, bytes);
    warm(image);
    process.stdout.write('  page cache warmed by one full read (dropping it needs root): every tool below reads from memory\n');

    const load = loadavg().map((x) => x.toFixed(2)).join(' ');
    process.stdout.write(`  load average before timing: ${load} (other work on this machine slows every tool below)\n`);

    const rows: [string, Timing | undefined][] = [];
    rows.push(['sha1sum (one core, whole file)', timeCommand('sha1sum', [image])]);
    rows.push([`mktorrent -t ${cores} -l ${PIECE_LOG2}`, timeCommand('mktorrent', ['-t', String(cores), '-l', String(PIECE_LOG2), '-o', join(dir, 'mk.torrent'), image])]);
    // Node's own floor for the job: its start plus a bare loop of 1 MiB reads and one SHA-1 per piece, nothing else.
    rows.push(['node: bare read + SHA-1 loop (floor)', timeCommand(process.execPath, ['-e', BARE_HASH, image, String(PIECE_LENGTH)])]);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await hashPieces(image, PIECE_LENGTH);
    const cpu = process.cpuUsage(cpu0);
    rows.push([`isosync hashPieces (this thread + ${defaultHashWorkers()} workers)`, { wall: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6 }]);
    // What publish uses: a shared pass, with a worker per free core (none on a saturated machine), and with one forced.
    const free = defaultPoolWorkers(bytes, await spareCoresNow());
    rows.push([`isosync piece pool (this thread + ${free} workers)`, await timed(() => startPieceHashing(image, PIECE_LENGTH, { workers: free }).finish())]);
    if (cores > 1 && free !== 1) rows.push(['isosync piece pool (this thread + 1 worker)', await timed(() => startPieceHashing(image, PIECE_LENGTH, { workers: 1 }).finish())]);
    rows.push([
      'isosync publish (CLI, end to end)',
      timeCommand(join(ROOT, 'bin', 'isosync'), ['publish', image, '--product', 'bench', '--release', '1', '--home', join(dir, 'home'), '-o', join(dir, 'ours.torrent')]),
    ]);

    const mk = rows[1]![1]?.wall;
    // CPU time is what a loaded machine disturbs least: the ratio to watch when wall times swing.
    const mkCpu = rows[1]![1]?.cpu;
    for (const [name, tm] of rows) {
      if (tm === undefined) continue;
      const rate = bytes / MIB / tm.wall;
      const cpuText = tm.cpu !== undefined ? `  ${tm.cpu.toFixed(2).padStart(5)} CPU s` : '';
      const vsMk = mk !== undefined ? `  ${(mk / tm.wall).toFixed(2)}x mktorrent's speed` : '';
      const vsMkCpu = mkCpu !== undefined && tm.cpu !== undefined ? `  ${(tm.cpu / mkCpu).toFixed(2)}x its CPU` : '';
      const rss = tm.rssMib !== undefined ? `  peak RSS ${tm.rssMib.toFixed(0)} MiB` : '';
      process.stdout.write(`  ${name.padEnd(44)} ${tm.wall.toFixed(2).padStart(6)} s  ${rate.toFixed(0).padStart(5)} MiB/s${cpuText}${vsMk}${vsMkCpu}${rss}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await hintsBench();
}

/** Rounds of hints and zsyncmake, alternated: the machine's load moves between rounds. */
const HINT_ROUNDS = 2;

/**
 * Computing the delta hints of `cur` against `old` (both directions, as
 * `isosync publish --previous` does), beside zsyncmake on `cur` (the
 * reference: the whole-image rsync index a zsync publisher makes). Measured:
 * the CPU of buildHints in this process (the CLI adds Node's start-up,
 * ~0.05 s, and hashes pieces, which the torrent needs anyway) and the CPU of
 * the whole zsyncmake process (/usr/bin/time).
 */
async function hintsPair(label: string, old: string, cur: string, dir: string): Promise<void> {
  const image = statSync(cur).size;
  warm(old);
  warm(cur);
  process.stdout.write(`  hints ${label}: ${(image / MIB).toFixed(1)} MiB image, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  for (let round = 1; round <= HINT_ROUNDS; round++) {
    const zs = timeCommand('zsyncmake', ['-u', 'x', '-o', join(dir, 'ref.zsync'), cur]);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const hints = await buildHints(cur, [{ infoHash: '00'.repeat(20), release: '1.00', imagePath: old }]);
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(cpu0);
    const cpu = (c.user + c.system) / 1e6;
    if (hints === undefined) {
      process.stdout.write('    hints: not computed by this build\n');
      return;
    }
    const size = encodeBencode(hints).length;
    const ratio = zs?.cpu ? `  ${(cpu / zs.cpu).toFixed(1)} x zsyncmake's CPU` : '';
    const zsText = zs?.cpu !== undefined ? `zsyncmake ${zs.cpu.toFixed(2)} CPU s (${zs.wall.toFixed(2)} s)` : 'zsyncmake not measured';
    process.stdout.write(
      `    round ${round}: hints ${cpu.toFixed(2)} CPU s (${wall.toFixed(2)} s), ${size} bytes (${((100 * size) / image).toFixed(3)}% of the image); ${zsText}${ratio}\n`,
    );
    // What publish does with a previous image: the hints and the v1 pieces in one read (zsyncmake SHA-1s the image too),
    // beside the hints and a separate hashPieces (what it did before).
    const oneCpu = await cpuOf(async () => {
      const stream = new PieceStream(image, PIECE_LENGTH);
      await buildHints(cur, [{ infoHash: '00'.repeat(20), release: '1.00', imagePath: old }], { onTargetBytes: stream.update });
      if (!stream.pieces()) process.stdout.write('    (pieces not hashed in the hints pass)\n');
    });
    // With a core free, publish hashes the pieces in a worker beside the hints instead.
    const beside = await timed(async () => {
      const pass = startPieceHashing(cur, PIECE_LENGTH, { workers: 1 });
      await buildHints(cur, [{ infoHash: '00'.repeat(20), release: '1.00', imagePath: old }]);
      await pass.finish();
    });
    const hp = await cpuOf(() => hashPieces(cur, PIECE_LENGTH));
    // What a publisher runs: the CLI end to end (start-up, ISO check, catalog, hints, pieces), its CPU and peak memory.
    rmSync(join(dir, 'home'), { recursive: true, force: true });
    const cli = timeCommand(join(ROOT, 'bin', 'isosync'), ['publish', cur, '--previous', old, '--product', 'bench', '--release', '1.01', '--home', join(dir, 'home'), '-o', join(dir, 'cli.torrent'), '--force']);
    const vs = (x: number) => (zs?.cpu ? `  ${(x / zs.cpu).toFixed(1)} x zsyncmake's CPU` : '');
    process.stdout.write(`      hints + pieces in one read ${oneCpu.toFixed(2)} CPU s${vs(oneCpu)}; hints, then hashPieces (${hp.toFixed(2)}) ${(cpu + hp).toFixed(2)} CPU s${vs(cpu + hp)}\n`);
    const zsWall = zs ? `  ${(beside.wall / zs.wall).toFixed(1)} x zsyncmake's wall` : '';
    process.stdout.write(`      hints beside a worker hashing the pieces ${beside.cpu!.toFixed(2)} CPU s${vs(beside.cpu!)}, ${beside.wall.toFixed(2)} s${zsWall}\n`);
    if (cli?.cpu !== undefined) process.stdout.write(`      isosync publish --previous (CLI, end to end) ${cli.cpu.toFixed(2)} CPU s${vs(cli.cpu)}, ${cli.wall.toFixed(2)} s, peak RSS ${cli.rssMib!.toFixed(0)} MiB\n`);
  }
}

/** Wall and CPU seconds (this process, all threads) that `f` takes. */
async function timed(f: () => Promise<unknown>): Promise<Timing> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

/** CPU seconds (this process, all threads) that `f` takes. */
async function cpuOf(f: () => Promise<unknown>): Promise<number> {
  const c0 = process.cpuUsage();
  await f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

async function hintsBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'isosync-hints-bench-'));
  try {
    const old = join(ROOT, 'fixtures', 'releases', 'distro-1.00.iso');
    const cur = join(ROOT, 'fixtures', 'releases', 'distro-1.01.iso');
    if (existsSync(old) && existsSync(cur)) await hintsPair('fixture 1.00 -> 1.01', old, cur, dir);
    else process.stdout.write('  hints: fixture pair fixtures/releases/distro-1.00.iso, distro-1.01.iso missing (npm run fixtures)\n');
    // A large pair, where start-up costs do not dominate: ISOSYNC_BENCH_HINTS_PAIR=DIR (holding
    // distro-large-1.00.iso and distro-large-1.01.iso of bench/make-large-image.sh), or
    // ISOSYNC_BENCH_HINTS_MB=M to make one here (payload MiB; 300 gives ~660 MB images).
    let pairDir = process.env['ISOSYNC_BENCH_HINTS_PAIR'];
    const mb = process.env['ISOSYNC_BENCH_HINTS_MB'];
    if (pairDir === undefined && mb !== undefined) {
      pairDir = join(dir, 'pair');
      const files = String(Math.max(100, Math.round(Number(mb) * 20)));
      const r = spawnSync('bash', [join(ROOT, 'bench', 'make-large-image.sh'), pairDir, '--files', files, '--mb', mb], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
      if (r.status !== 0) {
        process.stdout.write(`  hints: make-large-image.sh failed (${r.status}): ${r.stderr.trim().split('\n').pop()}\n`);
        pairDir = undefined;
      }
    }
    if (pairDir !== undefined) await hintsPair('large pair', join(pairDir, 'distro-large-1.00.iso'), join(pairDir, 'distro-large-1.01.iso'), dir);
    else process.stdout.write('  hints: no large pair (ISOSYNC_BENCH_HINTS_PAIR=DIR or ISOSYNC_BENCH_HINTS_MB=M)\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
