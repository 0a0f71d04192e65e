/**
 * Mixed bench: does one BitTorrent peer next to a web seed help a delta
 * sync, or at least not slow it down? On a generated release pair
 * (bench/make-large-image.sh: 1.00 on disk, 1.01 published by `isosync
 * publish --previous`, so its torrent carries delta hints), in one run, per
 * scenario, alternating (a) and (b) round by round (a b, b a, a b, ...):
 *
 *   (a) `isosync sync 1.01.torrent --from 1.00.iso --web-seed MIRROR`
 *   (b) the same plus `--peer SEED`, SEED being one `isosync seed` of 1.01
 *       started once, before the rounds, and verified before any is timed.
 *
 * Scenarios (ISOSYNC_BENCH_MIXED_SCENARIOS=loopback,mirror-32,peer-4 picks some):
 *   loopback   nginx and the seed as fast as the loopback lets them;
 *   mirror-32  nginx behind the bench's own pacing proxy, 32 MiB/s in total
 *              over all its connections (nginx's limit_rate is per
 *              connection), the seed unlimited;
 *   peer-4     nginx unlimited, the seed at 4 MiB/s (`--upload-limit 4M`).
 *
 * Each run gets a fresh copy of 1.00, a fresh --home and a fresh output; its
 * output is checked against 1.01 by SHA-256 (a mismatch fails the bench).
 * Figures per variant: median wall time around the whole client process,
 * median bytes nginx sent ($body_bytes_sent in its access log) and bytes
 * from the peer (the client's --json report), the ratio of the median
 * times (b) / (a), the median and range of the per-round ratios (each
 * round's (b) over its (a), run back to back), and the ratios of the median
 * CPU seconds (user + system, /usr/bin/time) of the client alone and of the
 * client and the seed together (the seed idles through (a): its CPU then
 * is what (b) adds). On a shared machine the wall time swings by 2x from
 * run to run with the load, the CPU time much less: the CPU ratios say what
 * the peer costs, the wall ratios whether that shows. The claim "a delta
 * sync with one peer and a web seed is no slower than with the web seed
 * alone" holds when the ratio of the median wall times is <= 1.00 in every
 * scenario. Both sides run on one loopback; the page cache is warm. Printed
 * as measured, whatever it shows.
 *
 * Size: ISOSYNC_BENCH_MIXED_MB (payload MiB for make-large-image.sh, default
 * 100) and ISOSYNC_BENCH_MIXED_FILES (packages, default 20 per MiB);
 * ISOSYNC_BENCH_MIXED_PAIR=DIR uses a pair already made there
 * (distro-large-1.00.iso, distro-large-1.01.iso); ISOSYNC_BENCH_MIXED_ROUNDS
 * (runs of each variant per scenario, default 7: one round's ratio swings
 * 0.65-1.7 on a loaded machine).
 *
 *   npm run bench -- mixed
 *
 * Everything lives in one temp folder, removed afterwards, also on failure
 * and on SIGINT/SIGTERM; nginx, the proxy and the seeds are stopped by the bench.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, killCurrent, measure, vmHwmKiB } from './delta/measure.js';
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
/** The rate-limited mirror's total rate, and the slow peer's. */
const MIRROR_RATE = 32 * MIB;
const SLOW_PEER_RATE = '4M';
/** How far ahead of its rate the pacing proxy may send (a burst). */
const PACE_BURST_MS = 20;

const out = (s = '') => process.stdout.write(`${s}\n`);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** `isosync seed` of the new image, in its own process group; resolves once it has verified the image, with its port. */
type Seed = Awaited<ReturnType<typeof startSeed>>;

async function startSeed(torrent: string, image: string, home: string, extra: readonly string[] = []): Promise<{ child: ChildProcess; port: number; lines: string[]; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'seed', torrent, image, '--port', '0', '--no-catalog', '--no-dht', '--json', '--home', home, ...extra], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  active.seeds.add(child);
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
    active.seeds.delete(child);
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
  round: number;
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
const active: { nginx?: Nginx | undefined; seeds: Set<ChildProcess>; proxy?: Server | undefined; dir?: string | undefined } = { seeds: new Set() };

