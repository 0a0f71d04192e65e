/**
 * Mixed bench: does one BitTorrent peer next to a web seed help a delta
 * sync, or at least not slow it down? On a generated release pair
 * (bench/make-large-image.sh: 1.00 on disk, 1.01 published by `isosync
 * publish --previous`, so its torrent carries delta hints), in one run,
 * alternating (a) and (b) round by round (a b, b a, a b, ...):
 *
 *   (a) `isosync sync 1.01.torrent --from 1.00.iso --web-seed NGINX`
 *   (b) the same plus `--peer SEED`, SEED being one `isosync seed` of 1.01
 *       started once, before the rounds, and verified before any is timed.
 *
 * Each run gets a fresh copy of 1.00, a fresh --home and a fresh output; its
 * output is checked against 1.01 by SHA-256 (a mismatch fails the bench).
 * Figures per variant: median wall time around the whole client process,
 * median bytes nginx sent ($body_bytes_sent in its access log) and bytes
 * from the peer (the client's --json report), and the ratio of the median
 * times (b) / (a): the claim "a delta sync with one peer and a web seed is
 * no slower than with the web seed alone" holds when it is <= 1.00. Both
 * sides run on one loopback, so the peer is no faster a link than nginx;
 * the page cache is warm. Printed as measured, whatever it shows.
 *
 * Size: ISOSYNC_BENCH_MIXED_MB (payload MiB for make-large-image.sh, default
 * 100) and ISOSYNC_BENCH_MIXED_FILES (packages, default 20 per MiB);
 * ISOSYNC_BENCH_MIXED_PAIR=DIR uses a pair already made there
 * (distro-large-1.00.iso, distro-large-1.01.iso); ISOSYNC_BENCH_MIXED_ROUNDS
 * (runs of each variant, default 5).
 *
 *   npm run bench -- mixed
 *
 * Everything lives in one temp folder, removed afterwards, also on failure
 * and on SIGINT/SIGTERM; nginx and the seed are stopped by their pids.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killCurrent, measure, vmHwmKiB } from './delta/measure.js';
import { captureOutput, have, serveFile, sha256 } from './delta/host.js';
import { Nginx } from './delta/nginx.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'isosync');
const MAKE_PAIR = join(ROOT, 'bench', 'make-large-image.sh');
const MIB = 1024 * 1024;
/** How long the seed may take to verify the image and listen. */
const SEED_START_MS = 300_000;
/** The seed, asked to stop (SIGINT), gets this long before SIGKILL. */
const STOP_GRACE_MS = 15_000;

