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
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, hasTool, tempDir } from '../test/helpers/env.js';

const FILES = Number(process.env['ISOSYNC_BENCH_NESTED_FILES'] ?? 100_000);
const BEFORE = process.env['ISOSYNC_BENCH_NESTED_BEFORE'];
const PER_DIR = 500;
const ROUNDS = 2;
const GOAL = 100;

const out = (s: string) => process.stdout.write(`${s}\n`);

/** Deterministic names and sizes (a linear congruential sequence). */
function tree(dir: string): void {
  let x = 12345;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  const syllables = ['lib', 'gnu', 'x86', 'core', 'util', 'python3', 'perl', 'share', 'locale', 'icon', 'so', 'conf'];
  const name = (i: number) => {
    let s = '';
    while (s.length < 8 + (next() % 20)) s += syllables[next() % syllables.length]!;
    return `${s}-${i}`;
  };
  for (let d = 0; d * PER_DIR < FILES; d++) {
    const sub = join(dir, `dir-${name(d)}`, `sub-${d}`);
    mkdirSync(sub, { recursive: true });
    for (let i = d * PER_DIR; i < Math.min(FILES, (d + 1) * PER_DIR); i++) {
      const p = join(sub, name(i));
      if (i % 20 === 7) {
        symlinkSync(`../../${name(i + 1)}`, p);
        continue;
      }
      const size = i % 100 === 3 ? 300 * 1024 : 40 + (next() % 1960);
      const buf = Buffer.alloc(size);
      for (let k = 0; k < size; k += 4) buf.writeUInt32LE(next(), k - (k + 4 > size ? k + 4 - size : 0));
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
  } finally {
    tmp.cleanup();
  }
}
