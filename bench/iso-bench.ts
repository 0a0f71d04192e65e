/**
 * ISO reader bench: on a generated image with >= 50,000 files, the time and
 * peak RSS of `isosync ls`, `isosync regions` and `isosync extract`, beside
 * `isoinfo -l -R -i` (listing) and `bsdtar -xf` (extraction) on the same
 * image in the same run, printed as ratios isosync / reference.
 *
 * The image is distro-large-1.00.iso of bench/make-large-image.sh when that
 * script exists (ISOSYNC_BENCH_FILES files, default 50,000), else made from a tree generated here: 250
 * directories of 200 small files (64 B - 4 KiB, seeded), made into an image
 * with `xorriso -as mkisofs -r -J`. Every command runs through /usr/bin/time
 * for wall time and peak RSS, with the page cache warm (the image is read
 * once first), so the figures compare parsing and writing, not the disk.
 * Everything lives in a temp folder that is removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'isosync');
const FILES = Number(process.env['ISOSYNC_BENCH_FILES'] ?? 50_000);
const FILES_PER_DIR = 200;

interface Timed { seconds: number; peakKiB: number; stdoutBytes: number }

function timed(cmd: string, args: string[]): Timed {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024 });
  const err = r.stderr.toString();
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${err.slice(-500)}`);
  const m = /(\d+(?:\.\d+)?) (\d+)\s*$/.exec(err);
  if (!m) throw new Error(`no timing from /usr/bin/time: ${err.slice(-200)}`);
  return { seconds: Number(m[1]), peakKiB: Number(m[2]), stdoutBytes: r.stdout.length };
}

function need(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

function makeImage(dir: string): string {
  const image = join(dir, 'large.iso');
  const script = join(ROOT, 'bench', 'make-large-image.sh');
  if (existsSync(script)) {
    // `bash bench/make-large-image.sh OUTDIR --files N` makes OUTDIR/distro-large-1.00.iso (and 1.01, unused here).
    const out = join(dir, 'large');
    const r = spawnSync('bash', [script, out, '--files', String(FILES)], { stdio: ['ignore', 'ignore', 'inherit'] });
    const made = join(out, 'distro-large-1.00.iso');
    if (r.status === 0 && existsSync(made)) return made;
    process.stdout.write(`bench/make-large-image.sh failed (${r.status}); generating the tree here\n`);
  }
  const tree = join(dir, 'tree');
  let seed = 0x1505;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (let d = 0; d * FILES_PER_DIR < FILES; d++) {
    const sub = join(tree, `dir-${String(d).padStart(4, '0')}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < FILES_PER_DIR && d * FILES_PER_DIR + f < FILES; f++) {
      const size = 64 + (next() % 4033);
      const buf = Buffer.allocUnsafe(size);
      for (let i = 0; i < size; i++) buf[i] = next() >>> 24;
      writeFileSync(join(sub, `package-${d}-${f}_1.0-${f % 7}_amd64.deb`), buf);
    }
  }
  const r = spawnSync('xorriso', ['-as', 'mkisofs', '-quiet', '-r', '-J', '-o', image, tree], { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
  if (r.status !== 0) throw new Error(`xorriso failed: ${r.stderr}`);
  rmSync(tree, { recursive: true, force: true });
  return image;
}

function line(what: string, ours: Timed, ref?: { name: string; t: Timed }): string {
  const base = `${what.padEnd(10)} isosync ${ours.seconds.toFixed(2).padStart(7)} s ${String(Math.round(ours.peakKiB / 1024)).padStart(5)} MiB`;
  if (!ref) return base;
  const ratio = ref.t.seconds > 0 ? (ours.seconds / ref.t.seconds).toFixed(2) : 'n/a';
  return `${base} | ${ref.name.padEnd(16)} ${ref.t.seconds.toFixed(2).padStart(7)} s ${String(Math.round(ref.t.peakKiB / 1024)).padStart(5)} MiB | ratio ${ratio}`;
}

export async function run(): Promise<void> {
  for (const t of ['xorriso', 'isoinfo', 'bsdtar']) {
    if (!need(t)) {
      process.stdout.write(`iso bench skipped: needs ${t}\n`);
      return;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'isosync-iso-bench-'));
  try {
    const t0 = performance.now();
    const image = makeImage(dir);
    readFileSync(image); // warm the page cache
    const entries = (JSON.parse(spawnSync(process.execPath, [BIN, 'ls', '--json', image], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout) as { type: string }[]);
    const files = entries.filter((e) => e.type === 'file').length;
    process.stdout.write(`image: ${files} files, ${(readFileSync(image).length / 1048576).toFixed(0)} MiB (made in ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);

    const ls = timed(process.execPath, [BIN, 'ls', image]);
    const lsJson = timed(process.execPath, [BIN, 'ls', '--json', image]);
    const isoinfo = timed('isoinfo', ['-l', '-R', '-i', image]);
    const regions = timed(process.execPath, [BIN, 'regions', '--json', image]);
    const outA = join(dir, 'x-isosync'), outB = join(dir, 'x-bsdtar');
    mkdirSync(outB);
    const extract = timed(process.execPath, [BIN, 'extract', image, '-o', outA]);
    const bsdtar = timed('bsdtar', ['-xf', image, '-C', outB]);

    process.stdout.write(`${line('ls', ls, { name: 'isoinfo -l -R', t: isoinfo })}\n`);
    process.stdout.write(`${line('ls --json', lsJson, { name: 'isoinfo -l -R', t: isoinfo })}\n`);
    process.stdout.write(`${line('regions', regions, { name: 'isoinfo -l -R', t: isoinfo })}\n`);
    process.stdout.write(`${line('extract', extract, { name: 'bsdtar -xf', t: bsdtar })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
