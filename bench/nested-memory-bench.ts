/**
 * `npm run bench -- nested-memory`: heap a nested layout keeps per entry. A
 * live image's root filesystem lists 100,000 to 1,000,000 entries, all held
 * while a sync plans; the goal is at most 100 bytes an entry, its path
 * included.
 *
 * A tree of ISOSYNC_BENCH_NESTED_FILES entries (default 100,000) in
 * directories of 500: small files of 40-2,000 bytes (tails in fragments),
 * one in 100 of 300 KiB (several blocks), one in 20 a symlink; names of 10 to
 * 30 characters, as in /usr. mksquashfs makes a squashfs of it, mkfs.erofs
 * (lz4hc) an EROFS. Each image's layout is read in a process of its own
 * (nested-memory-child: full GC before and after, V8 heap plus ArrayBuffers,
 * the layout held), by this build and, when ISOSYNC_BENCH_NESTED_BEFORE names
 * another checkout (built: its dist/), by that one, rounds alternated; the
 * table gives bytes per entry and the reader's CPU seconds.
 *
 * Then what a whole sync keeps per nested file: pairs of live-like ISOs (the
 * tree inside a squashfs at /live/filesystem.squashfs, xz, and inside an
 * EROFS at /LiveOS/squashfs.img, lz4hc), release 2 rewriting one file in
 * 50, at two sizes (ISOSYNC_BENCH_NESTED_SYNC_FILES, default 25,000 and
 * 100,000 entries; small files only, one in 1,000 of 300 KiB), each synced
 * 1 -> 2 by `isosync sync` with a stock mktorrent torrent whose web seed is
 * a local nginx. Peak RSS (/usr/bin/time's %M) grows with the file count by
 * the slope printed, bytes per target entry (the old image's layout is held
 * too, so a slope of two layouts is the floor of this design). With
 * ISOSYNC_BENCH_NESTED_BEFORE each pair is synced by both builds, order
 * alternated, ISOSYNC_BENCH_NESTED_SYNC_ROUNDS times (default 1), and the
 * slope of each build's lowest peaks is printed. ISOSYNC_BENCH_NESTED_SYNC=0
 * skips this part; ISOSYNC_BENCH_NESTED_FORMATS=erofs (or squashfs) syncs one
 * format only.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, hasTool, tempDir } from '../test/helpers/env.js';
import { measure as timed } from './delta/measure.js';
import { Nginx } from './delta/nginx.js';
import { sha256 } from './delta/host.js';

const FILES = Number(process.env['ISOSYNC_BENCH_NESTED_FILES'] ?? 100_000);
const BEFORE = process.env['ISOSYNC_BENCH_NESTED_BEFORE'];
const PER_DIR = 500;
const ROUNDS = 2;
const GOAL = 100;

const out = (s: string) => process.stdout.write(`${s}\n`);

/**
 * Deterministic names and sizes (a linear congruential sequence). `release` 2
 * rewrites one file in 50 (same name and size, other bytes); `bigEvery`: one
 * file in that many is 300 KiB.
 */
export function tree(dir: string, count = FILES, release = 1, bigEvery = 100): void {
  let x = 12345;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  const syllables = ['lib', 'gnu', 'x86', 'core', 'util', 'python3', 'perl', 'share', 'locale', 'icon', 'so', 'conf'];
  const name = (i: number) => {
    let s = '';
    while (s.length < 8 + (next() % 20)) s += syllables[next() % syllables.length]!;
    return `${s}-${i}`;
  };
  for (let d = 0; d * PER_DIR < count; d++) {
    const sub = join(dir, `dir-${name(d)}`, `sub-${d}`);
    mkdirSync(sub, { recursive: true });
    for (let i = d * PER_DIR; i < Math.min(count, (d + 1) * PER_DIR); i++) {
      const p = join(sub, name(i));
      if (i % 20 === 7) {
        symlinkSync(`../../${name(i + 1)}`, p);
        continue;
      }
      const size = i % bigEvery === 3 ? 300 * 1024 : 40 + (next() % 1960);
      const buf = Buffer.alloc(size);
      for (let k = 0; k < size; k += 4) buf.writeUInt32LE(next(), k - (k + 4 > size ? k + 4 - size : 0));
      if (release === 2 && i % 50 === 11) for (let k = 0; k < size; k++) buf[k] = buf[k]! ^ 0x5a;
      writeFileSync(p, buf);
    }
  }
}

