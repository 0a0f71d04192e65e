/**
 * Delta bench: on a generated release pair of several hundred MB
 * (bench/make-large-image.sh: 1.00 and 1.01 each built from scratch by
 * xorriso, 10-30% of the packages changed), in one run, against one local
 * nginx that counts every byte it sends ($body_bytes_sent in its access log):
 *
 *   - the floor (bench/floor.ts: target files found in no source + metadata),
 *   - `isosync sync` with isosync's torrent (delta hints) and with a stock
 *     mktorrent torrent, the web seed being nginx,
 *   - zsync (`zsyncmake` on the publisher side, timed apart; `zsync -i`,
 *     whose .zsync control file is fetched from nginx too and counted),
 *   - a plain full download with curl,
 *   - the rollback 1.01 -> 1.00 the same ways (isosync as the client that
 *     just upgraded: its catalog holds 1.01's torrent, whose "to" hints
 *     rebuild 1.00, and the 1.01 image it wrote; stock; zsync),
 *
 * then the peak memory of the same upgrade on a pair of half the size (the
 * same packages, half the payload: memory follows the file count, through
 * the ISO metadata, and must not follow the bytes), so whether it grows with
 * the image can be read off. Every output is checked
 * against the target by SHA-256. Wall time is around the whole client
 * process; peak RSS is /usr/bin/time's %M. The page cache is warm (the images
 * were just written and hashed; dropping it needs root), so times compare the
 * tools, not the disk.
 *
 * Size: ISOSYNC_BENCH_DELTA_MB (payload MB given to make-large-image.sh,
 * default 300) and ISOSYNC_BENCH_DELTA_FILES (packages, default 20 per MB).
 * ISOSYNC_BENCH_DELTA_PAIR=DIR uses a pair already made there
 * (distro-large-1.00.iso, distro-large-1.01.iso) and skips the half-size run
 * unless ISOSYNC_BENCH_DELTA_SMALL_PAIR=DIR names one too.
 *
 *   npm run bench -- delta
 *   ISOSYNC_BENCH_DELTA_MB=40 npm run bench -- delta     (a quick run)
 *
 * Speed (delta/speed.ts): after the upgrade's rows, the stock-torrent upgrade
 * again in ISOSYNC_BENCH_DELTA_ROUNDS rounds (default 3) alternating with
 * zsync, `cp` and `sha1sum` of the target (the write and hash floors) and,
 * with ISOSYNC_BENCH_DELTA_BEFORE=DIR (an older built worktree), that build;
 * then one run under --cpu-prof broken down into phases (planning, reading,
 * copying, hashing, writing, network, waiting), and again scaled to the main
 * thread's CPU seconds in that run. ISOSYNC_BENCH_DELTA_ONLY=speed
 * measures only that (no floor, no isosync torrents, no rollback, no half-size
 * pair).
 *
 * Everything lives in one temp folder, removed afterwards, also on failure
 * and on SIGINT/SIGTERM; nginx is stopped by its pid.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeFloor } from './floor.js';
import { haveTimeTool, killCurrent, measure, type Measured } from './delta/measure.js';
import { Nginx, type Traffic } from './delta/nginx.js';
import { have, serveFile, sha256 } from './delta/host.js';
import { measureSpeed } from './delta/speed.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Run as users run it, not as `node bin/isosync`: the shebang's V8 flags (bin/isosync) apply only then. */
const BIN = join(ROOT, 'bin', 'isosync');
const MAKE_PAIR = join(ROOT, 'bench', 'make-large-image.sh');
const MIB = 1024 * 1024;
/** 2^18 = 256 KiB: isosync's default piece length for images up to 4 GiB, given to mktorrent too. */
const PIECE_LOG2 = 18;
const PRODUCT = 'bench-delta';
const ROUNDS = Number(process.env['ISOSYNC_BENCH_DELTA_ROUNDS'] ?? 3);
const BEFORE = process.env['ISOSYNC_BENCH_DELTA_BEFORE'];
/** Only the speed rounds (delta/speed.ts). */
const SPEED_ONLY = process.env['ISOSYNC_BENCH_DELTA_ONLY'] === 'speed';

type Direction = 'up' | 'down';

interface Row {
  dir: Direction;
  method: string;
  /** Body bytes nginx sent for this run (all URIs). */
  bytes?: number;
  /** The same with the response headers ($bytes_sent): what the wire carried. */
  wireBytes?: number;
  requests?: number;
  seconds?: number;
  peakKiB?: number;
  verified?: boolean;
  /** Why the row has no figures. */
  skipped?: string;
  detail?: string;
  /** This row is the zsync reference of its direction. */
  zsync?: boolean;
}

