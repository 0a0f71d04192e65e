/**
 * An image of 1,000,000 files: `isosync ls` and `isosync regions` list it
 * (no stack overflow, every entry), beside xorriso's own `-find` and
 * `bsdtar -tf` on the same image in the same run; time and peak RSS, as
 * ratios isosync / reference.
 *
 * The image is made here by xorriso from one options file (`-mkdir` and
 * `-map` of one empty file, so no million files touch the disk): 1,000
 * directories of 1,000 empty files, Rock Ridge and Joliet. It lives in a
 * temp folder that is removed afterwards. The page cache is warm (the image
 * is read once first), so the figures compare parsing, not the disk.
 *
 *   ISOSYNC_BENCH_MILLION_FILES   files (default 1,000,000)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, hasTool, tempDir } from '../test/helpers/env.js';

const FILES = Number(process.env['ISOSYNC_BENCH_MILLION_FILES'] ?? 1_000_000);
const PER_DIR = 1000;

interface Timed {
  readonly seconds: number;
  readonly peakKiB: number;
  readonly lines: number;
}

/** Runs CMD under /usr/bin/time; counts its stdout lines. */
function timed(cmd: string, args: string[]): Timed {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { encoding: 'buffer', maxBuffer: 2 * 1024 * 1024 * 1024 });
  const err = r.stderr.toString();
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${err.slice(-800)}`);
  const m = /(\d+(?:\.\d+)?) (\d+)\s*$/.exec(err);
  if (!m) throw new Error(`no timing from /usr/bin/time: ${err.slice(-200)}`);
  let lines = 0;
  for (const b of r.stdout) if (b === 0x0a) lines++;
  return { seconds: Number(m[1]), peakKiB: Number(m[2]), lines };
}

function row(what: string, t: Timed, ref?: { name: string; t: Timed }): string {
  const mine = `${what.padEnd(16)} ${t.seconds.toFixed(1).padStart(6)} s ${String(Math.round(t.peakKiB / 1024)).padStart(5)} MiB ${String(t.lines).padStart(9)} lines`;
  if (!ref) return mine;
  return `${mine} | ${ref.name.padEnd(14)} ${ref.t.seconds.toFixed(1).padStart(6)} s ${String(Math.round(ref.t.peakKiB / 1024)).padStart(5)} MiB | time x${(t.seconds / ref.t.seconds).toFixed(2)} memory x${(t.peakKiB / ref.t.peakKiB).toFixed(2)}`;
}

export async function run(): Promise<void> {
  for (const tool of ['xorriso', 'bsdtar', '/usr/bin/time']) {
    if (!hasTool(tool)) {
      process.stdout.write(`SKIPPED: needs ${tool}\n`);
      return;
    }
  }
  const tmp = tempDir('isosync-million-');
  try {
    const t0 = performance.now();
    const empty = join(tmp.dir, 'empty');
    writeFileSync(empty, '');
    const dirs = Math.ceil(FILES / PER_DIR);
    const opts: string[] = [];
    for (let d = 0; d < dirs; d++) opts.push(`-mkdir /d${String(d).padStart(4, '0')}`);
    for (let i = 0; i < FILES; i++) opts.push(`-map ${empty} /d${String(Math.floor(i / PER_DIR)).padStart(4, '0')}/package-${String(i).padStart(7, '0')}_1.0-1_amd64.deb`);
    writeFileSync(join(tmp.dir, 'make.opts'), `${opts.join('\n')}\n`);
    const image = join(tmp.dir, 'million.iso');
    const mk = spawnSync('xorriso', ['-no_rc', '-outdev', image, '-rockridge', 'on', '-joliet', 'on', '-options_from_file', join(tmp.dir, 'make.opts'), '-commit'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (mk.status !== 0) throw new Error(`xorriso failed: ${mk.stderr.slice(-1000)}`);
    readFileSync(image); // warm the page cache
    process.stdout.write(`image: ${FILES.toLocaleString('en')} files in ${dirs} directories, ${(statSync(image).size / 1048576).toFixed(0)} MiB, made by xorriso in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);

    const ls = timed(BIN, ['ls', image]);
    const regions = timed(BIN, ['regions', image]);
    const find = timed('xorriso', ['-no_rc', '-indev', image, '-find', '/']);
    const bsdtar = timed('bsdtar', ['-tf', image]);
    process.stdout.write(`${row('isosync ls', ls, { name: 'xorriso -find', t: find })}\n`);
    process.stdout.write(`${row('isosync ls', ls, { name: 'bsdtar -tf', t: bsdtar })}\n`);
    process.stdout.write(`${row('isosync regions', regions, { name: 'xorriso -find', t: find })}\n`);
    // A header line, the root, the directories and the files.
    if (ls.lines !== 1 + 1 + dirs + FILES) throw new Error(`isosync ls printed ${ls.lines} lines, expected ${2 + dirs + FILES}`);
  } finally {
    tmp.cleanup();
  }
}