function measure(root: string, format: string, image: string): { entries: number; retained: number; cpuSeconds: number } {
  const r = spawnSync(process.execPath, ['--expose-gc', join(ROOT, 'dist', 'bench', 'nested-memory-child.js'), root, format, image], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`measuring ${format} with ${root} failed (${r.status}): ${r.stderr.slice(-800)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { entries: number; retained: number; cpuSeconds: number };
}

export async function run(): Promise<void> {
  if (!hasTool('mksquashfs')) {
    out('skipped: mksquashfs is not installed');
    return;
  }
  const tmp = tempDir('isosync-nested-memory-');
  try {
    const dir = join(tmp.dir, 'tree');
    tree(dir);
    const images: { format: string; path: string }[] = [{ format: 'squashfs', path: join(tmp.dir, 'fs.squashfs') }];
    spawnSync('mksquashfs', [dir, images[0]!.path, '-noappend', '-quiet', '-no-progress'], { stdio: 'ignore' });
    if (hasTool('mkfs.erofs')) {
      images.push({ format: 'erofs', path: join(tmp.dir, 'fs.erofs') });
      spawnSync('mkfs.erofs', ['-zlz4hc', images[1]!.path, dir], { stdio: 'ignore' });
    }
    const builds = [{ name: 'this build', root: ROOT }, ...(BEFORE ? [{ name: 'before', root: BEFORE }] : [])];
    out(`${FILES} entries in directories of ${PER_DIR}; goal: at most ${GOAL} bytes an entry kept`);
    out('image     build        entries   kept MiB  bytes/entry  reader CPU s');
    for (const img of images) {
      const rows = new Map<string, { entries: number; retained: number[]; cpu: number[] }>();
      for (let round = 0; round < ROUNDS; round++) {
        for (const b of round % 2 === 0 ? builds : [...builds].reverse()) {
          const m = measure(b.root, img.format, img.path);
          const row = rows.get(b.name) ?? { entries: m.entries, retained: [], cpu: [] };
          row.retained.push(m.retained);
          row.cpu.push(m.cpuSeconds);
          rows.set(b.name, row);
        }
      }
      for (const b of builds) {
        const row = rows.get(b.name)!;
        const kept = Math.min(...row.retained);
        const cpu = Math.min(...row.cpu);
        out(`${img.format.padEnd(9)} ${b.name.padEnd(12)} ${String(row.entries).padStart(8)} ${(kept / 2 ** 20).toFixed(1).padStart(10)} ${(kept / row.entries).toFixed(0).padStart(12)} ${cpu.toFixed(2).padStart(13)}`);
      }
    }
    if (process.env['ISOSYNC_BENCH_NESTED_SYNC'] !== '0') await syncSlope(tmp.dir);
  } finally {
    tmp.cleanup();
  }
}

const SYNC_SIZES = (process.env['ISOSYNC_BENCH_NESTED_SYNC_FILES'] ?? '25000,100000').split(',').map(Number);
const SYNC_ROUNDS = Number(process.env['ISOSYNC_BENCH_NESTED_SYNC_ROUNDS'] ?? 1);
const SYNC_FORMATS = process.env['ISOSYNC_BENCH_NESTED_FORMATS']?.split(',');

/** How each format's nested image is made, and where the live-like ISO keeps it. */
export const LIVE_FORMATS = [
  { format: 'squashfs', at: 'live/filesystem.squashfs', make: (src: string, img: string) => ['mksquashfs', [src, img, '-comp', 'xz', '-noappend', '-quiet', '-no-progress', '-all-root', '-mkfs-time', '1700000000', '-all-time', '1700000000']] as const },
  { format: 'erofs', at: 'LiveOS/squashfs.img', make: (src: string, img: string) => ['mkfs.erofs', ['-zlz4hc', '-T1700000000', '--all-root', img, src]] as const },
];

/** A live-like ISO holding `fs` (the nested image) at `at`, made by xorriso. */
export function iso(fs: string, at: string, out: string, stage: string): void {
  mkdirSync(join(stage, at, '..'), { recursive: true });
  spawnSync('cp', ['--reflink=auto', fs, join(stage, at)]);
  const r = spawnSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-V', 'NESTED', '-o', out, stage], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`xorriso failed: ${r.stderr.slice(-400)}`);
  spawnSync('rm', ['-rf', stage]);
}

/** Peak RSS of a stock-torrent sync 1 -> 2 at two file counts: the slope is what each nested file costs. */
async function syncSlope(dir: string): Promise<void> {
  const missing = ['mkfs.erofs', 'xorriso', 'mktorrent', 'nginx'].filter((t) => !hasTool(t));
  if (missing.length > 0) {
    out(`\nsync slope skipped: needs ${missing.join(', ')}`);
    return;
  }
  const www = join(dir, 'www');
  mkdirSync(www, { recursive: true });
  const nginx = await Nginx.start(join(dir, 'nginx'), www);
  try {
    const tf = join(dir, 'time.txt');
    const formats = [
      ...LIVE_FORMATS,
    ].filter((f) => !SYNC_FORMATS || SYNC_FORMATS.includes(f.format));
    const builds = [{ name: 'this build', root: ROOT }, ...(BEFORE ? [{ name: 'before', root: BEFORE }] : [])];
    const rows: { format: string; build: string; files: number; peakKiB: number; cpu: number; bytes: number }[] = [];
    for (const n of SYNC_SIZES) {
      const trees = [1, 2].map((r) => {
        const t = join(dir, `sync-tree-${n}-${r}`);
        tree(t, n, r, 1000);
        return t;
      });
      for (const f of formats) {
        const isos = trees.map((t, k) => {
          const img = join(dir, `fs-${k}.img`);
          const [cmd, args] = f.make(t, img);
          const m = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
          if (m.status !== 0) throw new Error(`${cmd} failed: ${m.stderr.slice(-400)}`);
          const name = `${f.format}-${n}-${k + 1}.iso`;
          iso(img, f.at, join(www, name), join(dir, 'stage'));
          spawnSync('rm', ['-f', img]);
          return { name, path: join(www, name) };
        });
        const [a, b] = isos as [{ name: string; path: string }, { name: string; path: string }];
        const torrent = join(dir, `${f.format}-${n}.torrent`);
        await timed('mktorrent', ['-l', '18', '-w', `${nginx.baseUrl}/${b.name}`, '-o', torrent, b.path], tf);
        const o = join(dir, `out-${f.format}-${n}.iso`);
        for (let round = 0; round < SYNC_ROUNDS; round++) {
          for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
            spawnSync('rm', ['-rf', o, join(dir, `home-${f.format}-${n}`)]);
            await nginx.traffic();
            const m = await timed(join(build.root, 'bin', 'isosync'), ['sync', torrent, '--from', a.path, '-o', o, '--no-catalog', '--home', join(dir, `home-${f.format}-${n}`), '--json'], tf);
            const t = await nginx.traffic();
            if ((await sha256(o)) !== (await sha256(b.path))) throw new Error(`${f.format} ${n}: the sync's output differs from the target`);
            rows.push({ format: f.format, build: build.name, files: n, peakKiB: m.peakKiB, cpu: m.cpuSeconds, bytes: t.bodyBytes });
          }
        }
        for (const p of [a.path, b.path, o]) spawnSync('rm', ['-f', p]);
      }
      for (const t of trees) spawnSync('rm', ['-rf', t]);
    }
    out('\nstock-torrent sync 1 -> 2 (one file in 50 rewritten), peak RSS by nested entries');
    out('image     build        entries   peak MiB   CPU s   fetched MB');
    for (const r of rows) out(`${r.format.padEnd(9)} ${r.build.padEnd(12)} ${String(r.files).padStart(8)} ${(r.peakKiB / 1024).toFixed(1).padStart(10)} ${r.cpu.toFixed(2).padStart(7)} ${(r.bytes / 1e6).toFixed(2).padStart(12)}`);
    for (const f of formats) {
      for (const build of builds) {
        const mine = rows.filter((r) => r.format === f.format && r.build === build.name);
        const sizes = [...new Set(mine.map((r) => r.files))].sort((x, y) => x - y);
        const lo = sizes[0];
        const hi = sizes[sizes.length - 1];
        if (lo === undefined || hi === undefined || hi === lo) continue;
        const peak = (n: number) => Math.min(...mine.filter((r) => r.files === n).map((r) => r.peakKiB));
        const slope = ((peak(hi) - peak(lo)) * 1024) / (hi - lo);
        out(`${f.format} ${build.name}: peak RSS grows ${slope.toFixed(0)} bytes per nested entry (${lo} -> ${hi}, lowest peaks); goal ~${GOAL}`);
      }
    }
  } finally {
    await nginx.stop();
  }
}
