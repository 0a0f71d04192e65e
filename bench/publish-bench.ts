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
 * Each isosync figure is set beside mktorrent's with as many hashing threads
 * (`-t 1`, `-t 2`, and `-t` 1 + the workers publish would start now), each
 * round headed by the machine's load (bench/idle-load.cjs: the load average
 * and the share of a core a spinning thread gets).
 *
 * Image: ISOSYNC_BENCH_PUBLISH_IMAGE=PATH (an ISO, e.g. a bench pair's; kept),
 * or one of ISOSYNC_BENCH_PUBLISH_MIB (default 1024 MiB) made in the system
 * temp folder and deleted afterwards. Rounds: ISOSYNC_BENCH_PUBLISH_ROUNDS
 * (default 1), alternated. ISOSYNC_BENCH_PUBLISH_BEFORE=DIR (another built
 * worktree): its `publish` too, in the same rounds. Large hint pair:
 * ISOSYNC_BENCH_HINTS_PAIR=DIR or ISOSYNC_BENCH_HINTS_MB=M (see hintsBench); by default the
 * folder of ISOSYNC_BENCH_PUBLISH_IMAGE when it holds distro-large-1.00.iso and -1.01.iso.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
function timeCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Timing | undefined {
  const gnuTime = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = gnuTime
    ? spawnSync('/usr/bin/time', ['-f', 'CPU %U %S %M', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env })
    : spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env });
  const wall = (performance.now() - t0) / 1000;
  if (r.error || r.status !== 0) {
    process.stdout.write(`  ${cmd}: not measured (${r.error?.message ?? r.stderr.trim().split('\n')[0]})\n`);
    return undefined;
  }
  const m = /CPU ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  return m ? { wall, cpu: Number(m[1]) + Number(m[2]), rssMib: Number(m[3]) / 1024 } : { wall };
}

/** Alternated rounds of the timed tools (the machine's load moves between them): ISOSYNC_BENCH_PUBLISH_ROUNDS. */
const ROUNDS = Math.max(1, Number(process.env['ISOSYNC_BENCH_PUBLISH_ROUNDS'] ?? 1));

