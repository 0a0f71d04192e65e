/**
 * Subset bench: on a generated release image of several hundred MB
 * (bench/make-large-image.sh, 1.01 of the pair), with a stock torrent
 * (mktorrent, 256 KiB pieces) whose only source is a web seed (a local
 * nginx that counts every byte it sends), in one run:
 *
 *   - `isosync get T --packages P1..P8`: only those packages' pieces and the
 *     pieces of the metadata that locates them (directories on their paths,
 *     the package index); checked against the bound the issue sets (their
 *     bytes + 2 pieces each + the metadata pieces) and file by file
 *     against the image's own bytes (SHA-256);
 *   - `isosync sync T --only` the same packages: a partial image, which
 *     also keeps the image's whole metadata;
 *   - curl of the same files from a plain HTTP tree of the release (the
 *     floor: a mirror that serves the files themselves);
 *   - aria2c downloading the whole image through the same web seed (what a
 *     stock BitTorrent client must do to get one file of an ISO torrent).
 *
 * Ratios are to curl's bytes (the floor) and to the whole image; times are
 * wall time around each client process. Size: ISOSYNC_BENCH_SUBSET_MB
 * (payload MB, default 300) and ISOSYNC_BENCH_SUBSET_FILES (packages,
 * default 20,000); ISOSYNC_BENCH_SUBSET_PAIR=DIR uses (or keeps) the pair
 * made there. Everything else lives in one temp folder, removed afterwards,
 * also on failure and on SIGINT/SIGTERM; nginx is stopped by its pid.
 *
 *   npm run bench -- subset
 *   ISOSYNC_BENCH_SUBSET_MB=40 npm run bench -- subset      (a quick run)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killCurrent, measure, type Measured } from './delta/measure.js';
import { freePort, Nginx, type Traffic } from './delta/nginx.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'isosync');
const MAKE_PAIR = join(ROOT, 'bench', 'make-large-image.sh');
const MIB = 1024 * 1024;
/** 2^18 = 256 KiB, what Debian's and isosync's torrents use. */
const PIECE_LOG2 = 18;
const PIECE = 2 ** PIECE_LOG2;
/** Packages fetched: a handful, spread over the pool. */
const PACKAGES = 8;

interface Row {
  method: string;
  bytes: number;
  requests: number;
  seconds: number;
  peakKiB: number;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => statSync(join(dir, f)).isFile() && !f.split('/').some((c) => c.startsWith('.')));
}

function run(cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * MIB });
  if (r.status !== 0) throw new Error(`${what} failed: ${(r.stderr || r.stdout || String(r.error)).slice(-800)}`);
  return r.stdout;
}

