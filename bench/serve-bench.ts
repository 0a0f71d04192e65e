/**
 * Serve bench: N isosync clients (default 8) update 1.00 -> 1.01
 * at once through one `isosync serve`, each by the image URL, each holding
 * 1.00. The server's bytes sent over HTTP and over BitTorrent (its /status
 * counters) are set beside one client's delta (the bytes its plan fetches)
 * and beside zsync, where N `zsync -i` clients fetch from nginx at once
 * (counted by nginx's $body_bytes_sent): zsync clients cannot share, so that
 * server sends N deltas. Every output is checked by SHA-256.
 *
 * Per client it prints where its time went: the moments its `-v` phase lines
 * appear (up: started and has the torrent; planning; fetching; done: every
 * byte is there) and its exit (after the courtesy wait for peers), with the
 * spans between them as median and max over the clients.
 *
 * Per client it also prints where its bytes came from, by phase, from the
 * client's --json report: fetched while planning (the target's metadata)
 * from the server over HTTP and from peers; then while assembling, from the
 * server over HTTP, from the server's seed over BitTorrent (told apart by
 * the peer id /status gives) and from other clients. The torrent each
 * client GETs is counted by its size.
 *
 * Pair: ISOSYNC_BENCH_SERVE_PAIR=DIR (distro-large-1.00.iso and -1.01.iso
 * already made there), else bench/make-large-image.sh with
 * ISOSYNC_BENCH_SERVE_MB (default 100) and 20 packages per MB.
 * ISOSYNC_BENCH_SERVE_CLIENTS sets N.
 *
 * Same-run comparisons: ISOSYNC_BENCH_SERVE_BASELINE=DIR (another build's
 * worktree, its bin/isosync) runs the same N clients through that build's
 * serve too; ISOSYNC_BENCH_SERVE_ROUNDS=R (default 1) repeats the rounds,
 * alternating baseline, this build and zsync. Each round prints its wall
 * time, the clients' CPU (user + system, summed; the machine may be shared,
 * so CPU is the steadier figure), the server's CPU and the load average.
 *
 *   npm run bench -- serve
 *
 * ISOSYNC_BENCH_SERVE_CPU_PROF=DIR writes a V8 CPU profile (`node --cpu-prof`,
 * through NODE_OPTIONS) of client 0 and of the server of each round into
 * DIR/ROUND-LABEL-client0 and DIR/ROUND-LABEL-serve: where one of the N
 * clients, and the server beside them, spend their CPU.
 *
 * Everything lives in one temp folder, removed afterwards; every process
 * started is stopped, also when the bench gets SIGINT or SIGTERM
 * (children.ts: each in its own process group).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Children } from './children.js';
import { cpuSeconds, haveTimeTool, vmHwmKiB } from './delta/measure.js';
import { Nginx } from './delta/nginx.js';
import { launcherOf } from './delta/profile.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Run as users run it, not as `node bin/isosync`: the shebang's V8 flags (bin/isosync) apply only then. */
const BIN = join(ROOT, 'bin', 'isosync');
const out = (s: string) => process.stdout.write(`${s}\n`);
/** Every process the bench starts (the pair script, publish, serve, clients, zsync), stopped at its end or on a signal. */
const children = new Children();

/** CMD ARGS under /usr/bin/time: its context switches (voluntary, involuntary), CPU seconds (user, system) and peak RSS written to `timeFile` (when GNU time is there). */
function timedArgs(cmd: string, args: string[], timeFile: string): [string, string[]] {
  return haveTimeTool() ? ['/usr/bin/time', ['-f', '%w %c %U %S %M', '-o', timeFile, cmd, ...args]] : [cmd, args];
}

/** CPU seconds (user + system) of the processes whose time files are given, summed; NaN without /usr/bin/time. */
function cpuSum(timeFiles: string[]): number {
  let sum = 0;
  for (const f of timeFiles) {
    try {
      const m = /([\d.]+) ([\d.]+) \d+\s*$/.exec(readFileSync(f, 'utf8'));
      sum += m ? Number(m[1]) + Number(m[2]) : NaN;
    } catch {
      sum = NaN;
    }
  }
  return sum;
}

