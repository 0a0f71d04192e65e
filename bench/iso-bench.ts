/**
 * ISO reader bench: on a generated image with >= 50,000 files, the time and
 * peak RSS of `isosync ls`, `isosync ls --json`, `isosync regions` and
 * `isosync extract`, beside `isoinfo -l -R -i` (listing) and `bsdtar -xf`
 * (extraction) on the same image in the same run, printed as ratios
 * isosync / reference, of wall time and of CPU time (user + system: on a
 * shared machine the wall time is noisy, the CPU time much less so).
 *
 * isosync runs as a user runs it: bin/isosync itself, so the V8 flags of its
 * shebang apply. Each measurement is taken ISOSYNC_BENCH_ROUNDS times
 * (default 3 for the listings, 1 for extract), isosync and its reference
 * alternating, and the median round is printed.
 *
 * The image is distro-large-1.00.iso of bench/make-large-image.sh when that
 * script exists (ISOSYNC_BENCH_FILES files, default 50,000), else made from a
 * tree generated here: 250 directories of 200 small files (64 B - 4 KiB,
 * seeded), made into an image with `xorriso -as mkisofs -r -J`. Or an
 * existing image: ISOSYNC_BENCH_IMAGE. ISOSYNC_BENCH_BEFORE names another
 * checkout's bin/isosync (an older build) measured in the same rounds, for a
 * before/after comparison. Every command runs through /usr/bin/time, with the
 * page cache warm (the image is read once first), so the figures compare
 * parsing and writing, not reading the disk. Everything lives in a temp
 * folder that is removed afterwards; ISOSYNC_BENCH_OUT names another folder
 * to extract into (/dev/shm: tmpfs, so that the figures do not follow the
 * other writers of a shared disk), where a temp folder is made and removed.
 * Each line gives CPU time as user + system too: system time is most of an
 * extract's, and follows the file system written to.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'isosync');
const FILES = Number(process.env['ISOSYNC_BENCH_FILES'] ?? 50_000);
const FILES_PER_DIR = 200;
const ROUNDS = process.env['ISOSYNC_BENCH_ROUNDS'] !== undefined ? Number(process.env['ISOSYNC_BENCH_ROUNDS']) : undefined;
const BEFORE = process.env['ISOSYNC_BENCH_BEFORE'];
const OUT = process.env['ISOSYNC_BENCH_OUT'];

interface Timed { seconds: number; cpu: number; user: number; peakKiB: number }

function timed(cmd: string, args: string[]): Timed {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', cmd, ...args], { encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024 });
  const err = r.stderr.toString();
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${err.slice(-500)}`);
  const m = /(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)\s*$/.exec(err);
  if (!m) throw new Error(`no timing from /usr/bin/time: ${err.slice(-200)}`);
  return { seconds: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), user: Number(m[2]), peakKiB: Number(m[4]) };
}

/** The median (by CPU time) of several measurements. */
function median(ts: Timed[]): Timed {
  return [...ts].sort((a, b) => a.cpu - b.cpu)[Math.floor(ts.length / 2)]!;
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

const mib = (t: Timed) => String(Math.round(t.peakKiB / 1024)).padStart(4);
const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');

function line(what: string, ours: Timed, refName: string, ref: Timed): string {
  const cpu = (t: Timed) => `cpu ${t.cpu.toFixed(2).padStart(5)} s = ${t.user.toFixed(2)} + ${(t.cpu - t.user).toFixed(2)}`;
  return `${what.padEnd(17)} ${ours.seconds.toFixed(2).padStart(6)} s (${cpu(ours)}) ${mib(ours)} MiB`
    + ` | ${refName.padEnd(13)} ${ref.seconds.toFixed(2).padStart(6)} s (${cpu(ref)}) ${mib(ref)} MiB`
    + ` | ratio ${ratio(ours.seconds, ref.seconds)} (cpu ${ratio(ours.cpu, ref.cpu)})`;
}

/** The isosync builds measured: this one, and the one before when ISOSYNC_BENCH_BEFORE names it. */
function builds(): { name: string; bin: string }[] {
  return [{ name: 'isosync', bin: BIN }, ...(BEFORE ? [{ name: 'before', bin: BEFORE }] : [])];
}

/**
 * Measures `args` of every build and the reference, alternating, `rounds`
 * times; `prepare` runs before each command and `after` after it (a fresh
 * output folder, removed once measured).
 */
function compare(what: string, rounds: number, args: (bin: string, out: string) => string[], refName: string, ref: (out: string) => [string, string[]], prepare: (out: string) => void, after: (out: string) => void): string[] {
  const ours = new Map<string, Timed[]>();
  const refs: Timed[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const b of builds()) {
      const out = `${b.name}-${r}`;
      prepare(out);
      const list = ours.get(b.name) ?? [];
      list.push(timed(b.bin, args(b.bin, out)));
      after(out);
      ours.set(b.name, list);
    }
    const out = `ref-${r}`;
    prepare(out);
    const [cmd, a] = ref(out);
    refs.push(timed(cmd, a));
    after(out);
  }
  const refMedian = median(refs);
  return builds().map((b) => line(`${what}${b.name === 'isosync' ? '' : ` (${b.name})`}`, median(ours.get(b.name)!), refName, refMedian));
}

export async function run(): Promise<void> {
  for (const t of ['xorriso', 'isoinfo', 'bsdtar']) {
    if (!need(t)) {
      process.stdout.write(`iso bench skipped: needs ${t}\n`);
      return;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'isosync-iso-bench-'));
  let outs = dir;
  try {
    const t0 = performance.now();
    const image = process.env['ISOSYNC_BENCH_IMAGE'] ?? makeImage(dir);
    readFileSync(image); // warm the page cache
    const entries = (JSON.parse(spawnSync(BIN, ['ls', '--json', image], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout) as { type: string }[]);
    const files = entries.filter((e) => e.type === 'file').length;
    process.stdout.write(`image: ${files} files, ${(statSync(image).size / 1048576).toFixed(0)} MiB (ready in ${((performance.now() - t0) / 1000).toFixed(1)} s); median of ${ROUNDS ?? 3} rounds (extract: ${ROUNDS ?? 1})\n`);

    const listRounds = ROUNDS ?? 3;
    const nothing = () => undefined;
    if (OUT !== undefined) outs = mkdtempSync(join(OUT, 'isosync-iso-bench-'));
    const fresh = (out: string) => {
      rmSync(join(outs, out), { recursive: true, force: true });
      mkdirSync(join(outs, out));
    };
    const remove = (out: string) => rmSync(join(outs, out), { recursive: true, force: true });
    const isoinfo = (): [string, string[]] => ['isoinfo', ['-l', '-R', '-i', image]];
    const lines = [
      ...compare('ls', listRounds, () => ['ls', image], 'isoinfo -l -R', isoinfo, nothing, nothing),
      ...compare('ls --json', listRounds, () => ['ls', '--json', image], 'isoinfo -l -R', isoinfo, nothing, nothing),
      ...compare('regions', listRounds, () => ['regions', '--json', image], 'isoinfo -l -R', isoinfo, nothing, nothing),
      ...compare('extract', ROUNDS ?? 1, (_bin, out) => ['extract', image, '-o', join(outs, out)], 'bsdtar -xf', (out) => ['bsdtar', ['-xf', image, '-C', join(outs, out)]], fresh, remove),
    ];
    for (const l of lines) process.stdout.write(`${l}\n`);
  } finally {
    if (outs !== dir) rmSync(outs, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