const out = (s = '') => process.stdout.write(`${s}\n`);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** `isosync seed` of the new image, in its own process group; resolves once it has verified the image, with its port. */
async function startSeed(torrent: string, image: string, home: string): Promise<{ child: ChildProcess; port: number; lines: string[]; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'seed', torrent, image, '--port', '0', '--no-catalog', '--no-dht', '--json', '--home', home], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  active.seed = child;
  const lines: string[] = [];
  const output = captureOutput(child, lines, 4000);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const stop = async () => {
    if (gone) return;
    try {
      process.kill(-child.pid!, 'SIGINT');
    } catch {
      /* already gone */
    }
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, STOP_GRACE_MS);
    await exited;
    clearTimeout(t);
    active.seed = undefined;
  };
  const t0 = Date.now();
  while (!lines.some((l) => l.includes('"verified"'))) {
    if (gone || Date.now() - t0 > SEED_START_MS) {
      await stop();
      throw new Error(`isosync seed ${gone ? 'exited' : 'timed out'} before it verified the image: ${output.stderr().trim().slice(-1500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const port = Number(/"port":\s*(\d+)/.exec(lines.join('\n'))?.[1]);
  if (!port) {
    await stop();
    throw new Error(`isosync seed printed no port: ${lines.join('\n').slice(0, 1500)}`);
  }
  return { child, port, lines, stop };
}

interface SyncJson {
  fetchedBytes?: number;
  reusedBytes?: number;
  webSeeds?: { url: string; bytes: number; dropped?: string }[];
  peers?: { downloaded: number; list: { address: string; downloaded: number; dropped?: string }[] };
  seconds?: number;
}

interface RunResult {
  variant: 'a' | 'b';
  seconds: number;
  /** Peak RSS of the client (/usr/bin/time %M), KiB. */
  peakKiB: number;
  /** CPU seconds of the client process and of the seed during the run (the machine has few cores: the seed competes with the client). */
  clientCpu: number;
  seedCpu: number;
  /** The client's own "seconds" (its report: start of the sync to the renamed image, without process start-up and shutdown). */
  syncSeconds: number;
  /** Body bytes nginx sent during the run. */
  webBytes: number;
  /** Bytes the client reports it got from BitTorrent peers. */
  peerBytes: number;
  /** Bytes the client reports it got from web seeds (cross-check of webBytes). */
  reportedWebBytes: number;
  fetchedBytes: number;
  reusedBytes: number;
  verified: boolean;
  dropped: string[];
}

/** What a signal handler must end: the measured client, the seed, nginx, the temp folder. */
const active: { nginx?: Nginx | undefined; seed?: ChildProcess | undefined; dir?: string | undefined } = {};

function onSignal(sig: NodeJS.Signals): void {
  killCurrent();
  try {
    if (active.seed?.pid !== undefined) process.kill(-active.seed.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  active.nginx?.stopNow();
  if (active.dir) rmSync(active.dir, { recursive: true, force: true });
  out(`mixed bench interrupted by ${sig}; nginx and the seed stopped, temp folder removed`);
  process.exit(130);
}

/** CPU seconds (user + system) a running process has used so far, from /proc/PID/stat; NaN if unreadable. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ, 100 on Linux)
  } catch {
    return NaN;
  }
}

/** The client's CPU seconds (user + system), from a second /usr/bin/time around it; NaN without one. */
function clientCpu(file: string): number {
  const m = existsSync(file) ? /(\d+(?:\.\d+)?) (\d+(?:\.\d+)?)\s*$/.exec(readFileSync(file, 'utf8')) : null;
  return m ? Number(m[1]) + Number(m[2]) : NaN;
}

function uptime(): string {
  return spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
}

export async function run(): Promise<void> {
  const missing = ['nginx', 'xorriso', 'dpkg-deb', 'dpkg-scanpackages'].filter((t) => !have(t));
  if (missing.length) {
    out(`mixed bench skipped: needs ${missing.join(', ')} (apt-get install nginx xorriso dpkg-dev)`);
    return;
  }
  const mb = Number(process.env['ISOSYNC_BENCH_MIXED_MB'] ?? 100);
  const files = Number(process.env['ISOSYNC_BENCH_MIXED_FILES'] ?? Math.max(100, Math.round(mb * 20)));
  const rounds = Math.max(1, Number(process.env['ISOSYNC_BENCH_MIXED_ROUNDS'] ?? 5));
  const given = process.env['ISOSYNC_BENCH_MIXED_PAIR'];

  const dir = mkdtempSync(join(tmpdir(), 'isosync-mixed-bench-'));
  active.dir = dir;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let seed: Awaited<ReturnType<typeof startSeed>> | undefined;
  try {
    const tf = join(dir, 'time.txt');
    const pairDir = given ?? join(dir, 'pair');
    if (!given) {
      const t = await measure('bash', [MAKE_PAIR, pairDir, '--files', String(files), '--mb', String(mb)], tf);
      out(`  pair made in ${t.seconds.toFixed(1)} s (make-large-image.sh, ${files} packages, --mb ${mb})`);
    }
    const old = join(pairDir, 'distro-large-1.00.iso');
    const cur = join(pairDir, 'distro-large-1.01.iso');
    const size = statSync(cur).size;
    const want = await sha256(cur);

    const torrent = join(dir, '1.01.torrent');
    const pubHome = join(dir, 'publisher-home');
    await measure(process.execPath, [BIN, 'publish', old, '--product', 'bench-mixed', '--release', '1.00', '--home', pubHome, '-o', join(dir, '1.00.torrent')], tf);
    await measure(process.execPath, [BIN, 'publish', cur, '--product', 'bench-mixed', '--release', '1.01', '--previous', old, '--home', pubHome, '-o', torrent], tf);

    const www = join(dir, 'www');
    mkdirSync(www);
    serveFile(cur, www, '1.01.iso');
    const nginx = await Nginx.start(join(dir, 'nginx'), www, (n) => (active.nginx = n));
    const webSeed = `${nginx.baseUrl}/1.01.iso`;
    seed = await startSeed(torrent, cur, join(dir, 'seed-home'));
    const peer = `127.0.0.1:${seed.port}`;

    out(`  machine before: ${uptime()}`);
    out(`  pair: 1.00 ${statSync(old).size} bytes on disk -> 1.01 ${size} bytes (${(size / MIB).toFixed(1)} MiB), torrent with delta hints`);
    out(`  (a) web seed alone: nginx ${webSeed}; (b) the same plus --peer ${peer} (isosync seed of 1.01, verified before the rounds)`);
    out(`  ${rounds} run(s) of each, alternating; each from a fresh copy of 1.00, fresh --home, output checked by SHA-256`);

    const results: RunResult[] = [];
    for (let i = 0; i < rounds; i++) {
      const order: ('a' | 'b')[] = i % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
      for (const variant of order) {
        const runDir = join(dir, `run-${i}-${variant}`);
        mkdirSync(runDir);
        const from = join(runDir, '1.00.iso');
        copyFileSync(old, from);
        const output = join(runDir, '1.01.iso');
        const args = [BIN, 'sync', torrent, '--from', from, '--web-seed', webSeed, '--home', join(runDir, 'home'), '-o', output, '--no-dht', '--json'];
        if (variant === 'b') args.push('--peer', peer);
        await nginx.traffic(); // nothing before this run is counted
        const cpuFile = join(dir, 'cpu.txt');
        const seedCpu0 = cpuSeconds(seed.child.pid);
        const m = existsSync('/usr/bin/time') ? await measure('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, process.execPath, ...args], tf) : await measure(process.execPath, args, tf);
        const seedCpu = cpuSeconds(seed.child.pid) - seedCpu0;
        const traffic = await nginx.traffic();
        const j = JSON.parse(m.stdout) as SyncJson;
        // A peer closed with "both sides are seeds" is the normal end of a complete sync, not a drop.
        const verified = existsSync(output) && (await sha256(output)) === want;
        const dropped = [...(j.webSeeds ?? []).filter((w) => w.dropped).map((w) => `web seed: ${w.dropped}`), ...(j.peers?.list ?? []).filter((p) => p.dropped && !/both sides are seeds/.test(p.dropped)).map((p) => `peer ${p.address}: ${p.dropped}`)];
        const r: RunResult = {
          variant,
          seconds: m.seconds,
          peakKiB: m.peakKiB,
          syncSeconds: j.seconds ?? NaN,
          clientCpu: clientCpu(cpuFile),
          seedCpu,
          webBytes: traffic.bodyBytes,
          peerBytes: j.peers?.downloaded ?? 0,
          reportedWebBytes: (j.webSeeds ?? []).reduce((n, w) => n + w.bytes, 0),
          fetchedBytes: j.fetchedBytes ?? 0,
          reusedBytes: j.reusedBytes ?? 0,
          verified,
          dropped,
        };
        results.push(r);
        out(
          `    round ${i + 1} (${variant}): ${r.seconds.toFixed(2)} s (sync ${r.syncSeconds.toFixed(2)} s; CPU client ${r.clientCpu.toFixed(2)} s, seed ${r.seedCpu.toFixed(2)} s), nginx sent ${r.webBytes} bytes (client counts ${r.reportedWebBytes}), peer ${r.peerBytes} bytes, ` +
            `fetched ${r.fetchedBytes}, reused ${r.reusedBytes}; peak RSS ${(r.peakKiB / 1024).toFixed(0)} MiB; sha256 ${verified ? 'ok' : 'MISMATCH'}${dropped.length ? `; dropped: ${dropped.join('; ')}` : ''}`,
        );
        rmSync(runDir, { recursive: true, force: true });
      }
    }

    const of = (v: 'a' | 'b') => results.filter((r) => r.variant === v);
    out();
    out(`  ${'variant'.padEnd(30)} ${'median wall s'.padStart(13)} ${'runs (s)'.padStart(30)} ${'web seed bytes'.padStart(14)} ${'peer bytes'.padStart(12)} ${'sha256'.padStart(8)}`);
    const med: Partial<Record<'a' | 'b', number>> = {};
    for (const [v, label] of [['a', '(a) web seed alone'], ['b', '(b) web seed + one peer']] as const) {
      const rs = of(v);
      med[v] = median(rs.map((r) => r.seconds));
      out(
        `  ${label.padEnd(30)} ${med[v]!.toFixed(2).padStart(13)} ${rs.map((r) => r.seconds.toFixed(2)).join(', ').padStart(30)} ${String(median(rs.map((r) => r.webBytes))).padStart(14)} ${String(median(rs.map((r) => r.peerBytes))).padStart(12)} ${(rs.every((r) => r.verified) ? 'ok' : 'MISMATCH').padStart(8)}`,
      );
    }
    out(`  peak RSS: client syncs ${(results.reduce((n, r) => Math.min(n, r.peakKiB), Infinity) / 1024).toFixed(0)}-${(results.reduce((n, r) => Math.max(n, r.peakKiB), 0) / 1024).toFixed(0)} MiB, the isosync seed ${(vmHwmKiB(seed.child.pid!) / 1024).toFixed(0)} MiB (VmHWM)`);
    const ratio = med.b! / med.a!;
    out(`  ratio (b) / (a), median wall time: ${ratio.toFixed(3)} x -> claim "no slower with one peer added" ${ratio <= 1 ? 'HOLDS' : 'DOES NOT HOLD'} in this run`);
    const syncMed = (v: 'a' | 'b') => median(of(v).map((r) => r.syncSeconds));
    out(`  the clients' own "seconds" (without process start-up and shutdown), medians: (a) ${syncMed('a').toFixed(2)} s, (b) ${syncMed('b').toFixed(2)} s, ratio ${(syncMed('b') / syncMed('a')).toFixed(3)} x`);
    const cpuMed = (v: 'a' | 'b', k: 'clientCpu' | 'seedCpu') => median(of(v).map((r) => r[k])).toFixed(2);
    out(`  CPU seconds, medians: (a) client ${cpuMed('a', 'clientCpu')}; (b) client ${cpuMed('b', 'clientCpu')} + seed ${cpuMed('b', 'seedCpu')} (${availableParallelism()} cores on this machine)`);
    const web = (v: 'a' | 'b') => median(of(v).map((r) => r.webBytes));
    out(`  bytes from the web seed (b) / (a): ${(web('a') ? web('b') / web('a') : NaN).toFixed(3)} x (medians of the runs)`);
    out(`  machine after: ${uptime()}`);
    if (results.some((r) => !r.verified)) throw new Error('a sync wrote an image whose SHA-256 is not 1.01');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await seed?.stop();
    await active.nginx?.stop();
    active.nginx = undefined;
    rmSync(dir, { recursive: true, force: true });
    active.dir = undefined;
  }
}