interface Pair {
  old: string;
  cur: string;
}

interface PairResult {
  rows: Row[];
  sizes: { old: number; cur: number };
  floor: Partial<Record<Direction, number>>;
  notes: string[];
}

const out = (s = '') => process.stdout.write(`${s}\n`);

async function makePair(outDir: string, mb: number, files: number, work: string): Promise<Pair> {
  const t = await measure('bash', [MAKE_PAIR, outDir, '--files', String(files), '--mb', String(mb)], join(work, 'time.txt'));
  const summary = t.stderr
    .trim()
    .split('\n')
    .filter((l) => l.includes(' bytes, '))
    .map((l) => l.slice(l.lastIndexOf('/') + 1))
    .join('; ');
  out(`  pair made in ${t.seconds.toFixed(1)} s (${files} packages, --mb ${mb}): ${summary}`);
  return { old: join(outDir, 'distro-large-1.00.iso'), cur: join(outDir, 'distro-large-1.01.iso') };
}

interface Ctx {
  work: string;
  www: string;
  nginx: Nginx;
  hashes: Map<string, string>;
}

/** Runs one client, counts nginx's bytes for it, checks its output, removes the output unless `keep`. */
async function client(ctx: Ctx, row: Omit<Row, 'bytes' | 'wireBytes' | 'requests' | 'seconds' | 'peakKiB' | 'verified'>, cmd: string, args: string[], output: string, expected: string, cwd?: string, keep = false): Promise<{ row: Row; m?: Measured; traffic?: Traffic }> {
  await ctx.nginx.traffic(); // anything before this run is not counted
  let m: Measured;
  try {
    m = await measure(cmd, args, join(ctx.work, 'time.txt'), cwd);
  } catch (e) {
    await ctx.nginx.traffic();
    rmSync(output, { force: true });
    return { row: { ...row, skipped: `failed: ${(e as Error).message.split('\n')[0]!.slice(0, 300)}` } };
  }
  const traffic = await ctx.nginx.traffic();
  const verified = existsSync(output) && (await sha256(output)) === ctx.hashes.get(expected);
  if (!keep || !verified) rmSync(output, { force: true });
  return { row: { ...row, bytes: traffic.bodyBytes, wireBytes: traffic.bytes, requests: traffic.requests, seconds: m.seconds, peakKiB: m.peakKiB, verified }, m, traffic };
}

interface SyncJson {
  fetchedBytes?: number;
  reusedBytes?: number;
  sources?: { path: string; via?: string; hints?: string; reusedBytes: number }[];
}

/** isosync's own account of a run (its --json report), printed beside nginx's count. */
function isosyncDetail(m: Measured | undefined): string | undefined {
  let j: SyncJson;
  try {
    j = m ? (JSON.parse(m.stdout) as SyncJson) : {};
  } catch {
    return undefined;
  }
  if (j.fetchedBytes === undefined) return undefined;
  const sources = (j.sources ?? []).map((x) => `${x.path.slice(x.path.lastIndexOf('/') + 1)} via ${x.via ?? '?'}${x.hints ? ` with "${x.hints}" hints` : ''}: ${x.reusedBytes}`);
  return `isosync's own count: fetched ${j.fetchedBytes}, reused ${j.reusedBytes} (${sources.join('; ') || 'no local source'})`;
}