/** The machine's load now, by bench/idle-load.cjs: the load average and the share of a core a spinning thread gets. */
function loadNow(): string {
  const r = spawnSync(process.execPath, [join(ROOT, 'bench', 'idle-load.cjs'), '200'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
}

export async function run(): Promise<void> {
  const given = process.env['ISOSYNC_BENCH_PUBLISH_IMAGE'];
  const mib = Number(process.env['ISOSYNC_BENCH_PUBLISH_MIB'] ?? 1024);
  const cores = availableParallelism();
  const dir = mkdtempSync(join(tmpdir(), 'isosync-publish-bench-'));
  const image = given ?? join(dir, 'bench.iso');
  try {
    if (given === undefined) makeImage(image, mib * MIB);
    const bytes = statSync(image).size;
    process.stdout.write(`publish: ${given ?? 'generated image'}, ${(bytes / MIB).toFixed(0)} MiB (${(bytes / 1e9).toFixed(2)} GB), piece length 256 KiB, ${cores} cores, ${ROUNDS} round(s)\n`);
    warm(image);
    process.stdout.write('  page cache warmed by one full read (dropping it needs root): every tool below reads from memory\n');
    // Thread for thread: each isosync row is set beside mktorrent with as many hashing threads (the calling thread + workers).
    const free = defaultPoolWorkers(bytes, await spareCoresNow());
    const hp = defaultHashWorkers();
    const threads = [...new Set([1, Math.min(2, cores), 1 + free, 1 + hp])].sort((a, b) => a - b);
    for (let round = 1; round <= ROUNDS; round++) {
      process.stdout.write(` round ${round}: ${loadNow()} (other work on this machine slows every tool below)\n`);
      /** [what, its hashing threads (0: a start-up alone), timing] */
      const rows: [string, number, Timing | undefined][] = [];
      const mk = new Map<number, Timing | undefined>();
      for (const t of threads) {
        rmSync(join(dir, `mk${t}.torrent`), { force: true }); // mktorrent does not overwrite
        mk.set(t, timeCommand('mktorrent', ['-t', String(t), '-l', String(PIECE_LOG2), '-o', join(dir, `mk${t}.torrent`), image]));
      }
      for (const t of threads) rows.push([`mktorrent -t ${t} -l ${PIECE_LOG2}`, t, mk.get(t)]);
      rows.push(['sha1sum (one core, whole file)', 1, timeCommand('sha1sum', [image])]);
      // Node's own floor for the job: its start plus a bare loop of 1 MiB reads and one SHA-1 per piece, nothing else.
      rows.push(['node: bare read + SHA-1 loop (floor)', 1, timeCommand(process.execPath, ['-e', BARE_HASH, image, String(PIECE_LENGTH)])]);
      rows.push([`isosync hashPieces (this thread + ${hp} workers)`, 1 + hp, await timed(() => hashPieces(image, PIECE_LENGTH))]);
      // What publish uses: a shared pass, with a worker per free core (none on a saturated machine), and with one forced.
      rows.push([`isosync piece pool (this thread + ${free} workers)`, 1 + free, await timed(() => startPieceHashing(image, PIECE_LENGTH, { workers: free }).finish())]);
      if (cores > 1 && free !== 1) rows.push(['isosync piece pool (this thread + 1 worker)', 2, await timed(() => startPieceHashing(image, PIECE_LENGTH, { workers: 1 }).finish())]);
      rmSync(join(dir, 'home'), { recursive: true, force: true });
      const cliArgs = ['publish', image, '--product', 'bench', '--release', '1', '--home', join(dir, 'home'), '-o', join(dir, 'ours.torrent'), '--force'];
      rows.push([`isosync publish (CLI, end to end, ${1 + free} threads)`, 1 + free, timeCommand(join(ROOT, 'bin', 'isosync'), cliArgs)]);
      const before = process.env['ISOSYNC_BENCH_PUBLISH_BEFORE'];
      if (before !== undefined) {
        rmSync(join(dir, 'home'), { recursive: true, force: true });
        rows.push([`before: publish (CLI, end to end)`, 1 + free, timeCommand(join(before, 'bin', 'isosync'), cliArgs)]);
      }
      // Node parses every certificate NODE_EXTRA_CA_CERTS names when it starts, before any script runs (~0.07 CPU s for a
      // system bundle here): a machine that sets it pays that per Node process, mktorrent never does.
      rows.push(['node -e 0 (start-up)', 0, timeCommand(process.execPath, ['-e', '0'])]);
      if (process.env['NODE_EXTRA_CA_CERTS'] !== undefined) {
        const plain = { ...process.env };
        delete plain['NODE_EXTRA_CA_CERTS'];
        rows.push(['node -e 0 without NODE_EXTRA_CA_CERTS', 0, timeCommand(process.execPath, ['-e', '0'], plain)]);
        rmSync(join(dir, 'home'), { recursive: true, force: true });
        rows.push([`isosync publish without NODE_EXTRA_CA_CERTS`, 1 + free, timeCommand(join(ROOT, 'bin', 'isosync'), cliArgs, plain)]);
      }
      for (const [name, t, tm] of rows) {
        if (tm === undefined) continue;
        const ref = mk.get(t);
        const rate = t === 0 ? '' : `${(bytes / MIB / tm.wall).toFixed(0).padStart(5)} MiB/s`; // 0 threads: a start-up, hashing nothing
        const cpuText = tm.cpu !== undefined ? `  ${tm.cpu.toFixed(2).padStart(5)} CPU s` : '';
        // CPU time is what a loaded machine disturbs least: the ratio to watch when wall times swing.
        const vsMk = ref !== undefined ? `  ${(ref.wall / tm.wall).toFixed(2)}x the speed` : '';
        const vsMkCpu = ref?.cpu !== undefined && tm.cpu !== undefined ? `  ${(tm.cpu / ref.cpu).toFixed(2)}x the CPU of mktorrent -t ${t}` : '';
        const rss = tm.rssMib !== undefined ? `  peak RSS ${tm.rssMib.toFixed(0)} MiB` : '';
        process.stdout.write(`  ${name.padEnd(48)} ${tm.wall.toFixed(2).padStart(6)} s  ${rate.padStart(11)}${cpuText}${vsMk}${vsMkCpu}${rss}\n`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await hintsBench();
}

/** Rounds of hints and zsyncmake, alternated: the machine's load moves between rounds (ISOSYNC_BENCH_PUBLISH_ROUNDS when set). */
const HINT_ROUNDS = Math.max(1, Number(process.env['ISOSYNC_BENCH_PUBLISH_ROUNDS'] ?? 2));

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
    process.stdout.write(`    round ${round}: ${loadNow()}\n`);
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
    // The same in this process with the BEFORE worktree's build (its compiled dist/src), when given.
    const beforeDir = process.env['ISOSYNC_BENCH_PUBLISH_BEFORE'];
    if (beforeDir !== undefined && existsSync(join(beforeDir, 'dist', 'src', 'delta', 'hints.js'))) {
      const mod = (await import(pathToFileURL(join(beforeDir, 'dist', 'src', 'delta', 'hints.js')).href)) as { buildHints: typeof buildHints };
      const b = await timed(() => mod.buildHints(cur, [{ infoHash: '00'.repeat(20), release: '1.00', imagePath: old }]));
      const same = Buffer.from(encodeBencode(await mod.buildHints(cur, [{ infoHash: '00'.repeat(20), release: '1.00', imagePath: old }]))).equals(Buffer.from(encodeBencode(hints)));
      const bRatio = zs?.cpu ? `  ${(b.cpu! / zs.cpu).toFixed(1)} x zsyncmake's CPU` : '';
      process.stdout.write(`      before: hints ${b.cpu!.toFixed(2)} CPU s (${b.wall.toFixed(2)} s)${bRatio}; its hints ${same ? 'byte-identical to' : 'DIFFER from'} these\n`);
    }
    const zsText = zs?.cpu !== undefined ? `zsyncmake ${zs.cpu.toFixed(2)} CPU s (${zs.wall.toFixed(2)} s)` : 'zsyncmake not measured';
    process.stdout.write(
      `      hints ${cpu.toFixed(2)} CPU s (${wall.toFixed(2)} s), ${size} bytes (${((100 * size) / image).toFixed(3)}% of the image); ${zsText}${ratio}\n`,
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
    const before = process.env['ISOSYNC_BENCH_PUBLISH_BEFORE'];
    if (before !== undefined) {
      rmSync(join(dir, 'home'), { recursive: true, force: true });
      const old1 = timeCommand(join(before, 'bin', 'isosync'), ['publish', cur, '--previous', old, '--product', 'bench', '--release', '1.01', '--home', join(dir, 'home'), '-o', join(dir, 'cli.torrent'), '--force']);
      if (old1?.cpu !== undefined) process.stdout.write(`      before: publish --previous (CLI, end to end) ${old1.cpu.toFixed(2)} CPU s${vs(old1.cpu)}, ${old1.wall.toFixed(2)} s, peak RSS ${old1.rssMib!.toFixed(0)} MiB\n`);
    }
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
    // Default: the folder of ISOSYNC_BENCH_PUBLISH_IMAGE when it holds such a pair (the shared bench pair does).
    const imageDir = process.env['ISOSYNC_BENCH_PUBLISH_IMAGE'] !== undefined ? dirname(process.env['ISOSYNC_BENCH_PUBLISH_IMAGE']) : undefined;
    const besideImage = imageDir !== undefined && ['1.00', '1.01'].every((v) => existsSync(join(imageDir, `distro-large-${v}.iso`))) ? imageDir : undefined;
    let pairDir = process.env['ISOSYNC_BENCH_HINTS_PAIR'] ?? besideImage;
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
