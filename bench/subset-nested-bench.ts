/**
 * Subset bench inside live images: `isosync get` of a handful of files of the
 * root filesystem of a generated live image (fixtures/make-live.sh at a
 * scale, release 1 of the pair): the xz squashfs of the Debian-like image and
 * the lz4hc EROFS of the Fedora-like one, each with a stock torrent
 * (mktorrent, 256 KiB pieces) whose only source is a local nginx that counts
 * what it sends. In the same run:
 *
 *   - `isosync get T CONTAINER:PATH...` (the paths `ls --deep` prints);
 *     checked against its bound (the files' stored bytes + 2 pieces per run
 *     of them + the metadata pieces) and file by file against unsquashfs /
 *     fsck.erofs --extract of the container;
 *   - curl of the container file itself from a plain tree of the release
 *     (what a user without isosync downloads to unpack the same files).
 *
 * Ratios are to the chosen files' stored (compressed) bytes, the floor of
 * any client that fetches whole blocks, and to curl's bytes.
 *
 *   npm run bench -- subset-nested
 *   ISOSYNC_BENCH_SUBSET_NESTED_SCALE=60 npm run bench -- subset-nested   (~300 MB of root tree)
 *   LIVE_PAIR=DIR ...   uses (or makes and keeps) the pair in DIR/live, as the live bench
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killCurrent, measure, type Measured } from './delta/measure.js';
import { Nginx } from './delta/nginx.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'isosync');
const MIB = 1024 * 1024;
/** Files taken from each root filesystem, spread over its listing. */
const FILES = 6;
const out = (s = '') => process.stdout.write(`${s}\n`);
const have = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || String(r.error)).slice(-800)}`);
  return r.stdout;
}

interface DeepJson {
  path: string;
  type: string;
  size: number;
}

export async function run_(): Promise<void> {
  const need = ['mksquashfs', 'mkfs.erofs', 'mkfs.vfat', 'mcopy', 'xorriso', 'nginx', 'mktorrent', 'curl', 'unsquashfs', 'fsck.erofs'];
  const missing = need.filter((t) => !have(t));
  if (missing.length > 0) {
    out(`subset-nested bench skipped: needs ${missing.join(', ')} (.ci/run installs them)`);
    return;
  }
  const scale = Number(process.env['ISOSYNC_BENCH_SUBSET_NESTED_SCALE'] ?? 20);
  const work = mkdtempSync(join(tmpdir(), 'isosync-bench-subset-nested-'));
  const kept = process.env['LIVE_PAIR'];
  let nginx: Nginx | undefined;
  const onSignal = () => {
    killCurrent();
    nginx?.stopNow();
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const tf = join(work, 'time.txt');
    const pairDir = kept ?? work;
    if (!existsSync(join(pairDir, 'live', 'live-erofs-1.iso'))) {
      const made = await measure('bash', [join(ROOT, 'fixtures', 'make-live.sh'), pairDir, String(scale)], tf);
      out(`live pair made at scale ${scale} in ${made.seconds.toFixed(0)} s`);
    } else out(`live pair reused from ${pairDir}/live`);
    const www = join(work, 'www');
    mkdirSync(join(www, 'tree'), { recursive: true });
    nginx = await Nginx.start(join(work, 'nginx'), www);
    const server = nginx;
    for (const [variant, container, unpack] of [
      ['live', '/live/filesystem.squashfs', 'unsquashfs'],
      ['live-erofs', '/LiveOS/squashfs.img', 'fsck.erofs'],
    ] as const) {
      const image = join(pairDir, 'live', `${variant}-1.iso`);
      const name = `${variant}-1.iso`;
      run('ln', ['-sf', image, join(www, name)]);
      // The container as a plain file (curl's mirror) and unpacked by its own tool (the reference files).
      const plain = join(www, 'tree', `${variant}.img`);
      run('xorriso', ['-osirrox', 'on', '-indev', image, '-extract', container, plain]);
      const ref = join(work, `${variant}-ref`);
      if (unpack === 'unsquashfs') run('unsquashfs', ['-q', '-no-progress', '-d', ref, plain]);
      else run('fsck.erofs', [`--extract=${ref}`, plain]);
      const deep = JSON.parse(run(BIN, ['ls', '--deep', image, '--json'])) as DeepJson[];
      const inside = deep.filter((e) => e.type === 'file' && e.path.startsWith(`${container}:/`) && e.size > 0);
      const chosen = Array.from({ length: FILES }, (_, i) => inside[Math.floor(((i + 0.5) * inside.length) / FILES)]!);
      const torrent = join(work, `${variant}.torrent`);
      run('mktorrent', ['-l', '18', '-w', `${server.baseUrl}/${name}`, '-o', torrent, image]);
      await server.traffic();

      const got = join(work, `${variant}-get`);
      const g: Measured = await measure(BIN, ['get', torrent, ...chosen.map((c) => c.path), '-o', got, '--no-catalog', '--home', join(work, `home-${variant}`), '--json'], tf);
      const gt = await server.traffic();
      const report = JSON.parse(g.stdout) as { fileBytes: number; storedBytes: number; metadataPieces: number; filePieces: number; boundBytes: number; files: unknown[] };
      if (report.files.length !== FILES) throw new Error(`get took ${report.files.length} files, not ${FILES}`);
      for (const c of chosen) {
        const inner = c.path.slice(container.length + 1);
        if (sha(join(got, container.slice(1), inner)) !== sha(join(ref, inner))) throw new Error(`get wrote ${c.path} wrong`);
      }
      if (gt.bodyBytes > report.boundBytes) throw new Error(`get fetched ${gt.bodyBytes} bytes, above its bound ${report.boundBytes}`);

      const c = await measure('curl', ['-sf', '-o', join(work, 'curl.img'), `${server.baseUrl}/tree/${variant}.img`], tf);
      const ct = await server.traffic();
      rmSync(join(work, 'curl.img'), { force: true });

      const size = statSync(image).size;
      out(`\n${variant}: image ${(size / MIB).toFixed(1)} MiB, ${container} ${(statSync(plain).size / MIB).toFixed(1)} MiB with ${inside.length} files; ${FILES} files of ${(report.fileBytes / MIB).toFixed(2)} MiB (${(report.storedBytes / MIB).toFixed(2)} MiB stored) chosen`);
      out(`  get: ${report.metadataPieces} metadata piece(s), ${report.filePieces} file piece(s) of 256 KiB; bound ${(report.boundBytes / MIB).toFixed(2)} MiB; files equal to ${unpack}'s`);
      out(`  ${'method'.padEnd(36)} ${'MiB sent'.padStart(9)} ${'x stored'.padStart(9)} ${'x curl'.padStart(7)} ${'of image'.padStart(9)} ${'requests'.padStart(9)} ${'seconds'.padStart(8)} ${'peak MiB'.padStart(9)}`);
      for (const [method, t, m] of [['isosync get CONTAINER:PATH...', gt, g], ['curl, the whole container', ct, c]] as const) {
        out(`  ${method.padEnd(36)} ${(t.bodyBytes / MIB).toFixed(2).padStart(9)} ${(t.bodyBytes / report.storedBytes).toFixed(2).padStart(9)} ${(t.bodyBytes / ct.bodyBytes).toFixed(3).padStart(7)} ${`${((100 * t.bodyBytes) / size).toFixed(2)}%`.padStart(9)} ${String(t.requests).padStart(9)} ${m.seconds.toFixed(2).padStart(8)} ${(m.peakKiB / 1024).toFixed(0).padStart(9)}`);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await nginx?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

export { run_ as run };