async function measurePair(pair: Pair, work: string, full: boolean): Promise<PairResult> {
  const res: PairResult = { rows: [], sizes: { old: statSync(pair.old).size, cur: statSync(pair.cur).size }, floor: {}, notes: [] };
  const tf = join(work, 'time.txt');
  const hashes = new Map([
    [pair.old, await sha256(pair.old)],
    [pair.cur, await sha256(pair.cur)],
  ]);

  if (SPEED_ONLY) return speedOnly(pair, work, res);
  let t0 = performance.now();
  res.floor.up = (await computeFloor(pair.cur, [pair.old])).floorBytes;
  if (full) res.floor.down = (await computeFloor(pair.old, [pair.cur])).floorBytes;
  res.notes.push(`floor computed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // Publisher side: isosync's torrents (1.01 with hints for both directions), stock torrents.
  const pubHome = join(work, 'publisher-home');
  const tOld = join(work, '1.00.torrent');
  const tCur = join(work, '1.01.torrent');
  await measure(BIN, ['publish', pair.old, '--product', PRODUCT, '--release', '1.00', '--home', pubHome, '-o', tOld], tf);
  const pub = await measure(BIN, ['publish', pair.cur, '--product', PRODUCT, '--release', '1.01', '--previous', pair.old, '--home', pubHome, '-o', tCur], tf);
  const info = JSON.parse((await measure(BIN, ['info', tCur, '--json'], tf)).stdout) as { hints?: { bytes?: number } | null };
  const hintBytes = info.hints?.bytes;
  res.notes.push(
    `isosync publish 1.01 --previous 1.00 (hashing + hints): ${pub.seconds.toFixed(2)} s, peak ${(pub.peakKiB / 1024).toFixed(0)} MiB; ` +
      `hints ${hintBytes ?? 'none'} bytes${hintBytes ? ` (${((100 * hintBytes) / res.sizes.cur).toFixed(3)}% of the image)` : ''}; torrent ${statSync(tCur).size} bytes`,
  );
  const stock = have('mktorrent');
  const mkOld = join(work, 'stock-1.00.torrent');
  const mkCur = join(work, 'stock-1.01.torrent');
  if (stock) {
    await measure('mktorrent', ['-l', String(PIECE_LOG2), '-o', mkOld, pair.old], tf);
    await measure('mktorrent', ['-l', String(PIECE_LOG2), '-o', mkCur, pair.cur], tf);
  }

  const www = join(work, 'www');
  mkdirSync(www);
  serveFile(pair.old, www, '1.00.iso');
  serveFile(pair.cur, www, '1.01.iso');
  const nginx = await Nginx.start(join(work, 'nginx'), www, (n) => (active.nginx = n));
  const ctx: Ctx = { work, www, nginx, hashes };
  const clientHome = join(work, 'client-home');
  const clientImage = join(work, 'client', '1.01.iso');
  mkdirSync(join(work, 'client'));
  const url = (n: string) => `${nginx.baseUrl}/${n}`;
  try {
    const directions: Direction[] = full ? ['up', 'down'] : ['up'];
    for (const dir of directions) {
      const [src, dst] = dir === 'up' ? [pair.old, pair.cur] : [pair.cur, pair.old];
      const dstName = dir === 'up' ? '1.01' : '1.00';
      const outIso = join(work, 'out.iso');

      // isosync with its own torrents. Upgrade: 1.01's "from" hints, 1.00 given with --from, into
      // a fresh client home (its catalog empty). Rollback: that same client, whose catalog now
      // knows 1.01 (its torrent, with the "to" hints, and the image it wrote) but has no 1.00
      // image; the 1.00 torrent itself carries no hints, and no --from is given.
      if (dir === 'up') {
        const args = ['sync', tCur, '--from', src, '--web-seed', url('1.01.iso'), '--home', clientHome, '-o', clientImage, '--json'];
        const ours = await client(ctx, { dir, method: 'isosync, isosync torrent (hints)' }, BIN, args, clientImage, dst, undefined, true);
        ours.row.detail = isosyncDetail(ours.m);
        res.rows.push(ours.row);
      } else if (existsSync(clientImage)) {
        const args = ['sync', tOld, '--web-seed', url('1.00.iso'), '--home', clientHome, '-o', outIso, '--json'];
        const ours = await client(ctx, { dir, method: 'isosync, hints of 1.01 via catalog' }, BIN, args, outIso, dst);
        ours.row.detail = isosyncDetail(ours.m);
        res.rows.push(ours.row);
      } else {
        res.rows.push({ dir, method: 'isosync, hints of 1.01 via catalog', skipped: 'skipped: the upgrade before it failed' });
      }

      if (stock) {
        const home = join(work, `client-home-stock-${dir}`);
        const r = await client(ctx, { dir, method: 'isosync, stock mktorrent torrent' }, BIN, ['sync', dir === 'up' ? mkCur : mkOld, '--from', src, '--web-seed', url(`${dstName}.iso`), '--home', home, '-o', outIso, '--json', '--no-catalog'], outIso, dst);
        r.row.detail = isosyncDetail(r.m);
        res.rows.push(r.row);
      } else {
        res.rows.push({ dir, method: 'isosync, stock mktorrent torrent', skipped: 'skipped: needs mktorrent' });
      }

      if (have('zsync') && have('zsyncmake')) {
        const control = join(www, `${dstName}.zsync`);
        const mk = await measure('zsyncmake', ['-u', url(`${dstName}.iso`), '-o', control, dst], tf, work);
        res.notes.push(`zsyncmake ${dstName}.iso (publisher side): ${mk.seconds.toFixed(2)} s, peak ${(mk.peakKiB / 1024).toFixed(0)} MiB, control file ${statSync(control).size} bytes`);
        const zout = join(work, 'zout.iso');
        const z = await client(ctx, { dir, method: 'zsync -i (incl. .zsync file)', zsync: true }, 'zsync', ['-q', '-i', src, '-o', zout, url(`${dstName}.zsync`)], zout, dst, work);
        if (z.traffic) {
          const c = z.traffic.byUri.get(`/${dstName}.zsync`)?.bodyBytes ?? 0;
          z.row.detail = `.zsync file ${c} bytes + ranges of the image ${z.traffic.bodyBytes - c} bytes`;
        }
        rmSync(`${zout}.zs-old`, { force: true });
        res.rows.push(z.row);
        if (dir === 'up' && stock && full) await measureSpeed({ work, nginx, bin: BIN, old: src, cur: dst, stockTorrent: mkCur, webSeed: url('1.01.iso'), zsyncUrl: url('1.01.zsync'), rounds: ROUNDS, beforeBin: BEFORE && join(BEFORE, 'bin', 'isosync') });
      } else {
        res.rows.push({ dir, method: 'zsync -i', skipped: 'skipped: needs zsync and zsyncmake (apt-get install zsync)', zsync: true });
      }

      if (full && have('curl')) {
        const fout = join(work, 'full.iso');
        res.rows.push((await client(ctx, { dir, method: 'curl, full download' }, 'curl', ['-sS', '-f', '-o', fout, url(`${dstName}.iso`)], fout, dst)).row);
      } else if (full) {
        res.rows.push({ dir, method: 'curl, full download', skipped: 'skipped: needs curl' });
      }
    }
  } finally {
    await nginx.stop();
    active.nginx = undefined;
  }
  return res;
}

/** ISOSYNC_BENCH_DELTA_ONLY=speed: the stock torrent, the .zsync file, nginx, and the speed rounds alone. */
async function speedOnly(pair: Pair, work: string, res: PairResult): Promise<PairResult> {
  const tf = join(work, 'time.txt');
  const torrent = join(work, 'stock-1.01.torrent');
  await measure('mktorrent', ['-l', String(PIECE_LOG2), '-o', torrent, pair.cur], tf);
  const www = join(work, 'www');
  mkdirSync(www);
  serveFile(pair.cur, www, '1.01.iso');
  const nginx = await Nginx.start(join(work, 'nginx'), www, (n) => (active.nginx = n));
  try {
    await measure('zsyncmake', ['-u', `${nginx.baseUrl}/1.01.iso`, '-o', join(www, '1.01.zsync'), pair.cur], tf, work);
    await measureSpeed({ work, nginx, bin: BIN, old: pair.old, cur: pair.cur, stockTorrent: torrent, webSeed: `${nginx.baseUrl}/1.01.iso`, zsyncUrl: `${nginx.baseUrl}/1.01.zsync`, rounds: ROUNDS, beforeBin: BEFORE && join(BEFORE, 'bin', 'isosync') });
  } finally {
    await nginx.stop();
    active.nginx = undefined;
  }
  return res;
}

function fmtRatio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? 'n/a' : `${(a / b).toFixed(3)}`;
}

function printTable(res: PairResult): void {
  const head = ['method', 'bytes fetched', 'x floor', 'x zsync bytes', 'wall s', 'x zsync time', 'peak RSS MiB', 'sha256'];
  const widths = [36, 14, 8, 13, 8, 12, 12, 8];
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ');
  for (const dir of ['up', 'down'] as const) {
    const rows = res.rows.filter((r) => r.dir === dir);
    if (rows.length === 0) continue;
    const z = rows.find((r) => r.zsync && r.bytes !== undefined);
    const floor = res.floor[dir];
    const [from, to] = dir === 'up' ? ['1.00', '1.01'] : ['1.01', '1.00'];
    const size = dir === 'up' ? res.sizes.cur : res.sizes.old;
    out();
    out(`${dir === 'up' ? 'upgrade' : 'rollback'} ${from} -> ${to}: target ${size} bytes (${(size / MIB).toFixed(1)} MiB), floor ${floor ?? 'n/a'} bytes (${floor !== undefined ? ((100 * floor) / size).toFixed(1) : '?'}% of the target)`);
    out(line(head));
    for (const r of rows) {
      if (r.skipped) {
        out(`${r.method.padEnd(widths[0]!)} ${r.skipped}`);
        continue;
      }
      out(
        line([
          r.method,
          String(r.bytes),
          fmtRatio(r.bytes, floor),
          fmtRatio(r.bytes, z?.bytes),
          r.seconds!.toFixed(2),
          fmtRatio(r.seconds, z?.seconds),
          (r.peakKiB! / 1024).toFixed(1),
          r.verified ? 'ok' : 'MISMATCH',
        ]),
      );
    }
    for (const r of rows) if (r.detail) out(`  ${r.method}: ${r.detail}; ${r.requests} requests, ${r.wireBytes} bytes with response headers`);
  }
  for (const n of res.notes) out(`  ${n}`);
}

/** What a signal handler must end: the measured child, nginx, the temp folder. */
const active: { nginx?: Nginx | undefined; dir?: string | undefined } = {};

function onSignal(sig: NodeJS.Signals): void {
  killCurrent();
  active.nginx?.stopNow();
  if (active.dir) rmSync(active.dir, { recursive: true, force: true });
  out(`delta bench interrupted by ${sig}; nginx stopped, temp folder removed`);
  process.exit(130);
}

export async function run(): Promise<void> {
  const missing = ['nginx', 'xorriso', 'dpkg-deb', 'dpkg-scanpackages'].filter((t) => !have(t));
  if (missing.length) {
    out(`delta bench skipped: needs ${missing.join(', ')} (apt-get install nginx xorriso dpkg-dev)`);
    return;
  }
  if (!haveTimeTool()) out('  note: /usr/bin/time missing (apt-get install time); peak RSS polled from /proc/PID/status VmHWM');
  const mb = Number(process.env['ISOSYNC_BENCH_DELTA_MB'] ?? 300);
  const files = Number(process.env['ISOSYNC_BENCH_DELTA_FILES'] ?? Math.max(100, Math.round(mb * 20)));
  const given = process.env['ISOSYNC_BENCH_DELTA_PAIR'];
  const givenSmall = process.env['ISOSYNC_BENCH_DELTA_SMALL_PAIR'];

  const dir = mkdtempSync(join(tmpdir(), 'isosync-delta-bench-'));
  active.dir = dir;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const pairOf = (d: string): Pair => ({ old: join(d, 'distro-large-1.00.iso'), cur: join(d, 'distro-large-1.01.iso') });
    out(`delta: release pair 1.00/1.01 built from scratch by xorriso${given ? ` (given: ${given})` : `, --mb ${mb}, ${files} packages`}`);
    const big = given ? pairOf(given) : await makePair(join(dir, 'pair'), mb, files, dir);
    const bigWork = join(dir, 'run-big');
    mkdirSync(bigWork);
    const bigRes = await measurePair(big, bigWork, true);
    printTable(bigRes);
    if (bigRes.rows.some((r) => r.verified === false)) process.exitCode = 1;
    if (SPEED_ONLY) return;
    rmSync(bigWork, { recursive: true, force: true });
    if (!given) rmSync(join(dir, 'pair'), { recursive: true, force: true });

    if (given && !givenSmall) {
      out('\npeak memory vs image size: skipped (ISOSYNC_BENCH_DELTA_PAIR given without ISOSYNC_BENCH_DELTA_SMALL_PAIR)');
      return;
    }
    // The same packages with half the payload: the bytes change, the file count (metadata, which memory does follow) does not.
    out(`\npeak memory vs image size: the same upgrade on a pair of half the size${givenSmall ? ` (given: ${givenSmall})` : ', the same number of files'}`);
    const small = givenSmall ? pairOf(givenSmall) : await makePair(join(dir, 'pair-small'), Math.max(1, Math.round(mb / 2)), files, dir);
    const smallWork = join(dir, 'run-small');
    mkdirSync(smallWork);
    const smallRes = await measurePair(small, smallWork, false);
    const mibOf = (b: number) => `${(b / MIB).toFixed(0)} MiB image`;
    out(`${'method (upgrade)'.padEnd(36)} ${`peak RSS, ${mibOf(bigRes.sizes.cur)}`.padStart(26)} ${`peak RSS, ${mibOf(smallRes.sizes.cur)}`.padStart(26)}`);
    for (const r of bigRes.rows.filter((x) => x.dir === 'up')) {
      const s = smallRes.rows.find((x) => x.dir === 'up' && x.method === r.method);
      if (!s || r.peakKiB === undefined || s.peakKiB === undefined) continue;
      const check = s.verified ? 'sha256 ok' : 'sha256 MISMATCH';
      out(`${r.method.padEnd(36)} ${`${(r.peakKiB / 1024).toFixed(1)} MiB`.padStart(26)} ${`${(s.peakKiB / 1024).toFixed(1)} MiB`.padStart(26)}   (half-size run: ${s.bytes} bytes fetched, ${check})`);
    }
    if (smallRes.rows.some((r) => r.verified === false)) process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await active.nginx?.stop();
    rmSync(dir, { recursive: true, force: true });
    active.dir = undefined;
  }
}