function onSignal(sig: NodeJS.Signals): void {
  killCurrent();
  for (const seed of active.seeds) {
    try {
      if (seed.pid !== undefined) process.kill(-seed.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  active.proxy?.close();
  active.nginx?.stopNow();
  if (active.dir) rmSync(active.dir, { recursive: true, force: true });
  out(`mixed bench interrupted by ${sig}; nginx, the proxy and the seeds stopped, temp folder removed`);
  process.exit(130);
}

/** The client's CPU seconds (user + system), from a second /usr/bin/time around it; NaN without one. */
function clientCpu(file: string): number {
  const m = existsSync(file) ? /(\d+(?:\.\d+)?) (\d+(?:\.\d+)?)\s*$/.exec(readFileSync(file, 'utf8')) : null;
  return m ? Number(m[1]) + Number(m[2]) : NaN;
}

function uptime(): string {
  return spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
}

/**
 * A TCP proxy to `port` that paces what the server sends back to `rate`
 * bytes per second in total over every connection (nginx's limit_rate
 * counts one connection): a mirror with a slower uplink.
 */
async function pacingProxy(port: number, rate: number): Promise<{ port: number; close: () => Promise<void> }> {
  /** When the bytes sent so far would have left at exactly `rate`. */
  let due = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      s.setNoDelay(true); // as node:http does: a short reply must not wait for a delayed ACK
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      const now = performance.now();
      due = Math.max(due, now) + (chunk.length * 1000) / rate;
      const wait = due - PACE_BURST_MS - now;
      if (wait <= 0) return void client.write(chunk);
      upstream.pause();
      setTimeout(() => {
        client.write(chunk);
        upstream.resume();
      }, wait);
    });
    upstream.on('end', () => setTimeout(() => client.end(), Math.max(0, due - performance.now())));
    client.on('end', () => upstream.end());
  });
  active.proxy = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
        active.proxy = undefined;
      }),
  };
}

interface Scenario {
  readonly name: string;
  readonly label: string;
  readonly webSeed: string;
  readonly seed: Seed;
}

interface Pair {
  readonly torrent: string;
  readonly old: string;
  readonly want: string;
}

