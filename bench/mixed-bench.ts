/**
 * Mixed bench: does one BitTorrent peer next to a web seed help a delta
 * sync, or at least not slow it down? On a generated release pair
 * (bench/make-large-image.sh: 1.00 on disk, 1.01 published by `isosync
 * publish --previous`, so its torrent carries delta hints; by default 80 %
 * of the packages change, so a sync fetches some 21 MB of the 126 MB image,
 * enough network for a peer to matter), in one run, per scenario:
 *
 *   (a)  `isosync sync 1.01.torrent --from 1.00.iso --web-seed MIRROR`
 *   (b)  the same plus `--peer SEED`, SEED being one `isosync seed` of 1.01
 *        started once, before the rounds, and verified before any is timed;
 *   (a') (a) again: the same build against itself, the run's own noise.
 *
 * The order of a round's three runs turns every round (a b a', b a' a,
 * a' a b: each takes each place once in three rounds), so a load that rises
 * or falls through a round weighs on every variant alike. With
 * ISOSYNC_BENCH_MIXED_BEFORE=DIR (a built worktree of an older commit,
 * node_modules included), each round also runs that build's client, its
 * own (a), (b) and (a'), against the same servers and seed: before and after
 * in one run (the two builds' turns in a round swap every round).
 *
 * Scenarios (ISOSYNC_BENCH_MIXED_SCENARIOS=loopback,mirror-32,peer-4,mirror-2 picks some):
 *   loopback   nginx and the seed as fast as the loopback lets them;
 *   mirror-32  nginx behind the bench's own pacing proxy, 32 MiB/s in total
 *              over all its connections (nginx's limit_rate is per
 *              connection), the seed unlimited;
 *   peer-4     nginx unlimited, the seed at 4 MiB/s (`--upload-limit 4M`);
 *   mirror-2   nginx behind the pacing proxy at 2 MiB/s in total, the seed
 *              unlimited: the mirror alone takes ~10 s for the delta, the
 *              case a peer is for (the sync starts its peers when the
 *              mirror would take more than a few seconds for the rest).
 *
 * Each run gets a fresh copy of 1.00, a fresh --home and a fresh output; its
 * output is checked against 1.01 by SHA-256 (a mismatch fails the bench).
 * Figures, per run: the wall time around the whole client process, the
 * client's CPU seconds (user + system, /usr/bin/time) and the CPU of the
 * client and the seed together (the seed idles through (a): its CPU then is
 * what (b) adds). Per scenario and build, over the rounds, for each figure
 * (bench/mixed/verdict.ts has the statistics and their sources): the median
 * of the per-round ratios b/a and a'/a, a 90 % randomization interval of
 * b/a (the rounds' (a) and (a') both as the reference; exact, no seed) and
 * of a'/a, and a verdict against a margin declared before the rounds
 * (ISOSYNC_BENCH_MIXED_MARGIN, percent, default 3):
 *   faster      the interval of b/a lies below 1;
 *   no slower   its upper end is at most 1 + margin;
 *   slower      it lies above 1 and reaches past 1 + margin;
 *   undecided   it holds both 1 and 1 + margin: the noise is wider than the
 *               question; more rounds narrow it (3 rounds are the fewest
 *               that give a 90 % interval).
 * On a shared machine of two cores the wall ratio of one round swings by 2x
 * with the load, the CPU ratio much less: the CPU ratios say what the peer
 * costs, the wall ratios whether that shows. Also per scenario: in how many
 * (b) runs the swarm started (the sync report's `peers.started`) and the
 * bytes the peer sent. The claim "a delta sync with one peer and a web seed
 * is no slower than with the web seed alone" HOLDS in a run when every
 * scenario's wall verdict is "no slower" or "faster", DOES NOT HOLD when one
 * is "slower" at the 5 % / (number of scenarios) a side that several
 * scenarios need (Bonferroni), and is UNDECIDED otherwise. Both sides run on one loopback;
 * the page cache is warm. Printed as measured, whatever it shows.
 *
 * Size: ISOSYNC_BENCH_MIXED_MB (payload MiB for make-large-image.sh, default
 * 100), ISOSYNC_BENCH_MIXED_FILES (packages, default 20 per MiB) and
 * ISOSYNC_BENCH_MIXED_CHANGE (percent of the packages changed, default 80;
 * 20 fetches ~6 MB); ISOSYNC_BENCH_MIXED_PAIR=DIR uses a pair already made
 * there (distro-large-1.00.iso, distro-large-1.01.iso);
 * ISOSYNC_BENCH_MIXED_ROUNDS (rounds per scenario, default 6; fewer than 3
 * give no verdict; a multiple of 3 gives each variant each place alike).
 * ISOSYNC_BENCH_MIXED_CPU_PROF=DIR writes a V8 CPU profile of every client
 * run and of the seeds (`node --cpu-prof`) into DIR, named after the
 * scenario, round and variant (profiling slows every run alike).
 *
 *   npm run bench -- mixed
 *
 * Everything lives in one temp folder, removed afterwards, also on failure
 * and on SIGINT/SIGTERM; nginx, the proxy and the seeds are stopped by the bench.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, killCurrent, measure, vmHwmKiB } from './delta/measure.js';
import { captureOutput, have, serveFile, sha256 } from './delta/host.js';
import { Nginx } from './delta/nginx.js';
import { MARGIN, claim, decide, median, roundOrder, type Decision, type Interval, type RoundFigures, type Variant, type Verdict } from './mixed/verdict.js';

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
/** The slow mirror's total rate (mirror-2). */
const SLOW_MIRROR_RATE = 2 * MIB;
const SLOW_PEER_RATE = '4M';
/** How far ahead of its rate the pacing proxy may send (a burst). */
const PACE_BURST_MS = 20;

