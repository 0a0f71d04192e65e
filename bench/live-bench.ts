/**
 * `npm run bench -- live`: a generated live-image pair of several hundred MB
 * (fixtures/make-live.sh at LIVE_SCALE, default 60: ~300 MB of root tree, as
 * an xz squashfs and as an lz4hc EROFS), each synced 1 -> 2 through nginx by
 *   - isosync with a stock torrent (mktorrent, 256 KiB pieces, web seed only),
 *   - isosync with its own torrent (publish --previous: delta hints),
 *   - zsync (zsyncmake's control file fetched from nginx too, and counted),
 * in the same run. Bytes are nginx's body bytes; the byte floor is
 * `zstd --long --patch-from` of the new image against the old one, the block
 * floor bench/live-floor.ts. Also: isosync plan's prediction for both
 * torrents; wall time, CPU time and peak RSS of every process (plans too);
 * and peak RSS per nested file. LIVE_BEFORE=DIR adds the stock plan and
 * sync of the build in DIR (a worktree of an earlier commit) to the run. For
 * both pairs also the rollback 2 -> 1 with a stock torrent, its plan, and its
 * own byte floor (`zstd --long --patch-from` of the old image against the new
 * one; EROFS clusters rebuilt by re-encoding count in both directions).
 * LIVE_PROFILE=1 adds a profile of the stock sync and plan (live-profile.ts);
 * LIVE_ROUNDS=N repeats the stock syncs N times, alternating the builds' order.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeLiveFloor } from './live-floor.js';
import { profileRuns } from './live-profile.js';
import { haveTimeTool, measure, type Measured } from './delta/measure.js';
import { Nginx } from './delta/nginx.js';
import { have, sha256 } from './delta/host.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Reads `file` through once (into the page cache), 8 MiB at a time. */
function readWhole(file: string): void {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(8 << 20);
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}
const BIN = join(ROOT, 'bin', 'isosync');
const MIB = 1024 * 1024;
const out = (s = '') => process.stdout.write(`${s}\n`);

interface Row {
  method: string;
  bytes?: number;
  seconds?: number;
  peakKiB?: number;
  ok?: boolean;
  planned?: number;
  cpu?: number;
  note?: string;
}