/** (a) and (b) of one scenario, alternating; returns each run's figures. */
async function runScenario(sc: Scenario, pair: Pair, nginx: Nginx, dir: string, rounds: number): Promise<RunResult[]> {
  const { seed, webSeed } = sc;
  const peer = `127.0.0.1:${seed.port}`;
  const tf = join(dir, 'time.txt');
  out();
  out(`  scenario ${sc.name}: ${sc.label}`);
  out(`  (a) web seed alone: ${webSeed}; (b) the same plus --peer ${peer}`);
  const results: RunResult[] = [];
  for (let i = 0; i < rounds; i++) {
    const order: ('a' | 'b')[] = i % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
    for (const variant of order) {
      const runDir = join(dir, `run-${sc.name}-${i}-${variant}`);
      mkdirSync(runDir);
      const from = join(runDir, '1.00.iso');
      copyFileSync(pair.old, from);
      const output = join(runDir, '1.01.iso');
      const args = [BIN, 'sync', pair.torrent, '--from', from, '--web-seed', webSeed, '--home', join(runDir, 'home'), '-o', output, '--no-dht', '--json'];
      if (variant === 'b') args.push('--peer', peer);
      await nginx.traffic(); // nothing before this run is counted
      const cpuFile = join(dir, 'cpu.txt');
      const seedCpu0 = cpuSeconds(seed.child.pid);
      const m = existsSync('/usr/bin/time') ? await measure('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, process.execPath, ...args], tf) : await measure(process.execPath, args, tf);
      const seedCpu = cpuSeconds(seed.child.pid) - seedCpu0;
      const traffic = await nginx.traffic();
      const j = JSON.parse(m.stdout) as SyncJson;
      // A peer closed with "both sides are seeds" is the normal end of a complete sync, not a drop.
      const verified = existsSync(output) && (await sha256(output)) === pair.want;
      const dropped = [...(j.webSeeds ?? []).filter((w) => w.dropped).map((w) => `web seed: ${w.dropped}`), ...(j.peers?.list ?? []).filter((p) => p.dropped && !/both sides are seeds/.test(p.dropped)).map((p) => `peer ${p.address}: ${p.dropped}`)];
      const r: RunResult = {
        variant,
        round: i,
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
  out(`  ${'variant'.padEnd(30)} ${'median wall s'.padStart(13)} ${'runs (s)'.padStart(30)} ${'web seed bytes'.padStart(14)} ${'peer bytes'.padStart(12)} ${'sha256'.padStart(8)}`);
  for (const [v, label] of [['a', '(a) web seed alone'], ['b', '(b) web seed + one peer']] as const) {
    const rs = of(v);
    out(
      `  ${label.padEnd(30)} ${median(rs.map((r) => r.seconds)).toFixed(2).padStart(13)} ${rs.map((r) => r.seconds.toFixed(2)).join(', ').padStart(30)} ${String(median(rs.map((r) => r.webBytes))).padStart(14)} ${String(median(rs.map((r) => r.peerBytes))).padStart(12)} ${(rs.every((r) => r.verified) ? 'ok' : 'MISMATCH').padStart(8)}`,
    );
  }
  const syncMed = (v: 'a' | 'b') => median(of(v).map((r) => r.syncSeconds));
  out(`  the clients' own "seconds" (without process start-up and shutdown), medians: (a) ${syncMed('a').toFixed(2)} s, (b) ${syncMed('b').toFixed(2)} s, ratio ${(syncMed('b') / syncMed('a')).toFixed(3)} x`);
  const cpuMed = (v: 'a' | 'b', k: 'clientCpu' | 'seedCpu') => median(of(v).map((r) => r[k])).toFixed(2);
  out(`  CPU seconds, medians: (a) client ${cpuMed('a', 'clientCpu')} + seed ${cpuMed('a', 'seedCpu')} (idle); (b) client ${cpuMed('b', 'clientCpu')} + seed ${cpuMed('b', 'seedCpu')} (${availableParallelism()} cores on this machine)`);
  const web = (v: 'a' | 'b') => median(of(v).map((r) => r.webBytes));
  out(`  bytes from the web seed (b) / (a): ${(web('a') ? web('b') / web('a') : NaN).toFixed(3)} x (medians of the runs)`);
  return results;
}

/** Each round's (b) over its (a): the two ran back to back. */
function roundRatios(results: readonly RunResult[]): number[] {
  const out: number[] = [];
  for (const a of results.filter((r) => r.variant === 'a')) {
    const b = results.find((r) => r.variant === 'b' && r.round === a.round);
    if (b) out.push(b.seconds / a.seconds);
  }
  return out;
}

/** (b) / (a) of the medians of one figure. */
function medianRatio(results: readonly RunResult[], figure: (r: RunResult) => number): number {
  const med = (v: 'a' | 'b') => median(results.filter((r) => r.variant === v).map(figure));
  return med('b') / med('a');
}

export async function run(): Promise<void> {
  const missing = ['nginx', 'xorriso', 'dpkg-deb', 'dpkg-scanpackages'].filter((t) => !have(t));
  if (missing.length) {
    out(`mixed bench skipped: needs ${missing.join(', ')} (apt-get install nginx xorriso dpkg-dev)`);
    return;
  }
  const mb = Number(process.env['ISOSYNC_BENCH_MIXED_MB'] ?? 100);
  const files = Number(process.env['ISOSYNC_BENCH_MIXED_FILES'] ?? Math.max(100, Math.round(mb * 20)));
  const rounds = Math.max(1, Number(process.env['ISOSYNC_BENCH_MIXED_ROUNDS'] ?? 7));
  const given = process.env['ISOSYNC_BENCH_MIXED_PAIR'];
  const picked = (process.env['ISOSYNC_BENCH_MIXED_SCENARIOS'] ?? 'loopback,mirror-32,peer-4').split(',').map((x) => x.trim());

  const dir = mkdtempSync(join(tmpdir(), 'isosync-mixed-bench-'));
  active.dir = dir;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const seeds: Seed[] = [];
  let proxy: Awaited<ReturnType<typeof pacingProxy>> | undefined;
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
    const fast = await startSeed(torrent, cur, join(dir, 'seed-home'));
    seeds.push(fast);
    const scenarios: Scenario[] = [];
    if (picked.includes('loopback')) scenarios.push({ name: 'loopback', label: 'nginx and the seed unlimited on the loopback', webSeed: `${nginx.baseUrl}/1.01.iso`, seed: fast });
    if (picked.includes('mirror-32')) {
      proxy = await pacingProxy(nginx.port, MIRROR_RATE);
      scenarios.push({ name: 'mirror-32', label: `nginx behind a proxy pacing it to ${MIRROR_RATE / MIB} MiB/s in total, the seed unlimited`, webSeed: `http://127.0.0.1:${proxy.port}/1.01.iso`, seed: fast });
    }
    if (picked.includes('peer-4')) {
      const slow = await startSeed(torrent, cur, join(dir, 'slow-seed-home'), ['--upload-limit', SLOW_PEER_RATE]);
      seeds.push(slow);
      scenarios.push({ name: 'peer-4', label: `nginx unlimited, the seed at --upload-limit ${SLOW_PEER_RATE}`, webSeed: `${nginx.baseUrl}/1.01.iso`, seed: slow });
    }

    out(`  machine before: ${uptime()}`);
    out(`  pair: 1.00 ${statSync(old).size} bytes on disk -> 1.01 ${size} bytes (${(size / MIB).toFixed(1)} MiB), torrent with delta hints`);
    out(`  ${rounds} run(s) of each variant per scenario, alternating; each from a fresh copy of 1.00, fresh --home, output checked by SHA-256; seeds verified before the rounds`);

    const all: { sc: Scenario; results: RunResult[] }[] = [];
    for (const sc of scenarios) all.push({ sc, results: await runScenario(sc, { torrent, old, want }, nginx, dir, rounds) });

    out();
    out(`  (b)/(a): wall = ratio of the median wall times; per round = median (range) of each round's ratio; CPU = ratio of the median CPU seconds of the client, and of the client and the seed`);
    out(`  ${'scenario'.padEnd(12)} ${'(a) median s'.padStart(12)} ${'(b) median s'.padStart(12)} ${'wall'.padStart(9)} ${'per round'.padStart(22)} ${'CPU client'.padStart(10)} ${'+ seed'.padStart(8)}  claim "no slower with one peer added"`);
    for (const { sc, results } of all) {
      const med = (v: 'a' | 'b') => median(results.filter((r) => r.variant === v).map((r) => r.seconds));
      const ratio = med('b') / med('a');
      const per = roundRatios(results);
      const perRound = `${median(per).toFixed(3)} (${Math.min(...per).toFixed(2)}-${Math.max(...per).toFixed(2)})`;
      const cpu = medianRatio(results, (r) => r.clientCpu);
      const both = medianRatio(results, (r) => r.clientCpu + r.seedCpu);
      out(`  ${sc.name.padEnd(12)} ${med('a').toFixed(2).padStart(12)} ${med('b').toFixed(2).padStart(12)} ${`${ratio.toFixed(3)} x`.padStart(9)} ${perRound.padStart(22)} ${`${cpu.toFixed(3)} x`.padStart(10)} ${`${both.toFixed(3)} x`.padStart(8)}  ${ratio <= 1 ? 'HOLDS' : 'DOES NOT HOLD'} in this run`);
    }
    const every = all.flatMap((x) => x.results);
    out(`  peak RSS: client syncs ${(every.reduce((n, r) => Math.min(n, r.peakKiB), Infinity) / 1024).toFixed(0)}-${(every.reduce((n, r) => Math.max(n, r.peakKiB), 0) / 1024).toFixed(0)} MiB, the isosync seed ${(vmHwmKiB(fast.child.pid!) / 1024).toFixed(0)} MiB (VmHWM)`);
    out(`  machine after: ${uptime()}`);
    if (every.some((r) => !r.verified)) throw new Error('a sync wrote an image whose SHA-256 is not 1.01');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const seed of seeds) await seed.stop();
    await proxy?.close();
    await active.nginx?.stop();
    active.nginx = undefined;
    rmSync(dir, { recursive: true, force: true });
    active.dir = undefined;
  }
}