const out = (s = '') => process.stdout.write(`${s}\n`);

/** A client build: this tree's, or an older one's (ISOSYNC_BENCH_MIXED_BEFORE). */
interface Build {
  readonly name: 'this' | 'before';
  readonly bin: string;
}

/** `node --cpu-prof` into DIR/NAME when ISOSYNC_BENCH_MIXED_CPU_PROF=DIR. */
function profArgs(name: string): string[] {
  const dir = process.env['ISOSYNC_BENCH_MIXED_CPU_PROF'];
  if (!dir) return [];
  mkdirSync(join(dir, name), { recursive: true });
  return ['--cpu-prof', '--cpu-prof-dir', join(dir, name)];
}

/** `isosync seed` of the new image, in its own process group; resolves once it has verified the image, with its port. */
type Seed = Awaited<ReturnType<typeof startSeed>>;

async function startSeed(torrent: string, image: string, home: string, extra: readonly string[] = []): Promise<{ child: ChildProcess; port: number; lines: string[]; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [...profArgs(`seed${extra.length ? '-limited' : ''}`), BIN, 'seed', torrent, image, '--port', '0', '--no-catalog', '--no-dht', '--json', '--home', home, ...extra], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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
  /** started: why the swarm started (sync/swarm-start.ts), false when it did not; absent in builds before that. */
  peers?: { downloaded: number; list: { address: string; downloaded: number; dropped?: string }[]; started?: string | false };
  seconds?: number;
}

const VARIANT_NAME: Record<Variant, string> = { a: "(a)", b: '(b)', a2: "(a')" };