export async function run_(): Promise<void> {
  const mb = Number(process.env['ISOSYNC_BENCH_SUBSET_MB'] ?? 300);
  const files = Number(process.env['ISOSYNC_BENCH_SUBSET_FILES'] ?? 20_000);
  const kept = process.env['ISOSYNC_BENCH_SUBSET_PAIR'];
  for (const tool of ['nginx', 'mktorrent', 'curl', 'aria2c', 'xorriso', 'dpkg-deb']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      process.stdout.write(`subset bench skipped: ${tool} is missing (.ci/run installs it)\n`);
      return;
    }
  }
  const tmp = mkdtempSync(join(tmpdir(), 'isosync-bench-subset-'));
  let nginx: Nginx | undefined;
  const cleanup = () => {
    killCurrent();
    nginx?.stopNow();
    rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const pairDir = kept ?? join(tmp, 'pair');
    const image = join(pairDir, 'distro-large-1.01.iso');
    if (!existsSync(image)) {
      process.stdout.write(`making the release pair (${files} packages, ${mb} MB of payload)...\n`);
      run('bash', [MAKE_PAIR, pairDir, '--files', String(files), '--mb', String(mb)], 'make-large-image.sh');
    }
    const size = statSync(image).size;
    const www = join(tmp, 'www');
    mkdirSync(www);
    linkSync(image, join(www, 'distro-large-1.01.iso'));
    // The plain tree of the release (curl's mirror), and the index to choose packages from: read from the image locally.
    run(BIN, ['extract', image, '-o', join(www, 'tree')], 'isosync extract');
    const index = readFileSync(join(www, 'tree', 'dists', 'stable', 'main', 'binary-amd64', 'Packages'), 'utf8');
    const stanzas = index.split(/\n\n+/).map((s) => ({ name: /^Package: (.+)$/m.exec(s)?.[1], file: /^Filename: (.+)$/m.exec(s)?.[1] })).filter((s): s is { name: string; file: string } => !!s.name && !!s.file);
    const chosen = Array.from({ length: PACKAGES }, (_, i) => stanzas[Math.floor(((i + 0.5) * stanzas.length) / PACKAGES)]!);
    const fileBytes = chosen.reduce((n, c) => n + statSync(join(www, 'tree', c.file)).size, 0);

    const server = await Nginx.start(join(tmp, 'nginx'), www);
    nginx = server;
    const seedUrl = `${server.baseUrl}/distro-large-1.01.iso`;
    const torrent = join(tmp, 'stock.torrent');
    run('mktorrent', ['-l', String(PIECE_LOG2), '-w', seedUrl, '-o', torrent, image], 'mktorrent');
    await server.traffic();

    const rows: Row[] = [];
    const timeFile = join(tmp, 'time.txt');
    const record = async (method: string, m: Measured): Promise<Traffic> => {
      const t = await server.traffic();
      rows.push({ method, bytes: t.bodyBytes, requests: t.requests, seconds: m.seconds, peakKiB: m.peakKiB });
      return t;
    };

    // isosync get: the packages by name.
    const out = join(tmp, 'get');
    const g = await measure(BIN, ['get', torrent, '--packages', ...chosen.map((c) => c.name), '-o', out, '--no-catalog', '--home', join(tmp, 'home'), '--json'], timeFile);
    await record('isosync get --packages', g);
    const report = JSON.parse(g.stdout) as { files: { path: string; size: number }[]; fileBytes: number; metadataPieces: number; filePieces: number; boundBytes: number };
    if (report.files.length !== PACKAGES || report.fileBytes !== fileBytes) throw new Error(`get took ${report.files.length} files of ${report.fileBytes} bytes, expected ${PACKAGES} of ${fileBytes}`);
    const got = filesUnder(out);
    for (const f of got) if (sha256(join(out, f)) !== sha256(join(www, 'tree', f))) throw new Error(`get wrote ${f} wrong`);
    if (got.length !== PACKAGES) throw new Error(`get wrote ${got.length} files: ${got.join(', ')}`);
    const getBytes = rows[0]!.bytes;
    if (getBytes > report.boundBytes) throw new Error(`get fetched ${getBytes} bytes, above its bound ${report.boundBytes}`);

    // sync --only: a partial image of the same packages (whole metadata kept).
    const only = chosen.flatMap((c) => ['--only', `/${c.file}`]);
    const partial = join(tmp, 'partial');
    mkdirSync(partial);
    const o = await measure(BIN, ['sync', torrent, '-o', join(partial, 'distro-large-1.01.iso'), ...only, '--no-catalog', '--home', join(tmp, 'home2'), '--json'], timeFile);
    await record('isosync sync --only (partial image)', o);
    const partialReport = JSON.parse(o.stdout) as { metadataPieces: number; filePieces: number; piecesHeld: number };

    // curl: the same files from the plain tree (the floor).
    const c = await measure('curl', ['-sf', ...chosen.flatMap((x) => ['-o', join(tmp, 'curl', relative('.', x.file)), `${server.baseUrl}/tree/${x.file}`]), '--create-dirs'], timeFile);
    await record('curl, the files from a plain tree', c);

    // aria2c: a stock client takes the whole image through the web seed.
    const a = await measure('aria2c', ['--enable-dht=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--seed-time=0', '--no-conf=true', '--console-log-level=warn', '--summary-interval=0', '--file-allocation=none', '--bt-save-metadata=false', `--listen-port=${await freePort()}`, '-d', join(tmp, 'aria2'), torrent], timeFile);
    await record('aria2c, the whole image (stock)', a);
    if (sha256(join(tmp, 'aria2', 'distro-large-1.01.iso')) !== sha256(image)) throw new Error('aria2c wrote a different image');

    const floor = rows[2]!.bytes;
    process.stdout.write(`\nimage ${(size / MIB).toFixed(1)} MiB, ${stanzas.length} packages, stock torrent (256 KiB pieces), web seed only; ${PACKAGES} packages of ${(fileBytes / MIB).toFixed(2)} MiB chosen\n`);
    process.stdout.write(`get: ${report.metadataPieces} metadata piece(s), ${report.filePieces} file piece(s); bound ${(report.boundBytes / MIB).toFixed(2)} MiB; sync --only kept ${partialReport.piecesHeld} pieces (${partialReport.metadataPieces} of metadata)\n\n`);
    process.stdout.write(`${'method'.padEnd(40)} ${'MiB sent'.padStart(10)} ${'x floor'.padStart(8)} ${'of image'.padStart(9)} ${'requests'.padStart(9)} ${'seconds'.padStart(8)} ${'peak MiB'.padStart(9)}\n`);
    for (const r of rows) {
      process.stdout.write(`${r.method.padEnd(40)} ${(r.bytes / MIB).toFixed(2).padStart(10)} ${(r.bytes / floor).toFixed(2).padStart(8)} ${`${((100 * r.bytes) / size).toFixed(2)}%`.padStart(9)} ${String(r.requests).padStart(9)} ${r.seconds.toFixed(2).padStart(8)} ${(r.peakKiB / 1024).toFixed(0).padStart(9)}\n`);
    }
    process.stdout.write(`\nget within its bound: ${(getBytes / MIB).toFixed(2)} <= ${(report.boundBytes / MIB).toFixed(2)} MiB (files + 2 pieces each + metadata pieces); every file equal to the image's own\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await nginx?.stop();
    cleanup();
  }
}

export { run_ as run };