/** `user+system` CPU seconds and `/voluntary+involuntary` context switches from a time file, or `-`. */
function userSystem(timeFile: string): string {
  try {
    const m = /(\d+) (\d+) ([\d.]+) ([\d.]+) \d+\s*$/.exec(readFileSync(timeFile, 'utf8'));
    return m ? `${m[3]}+${m[4]}/${m[1]}+${m[2]}` : '-';
  } catch {
    return '-';
  }
}

const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

/** Smallest and largest peak RSS, MiB, of the processes whose time files are given. */
function peakRange(timeFiles: string[]): string {
  const kib = timeFiles.map((f) => {
    try {
      return Number(/(\d+)\s*$/.exec(readFileSync(f, 'utf8'))?.[1] ?? NaN);
    } catch {
      return NaN;
    }
  });
  if (kib.some((k) => !Number.isFinite(k))) return 'n/a (needs /usr/bin/time)';
  const lo = kib.reduce((a, b) => Math.min(a, b), Infinity), hi = kib.reduce((a, b) => Math.max(a, b), 0);
  return `${(lo / 1024).toFixed(0)}-${(hi / 1024).toFixed(0)} MiB`;
}

async function sh(cmd: string, args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
  const t0 = performance.now();
  const r = await children.exec(cmd, args, cwd);
  return { ...r, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Where a client's time goes: the moments (s after `t0`, the common start) its `-v` phase lines
 * appear on stderr, and its exit. Phases (src/cli/sync-progress.ts): `checking` (the process is up
 * and has the torrent), `planning`, `fetching`, `finishing` (every byte is there: the .part is
 * renamed, then a sync that served peers waits for them, `courtesy`, before it exits).
 */
const PHASES = { checking: 'up', planning: 'plan', fetching: 'fetch', finishing: 'done' } as const;
type Moments = Partial<Record<(typeof PHASES)[keyof typeof PHASES] | 'exit', number>>;
const TIMELINE_HEAD = 'up (process started, torrent fetched) | plan | fetch (first block asked) | done (every byte here) | exit (after the courtesy wait)';

/**
 * `bin args`, or, when ISOSYNC_BENCH_SERVE_CPU_PROF=DIR, node with the launcher's flags and variables (launcherOf)
 * and `--cpu-prof` into DIR/NAME on bin's script (NODE_OPTIONS may not carry --cpu-prof).
 */
function profiled(name: string | undefined, bin: string, args: string[]): { cmd: string; args: string[]; env: NodeJS.ProcessEnv } {
  const dir = process.env['ISOSYNC_BENCH_SERVE_CPU_PROF'];
  if (!dir || name === undefined) return { cmd: bin, args, env: process.env };
  const { flags, env } = launcherOf(readFileSync(bin, 'utf8'));
  return { cmd: process.execPath, args: [...flags, '--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`, bin, ...args], env: { ...process.env, ...env } };
}

function phased(t0: number, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string; at: Moments }> {
  return new Promise((resolve) => {
    const child = children.spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const at: Moments = {};
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      const now = (performance.now() - t0) / 1000;
      stderr += d;
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        const m = /^isosync: (checking|planning|fetching|finishing)\b/.exec(l);
        if (m) at[PHASES[m[1] as keyof typeof PHASES]] ??= now;
      }
    });
    child.once('close', (code) => {
      at.exit = (performance.now() - t0) / 1000;
      resolve({ code: code ?? 1, stdout, stderr, at });
    });
  });
}

const f1 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));

function timelineRow(m: Moments): string {
  return `up ${f1(m.up)} | plan ${f1(m.plan)} | fetch ${f1(m.fetch)} | done ${f1(m.done)} | exit ${f1(m.exit)}`;
}

