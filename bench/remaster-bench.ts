/**
 * Remaster bench: on a generated release pair of a few hundred MB
 * (bench/make-large-image.sh with --keep-trees: 1.00 built from scratch by
 * xorriso, and 1.01's tree), in one run:
 *
 *   - time: `isosync remaster 1.00.iso TREE-1.01` (unchanged files found by
 *     size and mtime, and again with --verify-content: every same-size file
 *     compared byte for byte) beside `xorriso -as mkisofs -r -J TREE-1.01`
 *     (the same tree, from scratch), and the image sizes;
 *   - what a stock client downloads to go from 1.00 to each image: a
 *     python3-libtorrent leecher starting from a copy of 1.00 (payload bytes
 *     libtorrent counts), and zsync with 1.00 as seed file (bytes an HTTP
 *     server on 127.0.0.1 sent, the .zsync control file included), each as
 *     a multiple of the floor (bench/floor.ts) of that image. libtorrent
 *     runs at 256 KiB pieces (publish's default, which remaster packs for
 *     by default), at the one `--piece-length auto` picks, at 64 KiB and
 *     16 KiB, each on an image remastered for that piece length;
 *   - why: the pieces of each remastered image that differ from 1.00 at
 *     the same offset (what libtorrent fetches, whole), split into bytes
 *     that differ and kept bytes fetched again because they share a piece
 *     with new content, beside the least such collateral any layout that
 *     keeps unchanged files in place could have, with this image's dead
 *     space and with as much dead space as 1.02 x xorriso's size allows
 *     (bench/remaster-pieces.ts).
 *
 * Size: ISOSYNC_BENCH_REMASTER_MB (payload MB, default 300),
 * ISOSYNC_BENCH_REMASTER_FILES (packages, default 5000),
 * ISOSYNC_BENCH_REMASTER_CHANGE (percent of packages changed, default 5).
 * A tool that is missing skips its rows with a note. Everything lives in one
 * temp folder, removed afterwards.
 *
 *   npm run bench -- remaster
 *   ISOSYNC_BENCH_REMASTER_MB=40 ISOSYNC_BENCH_REMASTER_FILES=800 npm run bench -- remaster   (a quick run)
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure } from './delta/measure.js';
import { computeFloor } from './floor.js';
import { collateralBound, pieceBreakdown } from './remaster-pieces.js';
import { startRangeServer } from '../test/helpers/range-server.js';
import { libtorrentPeer } from '../test/swarm/peers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'isosync');
const MB = Number(process.env['ISOSYNC_BENCH_REMASTER_MB'] ?? 300);
const FILES = Number(process.env['ISOSYNC_BENCH_REMASTER_FILES'] ?? 5000);
const CHANGE = Number(process.env['ISOSYNC_BENCH_REMASTER_CHANGE'] ?? 5);

function have(tool: string): boolean {
  if (tool === 'libtorrent') return spawnSync('/usr/bin/python3', ['-c', 'import libtorrent'], { stdio: 'ignore' }).status === 0;
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; seconds: number; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, seconds: (performance.now() - t0) / 1000, stderr, stdout }));
  });
}

async function must(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = await exec(cmd, args, env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  return r;
}

/** Bytes a libtorrent leecher that starts from a copy of `old` downloads from a libtorrent seeder of `image`. */
async function libtorrentBytes(work: string, image: string, old: string, piece: number, tag: string): Promise<number> {
  const dir = join(work, `lt-${tag}`);
  mkdirSync(join(dir, 'seed'), { recursive: true });
  mkdirSync(join(dir, 'leech'), { recursive: true });
  await must('node', [BIN, 'publish', image, '--product', 'bench', '--release', tag, '--piece-length', String(piece), '--home', join(dir, 'home'), '-o', join(dir, 'x.torrent')]);
  copyFileSync(image, join(dir, 'seed', 'image.iso'));
  copyFileSync(old, join(dir, 'leech', 'image.iso'));
  // The torrent names the image after the published file: give both sides that name.
  const name = image.slice(image.lastIndexOf('/') + 1);
  await must('mv', [join(dir, 'seed', 'image.iso'), join(dir, 'seed', name)]);
  await must('mv', [join(dir, 'leech', 'image.iso'), join(dir, 'leech', name)]);
  const seed = await libtorrentPeer('seed', join(dir, 'x.torrent'), join(dir, 'seed'));
  const leech = await libtorrentPeer('leech', join(dir, 'x.torrent'), join(dir, 'leech'), [`127.0.0.1:${seed.port}`]);
  try {
    const code = await leech.exited;
    if (code !== 0) throw new Error(`libtorrent leecher failed: ${leech.output().slice(-1000)}`);
    return Number(leech.last().downloaded);
  } finally {
    await leech.stop();
    await seed.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes zsync fetches (control file included) to build `image` from `old`. */
async function zsyncBytes(work: string, image: string, old: string, tag: string): Promise<number> {
  const dir = join(work, `zs-${tag}`);
  mkdirSync(dir, { recursive: true });
  const server = await startRangeServer({ '/image.iso': image, '/image.iso.zsync': join(dir, 'image.iso.zsync') });
  try {
    await must('zsyncmake', ['-u', `${server.url}/image.iso`, '-o', join(dir, 'image.iso.zsync'), image]);
    await must('zsync', ['-q', '-i', old, '-o', join(dir, 'out.iso'), `${server.url}/image.iso.zsync`]);
    return server.bytesSent();
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const mib = (n: number) => (n / 1048576).toFixed(1);

export async function run(): Promise<void> {
  for (const tool of ['xorriso', 'bash', '/usr/bin/python3']) if (!have(tool)) throw new Error(`remaster bench needs ${tool}`);
  const work = mkdtempSync(join(tmpdir(), 'isosync-bench-remaster-'));
  try {
    process.stdout.write(`pair: ${FILES} packages, ${MB} MiB of payload, ${CHANGE} % changed (bench/make-large-image.sh)\n`);
    const made = await must('bash', [join(ROOT, 'bench', 'make-large-image.sh'), work, '--files', String(FILES), '--mb', String(MB), '--change', String(CHANGE), '--keep-trees']);
    process.stdout.write(`  made in ${made.seconds.toFixed(1)} s\n`);
    const old = join(work, 'distro-large-1.00.iso');
    const tree = join(work, 'work', 'tree-1.01');
    const remastered = join(work, 'remastered.iso'), scratch = join(work, 'scratch.iso');
    const env = { SOURCE_DATE_EPOCH: '1702419200' };
    // Timed with peak RSS (/usr/bin/time %M); SOURCE_DATE_EPOCH makes both images reproducible.
    const tf = join(work, 'time');
    const x = await measure('xorriso', ['-as', 'mkisofs', '-quiet', '-r', '-J', '-V', 'DISTRO_1_01', '-o', scratch, tree], tf, undefined, env);
    const r = await measure(BIN, ['remaster', old, tree, '-o', remastered, '-V', 'DISTRO_1_01', '--json'], tf, undefined, env);
    const verified = join(work, 'verified.iso');
    const v = await measure(BIN, ['remaster', old, tree, '-o', verified, '-V', 'DISTRO_1_01', '--json', '--verify-content'], tf, undefined, env);
    const vs = statSync(verified).size;
    rmSync(verified);
    // Remaster choosing the piece length (it plans once per length it tries).
    const autoImage = join(work, 'remastered-auto.iso');
    const a = await measure(BIN, ['remaster', old, tree, '-o', autoImage, '-V', 'DISTRO_1_01', '--json', '--piece-length', 'auto'], tf, undefined, env);
    const autoRep = JSON.parse(a.stdout) as { pieceLength: number; deadBytes: number };
    const autoSize = statSync(autoImage).size;
    const rep = JSON.parse(r.stdout) as { keptBytes: number; newBytes: number; movedBytes: number; deadBytes: number; wastePercent: number };
    const rs = statSync(remastered).size, xs = statSync(scratch).size;
    process.stdout.write([
      '',
      'method                               time s   x xorriso   image MiB   x xorriso   peak RSS MiB',
      `xorriso -as mkisofs -r -J (scratch)  ${x.seconds.toFixed(2).padStart(6)}   ${'1.00'.padStart(9)}   ${mib(xs).padStart(9)}   ${'1.000'.padStart(9)}   ${(x.peakKiB / 1024).toFixed(1).padStart(12)}`,
      `isosync remaster over 1.00           ${r.seconds.toFixed(2).padStart(6)}   ${(r.seconds / x.seconds).toFixed(2).padStart(9)}   ${mib(rs).padStart(9)}   ${(rs / xs).toFixed(3).padStart(9)}   ${(r.peakKiB / 1024).toFixed(1).padStart(12)}`,
      `  the same, --verify-content         ${v.seconds.toFixed(2).padStart(6)}   ${(v.seconds / x.seconds).toFixed(2).padStart(9)}   ${mib(vs).padStart(9)}   ${(vs / xs).toFixed(3).padStart(9)}   ${(v.peakKiB / 1024).toFixed(1).padStart(12)}`,
      `  the same, --piece-length auto      ${a.seconds.toFixed(2).padStart(6)}   ${(a.seconds / x.seconds).toFixed(2).padStart(9)}   ${mib(autoSize).padStart(9)}   ${(autoSize / xs).toFixed(3).padStart(9)}   ${(a.peakKiB / 1024).toFixed(1).padStart(12)}   (picked ${autoRep.pieceLength / 1024} KiB)`,
      `  remaster: kept ${mib(rep.keptBytes)} MiB, new ${mib(rep.newBytes)} MiB, moved ${mib(rep.movedBytes)} MiB, dead ${mib(rep.deadBytes)} MiB (${rep.wastePercent} %)`,
      '',
    ].join('\n'));

    // The same tree remastered for smaller pieces (the publisher's choice; remaster packs for it).
    const hinted = new Map<number, string>([[262144, remastered], [autoRep.pieceLength, autoImage]]);
    const deadBytes = new Map<string, number>([[remastered, rep.deadBytes], [autoImage, autoRep.deadBytes]]);
    for (const piece of [65536, 16384].filter((p) => !hinted.has(p))) {
      const out = join(work, `remastered-${piece / 1024}k.iso`);
      const got = await must(BIN, ['remaster', old, tree, '-o', out, '-V', 'DISTRO_1_01', '--piece-length', String(piece), '--json'], env);
      hinted.set(piece, out);
      deadBytes.set(out, (JSON.parse(got.stdout) as { deadBytes: number }).deadBytes);
    }
    const floors = new Map<string, number>();
    for (const image of [scratch, ...hinted.values()]) floors.set(image, (await computeFloor(image, [old])).floorBytes);
    process.stdout.write(`floor from 1.00: remastered ${mib(floors.get(remastered)!)} MiB, xorriso's ${mib(floors.get(scratch)!)} MiB\n\n`);

    // Dead space 1.02 x xorriso's size would allow an image with this one's live bytes.
    const allowed = (image: string, dead: number) => Math.max(0, 1.02 * xs - (statSync(image).size - dead));
    process.stdout.write('pieces that differ from 1.00      image MiB   x xorriso   fetched MiB   collateral MiB   least possible MiB (this dead / dead to 1.02 x)\n');
    for (const [piece, image] of [...hinted].sort((x, y) => y[0] - x[0])) {
      const b = await pieceBreakdown(old, image, piece);
      const equal = Object.entries(b.bytes).filter(([k]) => k.startsWith('equal ')).reduce((n, [, v]) => n + v, 0);
      const dead = deadBytes.get(image)!;
      const own = await collateralBound(old, image, piece, dead), most = await collateralBound(old, image, piece, allowed(image, dead));
      process.stdout.write(`${`${piece / 1024} KiB, remastered for it${image === autoImage ? ' (auto)' : ''}`.padEnd(32)} ${mib(statSync(image).size).padStart(9)}   ${(statSync(image).size / xs).toFixed(3).padStart(9)}   ${mib(b.fetchedBytes).padStart(11)}   ${mib(equal).padStart(14)}   ${mib(own.boundBytes).padStart(8)} / ${mib(most.boundBytes)} (${((floors.get(image)! + most.boundBytes) / floors.get(image)!).toFixed(3)} x floor)\n`);
    }
    process.stdout.write('\nstock client, from a copy of 1.00          image           bytes MiB   x floor\n');
    const row = (what: string, image: string, bytes: number) =>
      process.stdout.write(`${what.padEnd(42)} ${(image === scratch ? 'scratch' : image.slice(work.length + 1, -4)).padEnd(14)} ${mib(bytes).padStart(10)}   ${(bytes / floors.get(image)!).toFixed(3).padStart(7)}\n`);
    if (have('libtorrent')) {
      for (const [piece, image] of [...hinted].sort((x, y) => y[0] - x[0])) {
        for (const which of piece === 262144 ? [image, scratch] : [image]) {
          row(`libtorrent, ${piece / 1024} KiB pieces`, which, await libtorrentBytes(work, which, old, piece, `${which === scratch ? 'scratch' : 'remastered'}-${piece}`));
        }
      }
    } else process.stdout.write('libtorrent: skipped (needs python3-libtorrent for /usr/bin/python3)\n');
    if (have('zsync') && have('zsyncmake')) {
      for (const image of [remastered, scratch]) row('zsync -i 1.00 (control file included)', image, await zsyncBytes(work, image, old, image === scratch ? 'scratch' : 'remastered'));
    } else process.stdout.write('zsync: skipped (needs zsync and zsyncmake)\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