interface RunResult {
  build: Build['name'];
  variant: Variant;
  round: number;
  /** Why the swarm started (the sync report's peers.started), false when it did not, undefined when the build does not say. */
  started: string | false | undefined;
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
const active: { nginx?: Nginx | undefined; seeds: Set<ChildProcess>; proxies: Set<Server>; dir?: string | undefined } = { seeds: new Set(), proxies: new Set() };

function onSignal(sig: NodeJS.Signals): void {
  killCurrent();
  for (const seed of active.seeds) {
    try {
      if (seed.pid !== undefined) process.kill(-seed.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const p of active.proxies) p.close();
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
  active.proxies.add(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
        active.proxies.delete(server);
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

/** (a), (b) and (a') of one scenario, for each build, in turns; returns each run's figures. */
async function runScenario(sc: Scenario, pair: Pair, nginx: Nginx, dir: string, rounds: number, builds: readonly Build[]): Promise<RunResult[]> {
  const { seed, webSeed } = sc;
  const peer = `127.0.0.1:${seed.port}`;
  const tf = join(dir, 'time.txt');
  out();
  out(`  scenario ${sc.name}: ${sc.label}`);
  out(`  (a) and (a') web seed alone: ${webSeed}; (b) the same plus --peer ${peer}; builds: ${builds.map((b) => `${b.name} (${b.bin})`).join(', ')}`);
  const results: RunResult[] = [];
  for (let i = 0; i < rounds; i++) {
    for (const { build, variant } of roundOrder(builds, i)) {
      const tag = `${sc.name}-${i}-${build.name}-${variant}`;
      const runDir = join(dir, `run-${tag}`);
      mkdirSync(runDir);
      const from = join(runDir, '1.00.iso');
      copyFileSync(pair.old, from);
      const output = join(runDir, '1.01.iso');
      const args = [...profArgs(tag), build.bin, 'sync', pair.torrent, '--from', from, '--web-seed', webSeed, '--home', join(runDir, 'home'), '-o', output, '--no-dht', '--json'];
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
        build: build.name,
        variant,
        round: i,
        started: j.peers?.started,
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
        `    round ${i + 1} ${build.name} ${VARIANT_NAME[variant]}: ${r.seconds.toFixed(2)} s (sync ${r.syncSeconds.toFixed(2)} s; CPU client ${r.clientCpu.toFixed(2)} s, seed ${r.seedCpu.toFixed(2)} s), nginx ${r.webBytes} bytes (client counts ${r.reportedWebBytes}), peer ${r.peerBytes} bytes${j.peers?.started !== undefined ? ` (swarm ${j.peers.started === false ? 'not started' : `started: ${j.peers.started}`})` : ''}, ` +
          `fetched ${r.fetchedBytes}, reused ${r.reusedBytes}; peak RSS ${(r.peakKiB / 1024).toFixed(0)} MiB; sha256 ${verified ? 'ok' : 'MISMATCH'}${dropped.length ? `; dropped: ${dropped.join('; ')}` : ''}`,
      );
      rmSync(runDir, { recursive: true, force: true });
    }
  }

  out(`  ${'build, variant'.padEnd(28)} ${'wall s'.padStart(7)} ${'sync s'.padStart(7)} ${'CPU client'.padStart(10)} ${'CPU seed'.padStart(8)} ${'web seed bytes'.padStart(14)} ${'peer bytes'.padStart(12)}  (medians)`);
  for (const build of builds) {
    for (const [v, label] of [['a', '(a) web seed alone'], ['b', '(b) web seed + one peer'], ['a2', "(a') web seed alone"]] as const) {
      const rs = results.filter((r) => r.build === build.name && r.variant === v);
      const med = (f: (r: RunResult) => number) => median(rs.map(f));
      out(
        `  ${`${build.name} ${label}`.padEnd(28)} ${med((r) => r.seconds).toFixed(2).padStart(7)} ${med((r) => r.syncSeconds).toFixed(2).padStart(7)} ${med((r) => r.clientCpu).toFixed(2).padStart(10)} ${med((r) => r.seedCpu).toFixed(2).padStart(8)} ${String(med((r) => r.webBytes)).padStart(14)} ${String(med((r) => r.peerBytes)).padStart(12)}`,
      );
    }
  }
  return results;
}

/** One build's rounds of one figure: (a), (b) and (a') of each round that ran all three. */
function roundFigures(results: readonly RunResult[], build: Build['name'], figure: (r: RunResult) => number): RoundFigures[] {
  const rounds: RoundFigures[] = [];
  for (const a of results.filter((r) => r.build === build && r.variant === 'a')) {
    const of = (v: Variant) => results.find((r) => r.build === build && r.variant === v && r.round === a.round);
    const b = of('b');
    const a2 = of('a2');
    if (b && a2) rounds.push({ a: figure(a), b: figure(b), a2: figure(a2) });
  }
  return rounds;
}

const FIGURES: [string, (r: RunResult) => number][] = [
  ['wall', (r) => r.seconds],
  ['CPU client', (r) => r.clientCpu],
  ['CPU client+seed', (r) => r.clientCpu + r.seedCpu],
];

const SIGN: Record<Verdict, string> = { faster: '-', 'no slower': '=', slower: '+', undecided: '?' };

function interval(iv: Interval): string {
  return Number.isFinite(iv.lo) ? `[${iv.lo.toFixed(3)}-${iv.hi.toFixed(3)} ${(iv.confidence * 100).toFixed(1)}%]` : '[none]';
}

/** "swarm started in 2 of 4 (b) runs (web-seed-slow 2); the peer sent a median 120000 bytes (100000-2000000)". */
function swarmLine(bs: readonly RunResult[]): string {
  const reasons = new Map<string, number>();
  for (const r of bs) if (r.started) reasons.set(r.started, (reasons.get(r.started) ?? 0) + 1);
  const said = bs.filter((r) => r.started !== undefined).length;
  const started = [...reasons.values()].reduce((n, x) => n + x, 0);
  const why = reasons.size ? ` (${[...reasons].map(([k, n]) => `${k} ${n}`).join(', ')})` : '';
  const swarm = said === 0 ? 'the build does not say whether its swarm started' : `swarm started in ${started} of ${said} (b) runs${why}`;
  const peer = bs.map((r) => r.peerBytes);
  return `${swarm}; the peer sent a median ${median(peer)} bytes (${Math.min(...peer)}-${Math.max(...peer)})`;
}

/** Per scenario and build: the ratios, their intervals, the swarm, and the verdict of each figure; then the claim's verdict. */
function summarize(all: readonly { sc: Scenario; results: RunResult[] }[], builds: readonly Build[], margin: number): void {
  out();
  out(`  per scenario and build, over the rounds: b/a and a'/a, the median of the per-round ratios, est. (b over the geometric mean of (a) and (a')), and a randomization interval [ends, confidence]; verdict against the margin ${(margin * 100).toFixed(1)}% declared before the rounds`);
  out(`  (- faster: interval below 1; = no slower: upper end <= ${(1 + margin).toFixed(3)}; + slower: interval above 1 and past ${(1 + margin).toFixed(3)}; ? undecided)`);
  const walls = new Map<Build['name'], Decision[]>();
  const wallOf = new Map<string, Map<Build['name'], Decision>>();
  for (const { sc, results } of all) {
    for (const build of builds) {
      const mine = results.filter((r) => r.build === build.name);
      out(`  ${sc.name}, ${build.name} (${new Set(mine.map((r) => r.round)).size} rounds): ${swarmLine(mine.filter((r) => r.variant === 'b'))}`);
      for (const [name, f] of FIGURES) {
        const d = decide(roundFigures(results, build.name, f), margin);
        out(`    ${name.padEnd(16)} b/a ${d.medianBA.toFixed(3)} est ${d.b.estimate.toFixed(3)} ${interval(d.b).padEnd(22)}  a'/a ${d.medianAA.toFixed(3)} ${interval(d.aa).padEnd(22)}  ${SIGN[d.verdict]} ${d.verdict}`);
        if (name === 'wall') {
          (walls.get(build.name) ?? walls.set(build.name, []).get(build.name)!).push(d);
          (wallOf.get(sc.name) ?? wallOf.set(sc.name, new Map()).get(sc.name)!).set(build.name, d);
        }
      }
      const wall = wallOf.get(sc.name)?.get(build.name);
      out(`    verdict (wall): ${wall?.rule}; ${wall?.control}`);
    }
  }
  if (builds.length > 1) {
    out(`  this build / before, of the median per-round ratios b/a (below 1: the peer costs less than it did):`);
    for (const { sc, results } of all) {
      const cells = FIGURES.map(([n, f]) => `${n} ${(decide(roundFigures(results, 'this', f), margin).medianBA / decide(roundFigures(results, 'before', f), margin).medianBA).toFixed(3)}`);
      out(`    ${sc.name.padEnd(10)} ${cells.join(', ')}`);
    }
  }
  for (const build of builds) {
    const ds = walls.get(build.name) ?? [];
    const c = claim(all.map(({ sc, results }) => ({ name: sc.name, rounds: roundFigures(results, build.name, (r) => r.seconds) })), margin);
    out(`  verdict (${build.name}): "a delta sync with one peer and a web seed is no slower than with the web seed alone" ${c.verdict} in this run, margin ${(margin * 100).toFixed(1)}%: ${c.rule} (wall: ${all.map(({ sc }, i) => `${sc.name} ${ds[i]?.verdict}`).join(', ')})`);
  }
}

export async function run(): Promise<void> {
  const missing = ['nginx', 'xorriso', 'dpkg-deb', 'dpkg-scanpackages'].filter((t) => !have(t));
  if (missing.length) {
    out(`mixed bench skipped: needs ${missing.join(', ')} (apt-get install nginx xorriso dpkg-dev)`);
    return;
  }
  const mb = Number(process.env['ISOSYNC_BENCH_MIXED_MB'] ?? 100);
  const files = Number(process.env['ISOSYNC_BENCH_MIXED_FILES'] ?? Math.max(100, Math.round(mb * 20)));
  const change = Number(process.env['ISOSYNC_BENCH_MIXED_CHANGE'] ?? 80);
  const rounds = Math.max(1, Number(process.env['ISOSYNC_BENCH_MIXED_ROUNDS'] ?? 6));
  const margin = Number(process.env['ISOSYNC_BENCH_MIXED_MARGIN'] ?? MARGIN * 100) / 100;
  if (!(margin >= 0 && margin < 1)) throw new Error(`ISOSYNC_BENCH_MIXED_MARGIN=${process.env['ISOSYNC_BENCH_MIXED_MARGIN']} is not a percentage from 0 to 100`);
  const before = process.env['ISOSYNC_BENCH_MIXED_BEFORE'];
  const builds: Build[] = [{ name: 'this', bin: BIN }];
  if (before) {
    const bin = join(before, 'bin', 'isosync');
    if (!existsSync(join(before, 'dist', 'src'))) throw new Error(`ISOSYNC_BENCH_MIXED_BEFORE=${before} has no build (dist/src): run npx tsc -p . there`);
    builds.push({ name: 'before', bin });
  }
  const given = process.env['ISOSYNC_BENCH_MIXED_PAIR'];
  const picked = (process.env['ISOSYNC_BENCH_MIXED_SCENARIOS'] ?? 'loopback,mirror-32,peer-4,mirror-2').split(',').map((x) => x.trim());

  const dir = mkdtempSync(join(tmpdir(), 'isosync-mixed-bench-'));
  active.dir = dir;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const seeds: Seed[] = [];
  const proxies: Awaited<ReturnType<typeof pacingProxy>>[] = [];
  try {
    const tf = join(dir, 'time.txt');
    const pairDir = given ?? join(dir, 'pair');
    if (!given) {
      const t = await measure('bash', [MAKE_PAIR, pairDir, '--files', String(files), '--mb', String(mb), '--change', String(change)], tf);
      out(`  pair made in ${t.seconds.toFixed(1)} s (make-large-image.sh, ${files} packages, --mb ${mb}, --change ${change})`);
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
      const proxy = await pacingProxy(nginx.port, MIRROR_RATE);
      proxies.push(proxy);
      scenarios.push({ name: 'mirror-32', label: `nginx behind a proxy pacing it to ${MIRROR_RATE / MIB} MiB/s in total, the seed unlimited`, webSeed: `http://127.0.0.1:${proxy.port}/1.01.iso`, seed: fast });
    }
    if (picked.includes('peer-4')) {
      const slow = await startSeed(torrent, cur, join(dir, 'slow-seed-home'), ['--upload-limit', SLOW_PEER_RATE]);
      seeds.push(slow);
      scenarios.push({ name: 'peer-4', label: `nginx unlimited, the seed at --upload-limit ${SLOW_PEER_RATE}`, webSeed: `${nginx.baseUrl}/1.01.iso`, seed: slow });
    }
    if (picked.includes('mirror-2')) {
      const proxy = await pacingProxy(nginx.port, SLOW_MIRROR_RATE);
      proxies.push(proxy);
      scenarios.push({ name: 'mirror-2', label: `nginx behind a proxy pacing it to ${SLOW_MIRROR_RATE / MIB} MiB/s in total, the seed unlimited`, webSeed: `http://127.0.0.1:${proxy.port}/1.01.iso`, seed: fast });
    }

    out(`  machine before: ${uptime()}`);
    out(`  pair: 1.00 ${statSync(old).size} bytes on disk -> 1.01 ${size} bytes (${(size / MIB).toFixed(1)} MiB), torrent with delta hints`);
    out(`  ${rounds} round(s) per scenario, each running (a), (b) and (a') of ${builds.map((b) => b.name).join(' and ')}, the order turned every round (a b a', b a' a, a' a b); each run from a fresh copy of 1.00, fresh --home, output checked by SHA-256; seeds verified before the rounds`);
    out(`  margin, declared before the rounds: (b) is "no slower" when the 90 % interval of its wall b/a ends at or below ${(1 + margin).toFixed(3)} (ISOSYNC_BENCH_MIXED_MARGIN=${(margin * 100).toFixed(1)})`);

    const all: { sc: Scenario; results: RunResult[] }[] = [];
    for (const sc of scenarios) all.push({ sc, results: await runScenario(sc, { torrent, old, want }, nginx, dir, rounds, builds) });
    summarize(all, builds, margin);

    const every = all.flatMap((x) => x.results);
    out(`  peak RSS: client syncs ${(every.reduce((n, r) => Math.min(n, r.peakKiB), Infinity) / 1024).toFixed(0)}-${(every.reduce((n, r) => Math.max(n, r.peakKiB), 0) / 1024).toFixed(0)} MiB, the isosync seed ${(vmHwmKiB(fast.child.pid!) / 1024).toFixed(0)} MiB (VmHWM)`);
    out(`  machine after: ${uptime()}`);
    if (every.some((r) => !r.verified)) throw new Error('a sync wrote an image whose SHA-256 is not 1.01');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const seed of seeds) await seed.stop();
    for (const p of proxies) await p.close();
    await active.nginx?.stop();
    active.nginx = undefined;
    rmSync(dir, { recursive: true, force: true });
    active.dir = undefined;
  }
}