/** The spans between the moments, as median (max) over the clients; the start is 0. */
function spans(ms: Moments[]): string {
  const span = (name: string, a: keyof Moments | 'start', b: keyof Moments) => {
    const xs = ms.flatMap((m) => {
      const from = a === 'start' ? 0 : m[a];
      return from !== undefined && m[b] !== undefined ? [m[b]! - from] : [];
    }).sort((x, y) => x - y);
    return xs.length === 0 ? `${name} -` : `${name} ${xs[Math.floor((xs.length - 1) / 2)]!.toFixed(1)} (${xs[xs.length - 1]!.toFixed(1)})`;
  };
  return [span('start->up', 'start', 'up'), span('up->fetch', 'up', 'fetch'), span('fetching', 'fetch', 'done'), span('done->exit', 'done', 'exit')].join(', ');
}

const have = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 }).on('data', (c) => h.update(c)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;

interface ClientReport {
  fetchBytes: number;
  fetchedBytes: number;
  metadataFetchedBytes: number;
  /** Bytes that came after another source had sent them (endgame repeats, asks withdrawn too late). */
  duplicateBytes?: number;
  webSeeds: { bytes: number; dropped?: string }[];
  planningFetched?: { webSeeds: number; peers: number };
  peers?: { downloaded: number; uploaded: number; list: { peerId?: string; downloaded: number }[] };
}

/** Where one client's bytes came from, by phase: what the server sent it over HTTP and BitTorrent, and what other clients did. */
function breakdown(r: ClientReport, serverPeerIds: ReadonlySet<string>): { planHttp: number; planPeers: number; assembleHttp: number; btServer: number; btClients: number } {
  const http = r.webSeeds.reduce((n, s) => n + s.bytes, 0);
  const planHttp = r.planningFetched?.webSeeds ?? 0;
  const list = r.peers?.list ?? [];
  const btServer = list.filter((p) => p.peerId !== undefined && serverPeerIds.has(p.peerId)).reduce((n, p) => n + p.downloaded, 0);
  return { planHttp, planPeers: r.planningFetched?.peers ?? 0, assembleHttp: http - planHttp, btServer, btClients: (r.peers?.downloaded ?? 0) - btServer };
}

async function serverStatus(url: string): Promise<{ http: { bytesSent: number }; bittorrent: { bytesSent: number; seeds: { peerId?: string }[] }; torrents: unknown[]; swarms: { seeders: number }[] }> {
  return (await (await fetch(`${url}/status.json`)).json()) as never;
}

/** One round of N isosync clients through `bin`'s serve: what the server sent, where each client's bytes came from, times. */
async function isosyncRound(bin: string, label: string, round: number, work: string, srv: string, pub: string, pairDir: string, want: string, dirs: string[]): Promise<{ wall: number; cpu: number; sent: number; lines: string[] }> {
  const sp = profiled(`${round}-${label}-serve`, bin, ['serve', srv, '--port', '0', '--min-size', '1000000', '--home', pub]);
  const serve = children.spawn(sp.cmd, sp.args, { stdio: ['ignore', 'pipe', 'inherit'], env: sp.env });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buf = '';
      serve.stdout!.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        const m = /at (http:\/\/\S+?)\/?\n/.exec(buf);
        if (m) resolve(m[1]!);
      });
      serve.on('exit', (c) => reject(new Error(`isosync serve exited with ${c}`)));
    });
    for (let i = 0; ; i++) {
      const s = await serverStatus(url);
      if (s.swarms.filter((w) => w.seeders > 0).length >= 2) break;
      if (i > 600) throw new Error('isosync serve did not seed in 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = await serverStatus(url);
    const serveCpu0 = cpuSeconds(serve.pid);
    for (const d of dirs) {
      rmSync(d, { recursive: true, force: true });
      mkdirSync(d);
      linkSync(join(pairDir, 'distro-large-1.00.iso'), join(d, 'distro-large-1.00.iso'));
    }
    const load0 = load();
    const t0 = performance.now();
    const runs = await Promise.all(
      dirs.map((d, i) => {
        const p = profiled(i === 0 ? `${round}-${label}-client0` : undefined, bin, ['sync', `${url}/distro-large-1.01.iso`, '--from', join(d, 'distro-large-1.00.iso'), '-o', join(d, 'distro-large-1.01.iso'), '--home', join(d, 'home'), '--json', '-v']);
        return phased(t0, ...timedArgs(p.cmd, p.args, join(d, 'time')), p.env);
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    const clientPeaks = peakRange(dirs.map((d) => join(d, 'time')));
    const clientCpu = cpuSum(dirs.map((d) => join(d, 'time')));
    const after = await serverStatus(url);
    const serveCpu = cpuSeconds(serve.pid) - serveCpu0;
    for (const [i, r] of runs.entries()) if (r.code !== 0) throw new Error(`${label}: client ${i} failed: ${r.stderr.slice(-500)}`);
    let ok = 0;
    for (const d of dirs) if ((await sha256(join(d, 'distro-large-1.01.iso'))) === want) ok++;
    const reports = runs.map((r) => JSON.parse(r.stdout) as ClientReport);
    const torrentBytes = statSync(join(work, '1.01.torrent')).size;
    const serverIds = new Set(after.bittorrent.seeds.flatMap((x) => (x.peerId ? [x.peerId] : [])));
    const rows = reports.map((r) => breakdown(r, serverIds));
    const delta = reports[0]!.fetchBytes;
    const httpSent = after.http.bytesSent - before.http.bytesSent;
    const btSent = after.bittorrent.bytesSent - before.bittorrent.bytesSent;
    const peerShare = reports.reduce((n, r) => n + (r.peers?.uploaded ?? 0), 0);
    const dropped = reports.filter((r) => r.webSeeds.some((w) => w.dropped !== undefined)).length;
    const servePeakKiB = serve.pid !== undefined ? vmHwmKiB(serve.pid) : 0;
    const lines: string[] = [];
    const x = (n: number) => `${(n / delta).toFixed(3)}x`;
    lines.push(`  ${label}: one client's delta (its plan's fetch bytes): ${mb(delta)}`);
    lines.push(`  timeline per client (s from the common start): ${TIMELINE_HEAD}`);
    for (const [i, r] of runs.entries()) lines.push(`    client ${i}: ${timelineRow(r.at)}`);
    lines.push(`    spans, median (max) over clients: ${spans(runs.map((r) => r.at))}`);
    lines.push(`    CPU s per client (user+system/voluntary+involuntary context switches): ${dirs.map((d) => userSystem(join(d, 'time'))).join(' ')}`);
    // Per client (torrent size is that of the published torrent, which the server's matches in size only roughly): where its bytes came from.
    lines.push(`  per client, in deltas: torrent (~${x(torrentBytes)}) | planning: server HTTP, peers | assemble: server HTTP, server BT, other clients`);
    for (const [i, b] of rows.entries()) lines.push(`    client ${i}: plan ${x(b.planHttp)} ${x(b.planPeers)} | assemble ${x(b.assembleHttp)} ${x(b.btServer)} ${x(b.btClients)} | metadata ${x(reports[i]!.metadataFetchedBytes)}`);
    const sum = (f: (b: (typeof rows)[number]) => number) => rows.reduce((n, b) => n + f(b), 0);
    lines.push(`    all: planning HTTP ${x(sum((b) => b.planHttp))}, planning from peers ${x(sum((b) => b.planPeers))}, assemble HTTP ${x(sum((b) => b.assembleHttp))}, server BT ${x(sum((b) => b.btServer))}, torrents ~${x(dirs.length * torrentBytes)}; server counters: HTTP ${x(httpSent)}, BT ${x(btSent)}; late copies the clients got (from anyone) ${x(reports.reduce((n, r) => n + (r.duplicateBytes ?? 0), 0))}`);
    lines.push(`  ${label} serve (${dirs.length} at once): HTTP ${mb(httpSent)} + BitTorrent ${mb(btSent)} = ${mb(httpSent + btSent)} = ${((httpSent + btSent) / delta).toFixed(2)} x one delta (target <= 1.3 x); clients uploaded ${mb(peerShare)} to each other; ${ok}/${dirs.length} bit-identical; web seed dropped by ${dropped}/${dirs.length}; wall ${wall.toFixed(1)} s; CPU: clients ${clientCpu.toFixed(1)} s, serve ${serveCpu.toFixed(1)} s; load ${load0} -> ${load()}; peak RSS: isosync serve ${(servePeakKiB / 1024).toFixed(0)} MiB (VmHWM), clients ${clientPeaks}`);
    return { wall, cpu: clientCpu, sent: (httpSent + btSent) / delta, lines };
  } finally {
    serve.kill('SIGTERM');
    await new Promise((r) => (serve.exitCode !== null || serve.signalCode !== null ? r(undefined) : serve.on('exit', r)));
  }
}

/** One round of N zsync clients against nginx: what nginx sent, times. */
async function zsyncRound(nginx: Nginx, want: string, dirs: string[]): Promise<{ wall: number; cpu: number; line: string; bytes: number }> {
  await nginx.traffic();
  const load0 = load();
  const z0 = performance.now();
  const zr = await Promise.all(dirs.map((d) => sh(...timedArgs('zsync', ['-q', '-i', join(d, 'distro-large-1.00.iso'), '-o', join(d, 'z.iso'), `${nginx.baseUrl}/distro-large-1.01.zsync`], join(d, 'ztime')), d)));
  const wall = (performance.now() - z0) / 1000;
  const traffic = await nginx.traffic();
  let zok = 0;
  for (const [i, d] of dirs.entries()) if (zr[i]!.code === 0 && (await sha256(join(d, 'z.iso'))) === want) zok++;
  for (const d of dirs) rmSync(join(d, 'z.iso'), { force: true });
  const cpu = cpuSum(dirs.map((d) => join(d, 'ztime')));
  return { wall, cpu, bytes: traffic.bodyBytes, line: `zsync (${dirs.length} at once, nginx): server sent ${mb(traffic.bodyBytes)} (incl. the .zsync file); ${zok}/${dirs.length} bit-identical; wall ${wall.toFixed(1)} s; CPU: clients ${cpu.toFixed(1)} s; load ${load0} -> ${load()}; peak RSS of the zsync clients ${peakRange(dirs.map((d) => join(d, 'ztime')))}` };
}

export async function run(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'isosync-serve-bench-'));
  let nginx: Nginx | undefined;
  const release = children.onSignals(async () => {
    await nginx?.stop();
    rmSync(work, { recursive: true, force: true });
  });
  try {
    const clients = Number(process.env['ISOSYNC_BENCH_SERVE_CLIENTS'] ?? 8);
    const roundCount = Number(process.env['ISOSYNC_BENCH_SERVE_ROUNDS'] ?? 1);
    const baseline = process.env['ISOSYNC_BENCH_SERVE_BASELINE'];
    let pairDir = process.env['ISOSYNC_BENCH_SERVE_PAIR'];
    if (!pairDir) {
      const size = Number(process.env['ISOSYNC_BENCH_SERVE_MB'] ?? 100);
      pairDir = join(work, 'pair');
      const m = await sh('bash', [join(ROOT, 'bench', 'make-large-image.sh'), pairDir, '--mb', String(size), '--files', String(size * 20)]);
      if (m.code !== 0) throw new Error(`make-large-image.sh failed: ${m.stderr.slice(-500)}`);
      out(`  pair made in ${m.seconds.toFixed(1)} s (--mb ${size})`);
    }
    const srv = join(work, 'srv');
    mkdirSync(srv);
    for (const v of ['1.00', '1.01']) linkSync(join(pairDir, `distro-large-${v}.iso`), join(srv, `distro-large-${v}.iso`));
    const size = statSync(join(srv, 'distro-large-1.01.iso')).size;
    const want = await sha256(join(srv, 'distro-large-1.01.iso'));
    const pub = join(work, 'pub-home');
    for (const [v, prev] of [['1.00', undefined], ['1.01', join(srv, 'distro-large-1.00.iso')]] as const) {
      const r = await sh(BIN, ['publish', join(srv, `distro-large-${v}.iso`), '--product', 'distro-large', '--release', v, '--home', pub, '-o', join(work, `${v}.torrent`), ...(prev ? ['--previous', prev] : [])]);
      if (r.code !== 0) throw new Error(`publish ${v} failed: ${r.stderr}`);
    }
    out(`  images: 1.01 is ${mb(size)}; ${clients} clients, each with 1.00${baseline ? `; baseline build: ${baseline}` : ''}; ${roundCount} round(s)`);
    const dirs = Array.from({ length: clients }, (_, i) => join(work, `client-${i}`));
    const haveZsync = have('zsync') && have('zsyncmake') && have('nginx');
    if (haveZsync) {
      nginx = await Nginx.start(join(work, 'nginx'), srv, (n) => (nginx = n));
      const mk = await sh('zsyncmake', ['-u', `${nginx.baseUrl}/distro-large-1.01.iso`, '-o', join(srv, 'distro-large-1.01.zsync'), join(srv, 'distro-large-1.01.iso')]);
      if (mk.code !== 0) throw new Error(`zsyncmake failed: ${mk.stderr}`);
    }
    const walls: Record<string, number[]> = { baseline: [], isosync: [], zsync: [] };
    const cpus: Record<string, number[]> = { baseline: [], isosync: [], zsync: [] };
    const sents: Record<string, number[]> = { baseline: [], isosync: [] };
    for (let round = 1; round <= roundCount; round++) {
      out(`  -- round ${round}`);
      const builds: [string, string][] = [...(baseline ? [['baseline', join(baseline, 'bin', 'isosync')] as [string, string]] : []), ['isosync', BIN]];
      for (const [label, bin] of round % 2 === 0 ? builds.reverse() : builds) {
        const r = await isosyncRound(bin, label, round, work, srv, pub, pairDir, want, dirs);
        walls[label]!.push(r.wall);
        cpus[label]!.push(r.cpu);
        sents[label]!.push(r.sent);
        for (const l of r.lines) out(l);
      }
      if (nginx) {
        const z = await zsyncRound(nginx, want, dirs);
        walls['zsync']!.push(z.wall);
        cpus['zsync']!.push(z.cpu);
        out(`  ${z.line}`);
      } else out('  zsync: skipped (needs zsync, zsyncmake and nginx)');
    }
    const range = (xs: number[]) => (xs.length === 0 ? 'n/a' : `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)} s`);
    out(`  wall, ${clients} clients at once: isosync ${range(walls['isosync']!)}${baseline ? `, baseline ${range(walls['baseline']!)}` : ''}, zsync ${range(walls['zsync']!)} (target: isosync <= zsync)`);
    // On a shared machine a round's wall follows the CPU its processes need: the clients' CPU beside zsync's says how far apart they are whatever the load.
    out(`  clients' CPU, ${clients} at once: isosync ${range(cpus['isosync']!)}${baseline ? `, baseline ${range(cpus['baseline']!)}` : ''}, zsync ${range(cpus['zsync']!)}`);
    const xr = (xs: number[]) => (xs.length === 0 ? 'n/a' : `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`);
    out(`  server sent, in deltas: isosync ${xr(sents['isosync']!)}${baseline ? `, baseline ${xr(sents['baseline']!)}` : ''} (target <= 1.3)`);
  } finally {
    release();
    await children.stopAll();
    await nginx?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