export async function run(): Promise<void> {
  const need = ['mksquashfs', 'mkfs.erofs', 'mkfs.vfat', 'mcopy', 'xorriso', 'nginx', 'mktorrent', 'zstd'];
  const missing = need.filter((t) => !have(t));
  if (missing.length > 0) {
    out(`skipped: needs ${missing.join(', ')}`);
    return;
  }
  const scale = Number(process.env.LIVE_SCALE ?? 60);
  const work = mkdtempSync(join(tmpdir(), 'isosync-live-bench-'));
  // LIVE_PAIR=DIR: use (or, when empty, make and keep) the pair in DIR/live, to measure again without rebuilding it.
  const kept = process.env.LIVE_PAIR;
  let nginx: Nginx | undefined;
  try {
    const tf = join(work, 'time.txt');
    const pairDir = kept ?? work;
    if (!existsSync(join(pairDir, 'live', 'live-erofs-2.iso'))) {
      const made = await measure('bash', [join(ROOT, 'fixtures', 'make-live.sh'), pairDir, String(scale)], tf, undefined);
      out(`pair made at scale ${scale} in ${made.seconds.toFixed(0)} s`);
    } else out(`pair reused from ${pairDir}/live`);
    const www = join(pairDir, 'live');
    // nginx serves this run's own folder: links to the pair's images plus the run's zsync control files, so
    // runs sharing one LIVE_PAIR never write into it (nor delete each other's control files).
    const served = join(work, 'www');
    mkdirSync(served);
    for (const n of readdirSync(www)) if (n.endsWith('.iso')) symlinkSync(join(www, n), join(served, n));
    nginx = await Nginx.start(join(work, 'nginx'), served);
    const url = (n: string) => `${nginx!.baseUrl}/${n}`;
    // LIVE_VARIANTS=live-erofs: one variant only (each takes minutes).
    for (const variant of (process.env.LIVE_VARIANTS ?? 'live,live-erofs').split(',')) {
      const a = join(www, `${variant}-1.iso`);
      const b = join(www, `${variant}-2.iso`);
      const want = await sha256(b);
      out(`\n${variant}: ${variant === 'live' ? 'xz squashfs' : 'lz4hc EROFS'}, ${(statSync(a).size / MIB).toFixed(0)} MB -> ${(statSync(b).size / MIB).toFixed(0)} MB`);
      // Floors.
      // The floors depend on the pair only: with LIVE_PAIR they are kept beside it (zstd -19 takes minutes).
      const floorsFile = join(www, `${variant}.floors.json`);
      const pairKey = `${statSync(a).size}:${statSync(a).mtimeMs}:${statSync(b).size}:${statSync(b).mtimeMs}`;
      const cachedFloors = existsSync(floorsFile) ? (JSON.parse(readFileSync(floorsFile, 'utf8')) as { key: string; byteFloor: number; blockFloor: number; seconds: number; rollbackByteFloor?: number }) : undefined;
      let byteFloor: number;
      let blockFloor: number;
      let zstdSeconds: number;
      const zstdPatch = async (from: string, to: string): Promise<{ bytes: number; seconds: number }> => {
        const patch = join(work, 'patch.zst');
        const z = await measure('zstd', ['-q', '-f', '-19', '--long=30', '-T2', `--patch-from=${from}`, to, '-o', patch], tf);
        const bytes = statSync(patch).size;
        rmSync(patch);
        return { bytes, seconds: z.seconds };
      };
      if (cachedFloors?.key === pairKey) {
        ({ byteFloor, blockFloor, seconds: zstdSeconds } = cachedFloors);
      } else if (process.env.LIVE_NO_FLOORS) {
        // zstd -19 --long on a shared machine can take longer than the syncs: skip the floors (ratios print '-').
        byteFloor = blockFloor = zstdSeconds = 0;
      } else {
        ({ bytes: byteFloor, seconds: zstdSeconds } = await zstdPatch(a, b));
        blockFloor = (await computeLiveFloor(b, a)).floorBytes;
        if (process.env.LIVE_PAIR) writeFileSync(floorsFile, JSON.stringify({ key: pairKey, byteFloor, blockFloor, seconds: zstdSeconds }));
      }
      // The rollback's byte floor (2 -> 1), kept beside the others (a floors file of an earlier run lacks it: it is added).
      let rollbackByteFloor = cachedFloors?.key === pairKey ? (cachedFloors.rollbackByteFloor ?? 0) : 0;
      if (rollbackByteFloor === 0 && !process.env.LIVE_NO_FLOORS) {
        rollbackByteFloor = (await zstdPatch(b, a)).bytes;
        if (process.env.LIVE_PAIR) writeFileSync(floorsFile, JSON.stringify({ key: pairKey, byteFloor, blockFloor, seconds: zstdSeconds, rollbackByteFloor }));
      }
      out(`  byte floor (zstd --long --patch-from, ${zstdSeconds.toFixed(0)} s${cachedFloors?.key === pairKey ? ', kept from an earlier run' : ''}): ${byteFloor}; block floor: ${blockFloor}; rollback byte floor: ${rollbackByteFloor}`);
      // Torrents and the zsync control file (publisher side).
      const stock = join(work, `${variant}-stock.torrent`);
      await measure('mktorrent', ['-l', '18', '-w', url(`${variant}-2.iso`), '-o', stock, b], tf);
      const home = join(work, `pub-${variant}`);
      const hinted = join(work, `${variant}-hinted.torrent`);
      await measure(process.execPath, [BIN, 'publish', a, '--product', variant, '--release', '1', '--home', home, '-o', join(work, `${variant}-1.torrent`)], tf);
      const pub = await measure(process.execPath, [BIN, 'publish', b, '--product', variant, '--release', '2', '--previous', a, '--web-seed', url(`${variant}-2.iso`), '--home', home, '-o', hinted], tf);
      const info = JSON.parse((await measure(process.execPath, [BIN, 'info', hinted, '--json'], tf)).stdout) as { hints?: { bytes?: number } | null };
      out(`  publish with hints: ${pub.seconds.toFixed(0)} s; hints ${info.hints?.bytes ?? 0} bytes (${((100 * (info.hints?.bytes ?? 0)) / statSync(b).size).toFixed(3)} % of the image)`);
      const control = join(served, `${variant}-2.zsync`);
      if (have('zsyncmake')) await measure('zsyncmake', ['-u', url(`${variant}-2.iso`), '-o', control, b], tf);
      const rows: Row[] = [];
      // Every process is measured: wall, CPU (user + system, from a nested /usr/bin/time) and peak RSS.
      const timed = async (cmd: string, args: string[]): Promise<Measured & { cpu?: number }> => {
        if (!haveTimeTool()) return measure(cmd, args, tf, work);
        const cf = join(work, 'cpu.txt');
        const m = await measure('/usr/bin/time', ['-f', '%U %S', '-o', cf, cmd, ...args], tf, work);
        const [u, s] = readFileSync(cf, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
        return { ...m, cpu: u! + s! };
      };
      const client = async (method: string, cmd: string, args: string[], output: string, planArgs?: string[]): Promise<void> => {
        let plan: Row | undefined;
        if (planArgs) {
          await nginx!.traffic();
          const p = await timed(cmd, planArgs).catch(() => undefined);
          await nginx!.traffic();
          plan = { method: `${method}: plan`, ...(p ? { seconds: p.seconds, peakKiB: p.peakKiB, cpu: p.cpu, planned: (JSON.parse(p.stdout) as { fetchBytes: number }).fetchBytes } : { note: 'failed' }) };
        }
        try {
          const m = await timed(cmd, args);
          const t = await nginx!.traffic();
          rows.push({ method, bytes: t.bodyBytes, seconds: m.seconds, peakKiB: m.peakKiB, cpu: m.cpu, ok: (await sha256(output)) === want, ...(plan?.planned !== undefined ? { planned: plan.planned } : {}) });
        } catch (e) {
          await nginx!.traffic();
          rows.push({ method, note: `failed: ${(e as Error).message.split('\n')[0]!.slice(0, 200)}` });
        }
        if (plan) rows.push(plan);
        rmSync(output, { force: true });
      };
      const o = join(work, 'out.iso');
      // The measured syncs and plans run bin/isosync itself, as a user does, not `node bin/isosync`: its shebang's
      // V8 flags (a smaller young generation) then apply, and peak RSS is what a user sees (~15 MiB lower).
      // LIVE_BEFORE=DIR: also the stock sync of another build (a worktree of an earlier commit, built), in the same run.
      // LIVE_ROUNDS=N (default 1): the stock syncs N times, the builds' order alternating between rounds. Both
      // images are read once first, so the first measured process does not pay for filling the page cache.
      const before = process.env.LIVE_BEFORE;
      const builds: [string, string][] = [['isosync', BIN], ...(before ? [['before', join(before, 'bin', 'isosync')] as [string, string]] : [])];
      const rounds = Math.max(1, Number(process.env.LIVE_ROUNDS ?? 1) || 1);
      for (const f of [a, b]) readWhole(f);
      for (let round = 0; round < rounds; round++) {
        for (const [name, bin] of round % 2 ? [...builds].reverse() : builds) {
          const home = join(work, `c1-${name}-${round}`);
          const tag = rounds > 1 ? ` #${round + 1}` : '';
          await client(`${name}, stock mktorrent torrent${tag}`, bin, ['sync', stock, '--from', a, '-o', o, '--home', home, '--json'], o, ['plan', stock, '--from', a, '--home', `${home}-plan`, '--json']);
        }
      }
      await client('isosync, isosync torrent (hints)', BIN, ['sync', hinted, '--from', a, '-o', o, '--home', join(work, 'c2'), '--json'], o, ['plan', hinted, '--from', a, '--home', join(work, 'c2-plan'), '--json']);
      if (existsSync(control)) await client('zsync -i (incl. .zsync file)', 'zsync', ['-q', '-i', a, '-o', o, url(`${variant}-2.zsync`)], o);
      {
        const back = join(work, `${variant}-stock-1.torrent`);
        await measure('mktorrent', ['-l', '18', '-w', url(`${variant}-1.iso`), '-o', back, a], tf);
        const wantBack = await sha256(a);
        await nginx!.traffic();
        const p = await timed(BIN, ['plan', back, '--from', b, '--home', join(work, 'c3-plan'), '--json']).catch(() => undefined);
        const planned = p ? (JSON.parse(p.stdout) as { fetchBytes: number }).fetchBytes : undefined;
        await nginx!.traffic();
        const m = await timed(BIN, ['sync', back, '--from', b, '-o', o, '--home', join(work, 'c3'), '--json']).catch(() => undefined);
        const t = await nginx!.traffic();
        const ratio = rollbackByteFloor ? ` = ${(t.bodyBytes / rollbackByteFloor).toFixed(3)} x its byte floor` : '';
        const plan = planned !== undefined ? `, plan/sync ${(planned / t.bodyBytes).toFixed(3)}` : '';
        out(`  rollback 2 -> 1, isosync, stock mktorrent torrent: ${m ? `${t.bodyBytes} bytes${ratio}${plan}, ${m.seconds.toFixed(1)} s wall, ${m.cpu?.toFixed(1) ?? '-'} s CPU, ${(m.peakKiB / 1024).toFixed(0)} MiB peak, ${(await sha256(o)) === wantBack ? 'identical' : 'DIFFERENT'}` : 'failed'}`);
        rmSync(o, { force: true });
      }
      const zs = rows.find((r) => r.method.startsWith('zsync'));
      const hintedRow = rows.find((r) => r.method.includes('hints') && r.bytes !== undefined);
      out(`  load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
      out(`  ${['method', 'bytes', 'x byte floor', 'x block floor', 'x hints', 'x zsync', 'plan/sync', 'wall s', 'x zsync time', 'CPU s', 'peak MiB', 'ok'].join(' | ')}`);
      for (const r of rows) {
        if (r.note !== undefined) {
          out(`  ${r.method} | ${r.note}`);
          continue;
        }
        const x = (n: number | undefined) => (n && r.bytes !== undefined ? (r.bytes / n).toFixed(3) : '-');
        const planned = r.planned === undefined ? '-' : r.bytes === undefined ? String(r.planned) : (r.planned / r.bytes).toFixed(3);
        out(`  ${[r.method, r.bytes ?? '-', x(byteFloor), x(blockFloor), x(hintedRow?.bytes), x(zs?.bytes), planned, r.seconds!.toFixed(1), zs?.seconds ? (r.seconds! / zs.seconds).toFixed(2) : '-', r.cpu?.toFixed(1) ?? '-', (r.peakKiB! / 1024).toFixed(0), r.ok === undefined ? '-' : r.ok ? 'identical' : 'DIFFERENT'].join(' | ')}`);
      }
      // LIVE_PROFILE=1 (or a folder to keep the profiles in): where the stock sync's and plan's time goes (live-profile.ts).
      const prof = process.env.LIVE_PROFILE;
      if (prof) {
        const syncArgs = (h: string) => ['sync', stock, '--from', a, '-o', o, '--home', h, '--json'];
        await profileRuns(work, BIN, [
          { name: `${variant} stock sync`, args: syncArgs, output: o },
          { name: `${variant} stock plan`, args: (h) => ['plan', stock, '--from', a, '--home', h, '--json'] },
        ], prof === '1' ? undefined : prof);
      }
      const files = Number(spawnSync(process.execPath, [BIN, 'ls', '--deep', b, '--json'], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout.split('"path"').length - 1);
      const stockRow = rows[0];
      if (stockRow?.peakKiB) out(`  entries listed by ls --deep: ${files}; stock sync peak RSS per entry: ${((stockRow.peakKiB * 1024) / Math.max(1, files)).toFixed(0)} bytes (includes the process's fixed ~60 MB)`);
    }
  } finally {
    await nginx?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
