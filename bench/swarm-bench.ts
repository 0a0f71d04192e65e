/**
 * Swarm bench: loopback throughput of a full download of one image
 * (default ~1 GB of incompressible data inside an ISO made by xorriso,
 * published by `isosync publish`), in two scenarios, by isosync and by
 * python3-libtorrent in the same run:
 *
 *   1. one seed -> one leecher;
 *   2. one seed -> N leechers (default 4) started together, every leecher
 *      given the seed and each other as peers, all staying in the swarm
 *      until the last one completes (as isosync `sync --seed` does);
 *
 * and first, one libtorrent seed -> one leecher, isosync's or libtorrent's
 * (the leechers compared against the same seed).
 *
 * isosync: `isosync seed TORRENT IMAGE` and `isosync sync TORRENT --peer ...
 * --no-catalog` (fresh --home each, nothing local to reuse), bin/isosync run
 * as a user runs it (its shebang's V8 flags apply, as they would not to
 * `node bin/isosync`), with `--no-dht` as libtorrent's side. libtorrent: a
 * small python script per process, uTP/DHT/LSD/UPnP/NAT-PMP off, 127.0.0.1,
 * several connections per IP allowed, default settings otherwise.
 *
 * Figures: wall time of each leecher (from the start of the leechers until it
 * has the whole image), MB/s (image bytes per wall second; in the swarm the
 * bytes all leechers received over the wall time of the slowest), the ratio
 * isosync / libtorrent of the times, peak RSS of every process (GNU time's
 * %M, i.e. wait4's ru_maxrss; libtorrent 2.x reads and writes the image
 * through mmap, so its figure counts the image's mapped file pages, about
 * the image size, not heap), CPU seconds of every process (GNU time's %U +
 * %S, the whole process: a seed's includes hashing the image at start), and
 * in the swarm the seed's upload total over
 * the image size (1.00 = the seed sent the image once). Every output is
 * checked by SHA-256 against the image; a wrong output fails the bench.
 * Seeds verify the image before they are timed (both hash it at start).
 * The page cache is warm (the image was just written), so times compare the
 * tools, not the disk.
 *
 * Size: ISOSYNC_BENCH_SWARM_MB (payload MiB, default 1000);
 * ISOSYNC_BENCH_SWARM_IMAGE=PATH uses an existing image instead;
 * ISOSYNC_BENCH_SWARM_LEECHERS sets N; ISOSYNC_BENCH_SWARM_TIMEOUT (seconds
 * per scenario, default 900); ISOSYNC_BENCH_SWARM_ONLY=lt,1,n runs only the
 * scenarios named (lt: from a libtorrent seed; 1: one seed -> one leecher; n:
 * one seed -> N leechers); ISOSYNC_BENCH_SWARM_ROUNDS=K runs the scenarios K
 * times (default 1), so that alternated rounds share one image and one load,
 * every other round in the opposite order (the first tool to run in a
 * scenario was measured slower: the same build's one-leecher CPU was 1.1-1.8 s
 * against base's 0.9-1.7 s when first, equal when second);
 * ISOSYNC_BENCH_SWARM_BEFORE=DIR also measures
 * the isosync built in DIR (a worktree of the code before a change, built),
 * as `before`, in the same run, right after this build in each scenario.
 *
 *   npm run bench -- swarm
 *   ISOSYNC_BENCH_SWARM_MB=100 npm run bench -- swarm      (a quick run)
 *
 * Everything lives in one temp folder, removed afterwards; every process
 * started runs in its own process group and is stopped by that group's id,
 * also on failure and on SIGINT/SIGTERM of the bench.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { closeSync, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/env.js';
import { captureOutput, sha256 } from './delta/host.js';
import { vmHwmKiB } from './delta/measure.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Run as users run it, not as `node bin/isosync`: the shebang's V8 flags (bin/isosync) apply only then. */
const BIN = join(ROOT, 'bin', 'isosync');
const PYTHON = '/usr/bin/python3';
const TIME = '/usr/bin/time';
const MIB = 1024 * 1024;
/** Image data is written in chunks of this size (keeps the generator's memory flat). */
const CHUNK = 4 * MIB;
/** A process asked to stop (SIGINT) gets this long before SIGKILL. */
const STOP_GRACE_MS = 15_000;
/** How often VmHWM is read when /usr/bin/time is missing. */
const POLL_MS = 50;

const out = (s = '') => process.stdout.write(`${s}\n`);
const mbps = (bytes: number, seconds: number) => (bytes / 1e6 / seconds).toFixed(1);
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;

/**
 * libtorrent peer: `seed` (SAVE holds the image), `leech` (exits once it has
 * the image) or `swarm` (keeps seeding until SIGINT). Listens on 127.0.0.1:PORT;
 * dials PEERS, again every 2 s while it has fewer peers than it was given and
 * is not complete (a leecher started a moment later was not listening yet).
 * Prints {"port"}, {"checked"} once a seed has verified, {"done": seconds}
 * when complete, and {"uploaded","downloaded"} when it ends.
 */
const LT_SCRIPT = String.raw`
import json, signal, sys, time
import libtorrent as lt
mode, torrent, save, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
peers = [(a.rsplit(':', 1)[0], int(a.rsplit(':', 1)[1])) for a in sys.argv[5:]]
stop = []
signal.signal(signal.SIGINT, lambda *a: stop.append(1))
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
s = lt.session({'listen_interfaces': '127.0.0.1:%d' % port, 'enable_dht': False, 'enable_lsd': False,
  'enable_upnp': False, 'enable_natpmp': False, 'enable_outgoing_utp': False, 'enable_incoming_utp': False,
  'allow_multiple_connections_per_ip': True, 'alert_mask': 0})
p = lt.add_torrent_params()
p.ti = lt.torrent_info(torrent)
p.save_path = save
h = s.add_torrent(p)
t0 = time.time()
print(json.dumps({'port': s.listen_port()}), flush=True)
dialed = 0.0
told = False
while not stop:
  st = h.status()
  now = time.time()
  if peers and not st.is_seeding and st.num_peers < len(peers) and now - dialed > 2:
    for a in peers:
      h.connect_peer(a)
    dialed = now
  if st.is_seeding and not told:
    told = True
    print(json.dumps({'checked': True} if mode == 'seed' else {'done': now - t0}), flush=True)
    if mode == 'leech':
      break
  time.sleep(0.02)
st = h.status()
print(json.dumps({'uploaded': st.total_payload_upload, 'downloaded': st.total_payload_download}), flush=True)
`;

interface Proc {
  name: string;
  child: ChildProcess;
  /** Every line of stdout so far. */
  lines: string[];
  stderr: () => string;
  exited: Promise<number | string>;
  /** performance.now() when it exited. */
  exitAt?: number;
  /** Peak RSS in KiB, known once it has exited. */
  peakKiB: () => number;
  /** User + system CPU seconds (GNU time), known once it has exited. */
  cpuSeconds: () => number | undefined;
  /** SIGINT to its process group, SIGKILL after a grace period; resolves when it has exited. */
  stop: () => Promise<void>;
}

const live = new Set<Proc>();

function killGroup(p: Proc, sig: NodeJS.Signals): void {
  try {
    if (p.child.pid !== undefined) process.kill(-p.child.pid, sig);
  } catch {
    /* already gone */
  }
}

/**
 * Starts CMD ARGS in its own process group under /usr/bin/time (which ignores
 * SIGINT, so a SIGINT to the group reaches the command alone and time still
 * reports); without GNU time, VmHWM is polled instead.
 */
function start(name: string, cmd: string, args: string[], timeFile: string): Proc {
  const useTime = existsSync(TIME);
  const child = useTime
    ? spawn(TIME, ['-f', '%e %M %U %S', '-o', timeFile, cmd, ...args], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const output = captureOutput(child, lines);
  const timeFields = () => {
    const m = existsSync(timeFile) ? /(\d+(?:\.\d+)?) (\d+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)\s*$/.exec(readFileSync(timeFile, 'utf8')) : null;
    return m ? m.map(Number) : undefined;
  };
  let polled = 0;
  const poll = useTime ? undefined : setInterval(() => (polled = Math.max(polled, vmHwmKiB(child.pid!))), POLL_MS);
  const p: Proc = {
    name,
    child,
    lines,
    stderr: output.stderr,
    exited: new Promise((resolve) => {
      child.once('error', (e) => resolve(String(e)));
      child.once('close', (c, sig) => {
        p.exitAt = performance.now();
        if (poll) clearInterval(poll);
        live.delete(p);
        resolve(c ?? sig ?? 'unknown');
      });
    }),
    peakKiB: () => {
      if (!useTime) return polled;
      return timeFields()?.[2] ?? 0;
    },
    cpuSeconds: () => {
      const f = useTime ? timeFields() : undefined;
      return f ? f[3]! + f[4]! : undefined;
    },
    stop: async () => {
      if (p.exitAt !== undefined) return;
      killGroup(p, 'SIGINT');
      const t = setTimeout(() => killGroup(p, 'SIGKILL'), STOP_GRACE_MS);
      await p.exited;
      clearTimeout(t);
    },
  };
  live.add(p);
  return p;
}

/** Resolves with the first stdout line matching `re` (its match), rejects if the process exits first or after `ms`. */
function waitLine(p: Proc, re: RegExp, ms: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let seen = 0;
    const tick = setInterval(() => {
      for (; seen < p.lines.length; seen++) {
        const m = re.exec(p.lines[seen]!);
        if (m) {
          clearInterval(tick);
          return resolve(m);
        }
      }
      if (p.exitAt !== undefined || Date.now() - t0 > ms) {
        clearInterval(tick);
        reject(new Error(`${p.name}: ${p.exitAt !== undefined ? 'exited' : 'timed out'} before printing ${re}: ${p.stderr().trim().slice(-1500)}`));
      }
    }, 20);
  });
}

function haveLibtorrent(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore' }).status === 0;
}

/** An ISO (xorriso) holding one file of `payloadMiB` MiB of AES-CTR keystream: incompressible, made at disk speed. */
export function makeImage(work: string, payloadMiB: number): string {
  const tree = join(work, 'tree');
  mkdirSync(tree);
  const payload = join(tree, 'payload.bin');
  const cipher = createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16));
  const zeros = Buffer.alloc(CHUNK);
  const fd = openSync(payload, 'w');
  try {
    for (let left = payloadMiB * MIB; left > 0; left -= CHUNK) writeSync(fd, cipher.update(zeros.subarray(0, Math.min(CHUNK, left))));
  } finally {
    closeSync(fd);
  }
  const iso = join(work, 'swarm-bench.iso');
  const r = spawnSync('xorriso', ['-as', 'mkisofs', '-quiet', '-r', '-V', 'SWARM_BENCH', '-o', iso, tree], { encoding: 'utf8' });
  rmSync(tree, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`xorriso failed: ${r.stderr.slice(-800)}`);
  return iso;
}

interface Ctx {
  work: string;
  torrent: string;
  image: string;
  size: number;
  want: string;
  timeoutMs: number;
}

interface ScenarioResult {
  /** Seconds from the leechers' start until each had the whole image. */
  times: number[];
  seedUploaded?: number;
  /** Bytes each leecher took from the seed, where its report says (isosync's sync report lists every peer). */
  fromSeed?: number[];
  rss: { name: string; kib: number; cpu: number | undefined }[];
}

interface Impl {
  name: string;
  /** Starts a seed of ctx.image; resolves with it and its port once it has verified the image and listens. */
  seed(ctx: Ctx, dir: string): Promise<{ proc: Proc; port: number }>;
  /** Starts a leecher into `dir` on `port`; `stay` keeps it in the swarm once complete. */
  leech(ctx: Ctx, dir: string, port: number, peers: string[], stay: boolean, i: number): Proc;
  /** Where the leecher in `dir` writes the image. */
  output(ctx: Ctx, dir: string): string;
  /** stdout line pattern of a leecher that stays, once complete. */
  done: RegExp;
  /** Seed's payload upload total, from its output after it stopped. */
  uploaded(seed: Proc): number | undefined;
  /** Bytes the leecher took from the peer on `seedPort`, from its output, when it says. */
  fromSeed?(leecher: Proc, seedPort: number): number | undefined;
}

/** isosync as built in `root` (bin/isosync run directly, see above); `name` labels its rows. */
function isosyncAt(root: string, name: string): Impl {
  const bin = join(root, 'bin', 'isosync');
  return {
    name,
    async seed(ctx, dir) {
      const proc = start(`${name} seed`, bin, ['seed', ctx.torrent, ctx.image, '--port', '0', '--no-catalog', '--no-dht', '--json', '--home', join(dir, 'home')], join(dir, 'time'));
      await waitLine(proc, /"verified"/, ctx.timeoutMs);
      const port = Number(/"port":\s*(\d+)/.exec(proc.lines.join('\n'))?.[1]);
      if (!port) throw new Error(`isosync seed printed no port: ${proc.lines.join('\n')}`);
      return { proc, port };
    },
    leech(ctx, dir, port, peers, stay, i) {
      const args = ['sync', ctx.torrent, '-o', this.output(ctx, dir), '--home', join(dir, 'home'), '--no-catalog', '--no-dht', '--json', '--port', String(port)];
      for (const a of peers) args.push('--peer', a);
      if (stay) args.push('--seed');
      return start(`${name} leecher ${i}`, bin, args, join(dir, 'time'));
    },
    output: (ctx, dir) => join(dir, basename(ctx.image)),
    done: /"seeding":\s*true/,
    uploaded(seed) {
      const m = /"stopped":\s*true,\s*"uploaded":\s*(\d+)/.exec(seed.lines.join('\n'));
      return m ? Number(m[1]) : undefined;
    },
    fromSeed(leecher, seedPort) {
      // The seed may dial a leecher it heard of by PEX: that connection is listed under another address, with the seed's peer id.
      const entries = [...leecher.lines.join('\n').matchAll(/"address":\s*"([^"]+)",\s*"downloaded":\s*(\d+),\s*"uploaded":\s*\d+(?:,\s*"peerId":\s*"([0-9a-f]+)")?/g)];
      const dialed = entries.find((e) => e[1] === `127.0.0.1:${seedPort}`);
      if (!dialed) return undefined;
      return entries.filter((e) => e === dialed || (dialed[3] !== undefined && e[3] === dialed[3])).reduce((n, e) => n + Number(e[2]), 0);
    },
  };
}

const libtorrent: Impl = {
  name: 'libtorrent',
  async seed(ctx, dir) {
    // libtorrent seeds SAVE_PATH/NAME: the image is linked there under the torrent's name.
    const save = join(dir, 'save');
    mkdirSync(save, { recursive: true });
    try {
      linkSync(ctx.image, join(save, basename(ctx.image)));
    } catch {
      symlinkSync(ctx.image, join(save, basename(ctx.image)));
    }
    const port = await freePort();
    const proc = start('libtorrent seed', PYTHON, ['-c', LT_SCRIPT, 'seed', ctx.torrent, save, String(port)], join(dir, 'time'));
    await waitLine(proc, /"checked"/, ctx.timeoutMs);
    return { proc, port };
  },
  leech(ctx, dir, port, peers, stay, i) {
    return start(`libtorrent leecher ${i}`, PYTHON, ['-c', LT_SCRIPT, stay ? 'swarm' : 'leech', ctx.torrent, dir, String(port), ...peers], join(dir, 'time'));
  },
  output: (ctx, dir) => join(dir, basename(ctx.image)),
  done: /"done"/,
  uploaded(seed) {
    const last = seed.lines.filter((l) => l.includes('"uploaded"')).pop();
    return last ? (JSON.parse(last) as { uploaded: number }).uploaded : undefined;
  },
};

/**
 * One seed, `n` leechers started together; every output checked by SHA-256;
 * everything stopped before it returns. The seed is `seeder`'s (default:
 * the leechers' own tool).
 */
async function scenario(ctx: Ctx, impl: Impl, n: number, seeder: Impl = impl): Promise<ScenarioResult> {
  const base = join(ctx.work, `${seeder.name}-${impl.name}-${n}`);
  mkdirSync(base);
  const seedDir = join(base, 'seed');
  mkdirSync(seedDir);
  const procs: Proc[] = [];
  try {
    const seed = await seeder.seed(ctx, seedDir);
    procs.push(seed.proc);
    const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
    const dirs = ports.map((_, i) => join(base, `leech-${i}`));
    for (const d of dirs) mkdirSync(d);
    const stay = n > 1;
    const t0 = performance.now();
    const leechers = ports.map((port, i) => {
      const peers = [`127.0.0.1:${seed.port}`, ...ports.filter((p) => p !== port).map((p) => `127.0.0.1:${p}`)];
      return impl.leech(ctx, dirs[i]!, port, peers, stay, i);
    });
    procs.push(...leechers);
    const finished = await Promise.all(
      leechers.map(async (l) => {
        if (stay) {
          await waitLine(l, impl.done, ctx.timeoutMs);
          return performance.now();
        }
        const timer = setTimeout(() => killGroup(l, 'SIGKILL'), ctx.timeoutMs);
        const code = await l.exited;
        clearTimeout(timer);
        if (code !== 0) throw new Error(`${l.name} failed (${code}): ${l.stderr().trim().slice(-1500)}`);
        return l.exitAt!;
      }),
    );
    const times = finished.map((t) => (t - t0) / 1000);
    for (const l of leechers) await l.stop();
    await seed.proc.stop();
    for (const [i, d] of dirs.entries()) {
      const got = existsSync(impl.output(ctx, d)) ? await sha256(impl.output(ctx, d)) : 'missing';
      if (got !== ctx.want) throw new Error(`${impl.name} leecher ${i} of ${n}: output ${got === 'missing' ? 'missing' : `SHA-256 ${got}`} is not the image (${ctx.want})`);
    }
    const fromSeed = leechers.map((l) => impl.fromSeed?.(l, seed.port));
    return {
      times,
      seedUploaded: seeder.uploaded(seed.proc),
      ...(n > 1 && fromSeed.every((x) => x !== undefined) ? { fromSeed: fromSeed as number[] } : {}),
      rss: procs.map((p) => ({ name: p.name, kib: p.peakKiB(), cpu: p.cpuSeconds() })),
    };
  } catch (e) {
    // Say why the seed dropped peers, if it says (isosync seed lists them when it stops).
    await Promise.all(procs.map((p) => p.stop()));
    const reasons = new Map<string, number>();
    for (const m of (procs[0]?.lines.join('\n') ?? '').matchAll(/"dropped":\s*"([^"]*)"/g)) reasons.set(m[1]!, (reasons.get(m[1]!) ?? 0) + 1);
    const why = [...reasons].map(([r, k]) => `${k} x "${r}"`).join(', ');
    throw new Error(`${(e as Error).message}${why ? ` [the seed dropped peers: ${why}]` : ''}`);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(base, { recursive: true, force: true });
  }
}

function report(ctx: Ctx, label: string, n: number, rows: { impl: string; r: ScenarioResult | Error }[]): void {
  out(`  ${label}:`);
  for (const { impl, r } of rows) {
    if (r instanceof Error) {
      out(`    ${impl.padEnd(10)} FAILED: ${r.message.split('\n')[0]}`);
      continue;
    }
    const wall = Math.max(...r.times);
    const each = r.times.map((t) => t.toFixed(2)).join(', ');
    const rate = n === 1 ? `${mbps(ctx.size, wall)} MB/s` : `${mbps(ctx.size * n, wall)} MB/s received in all (slowest leecher ${mbps(ctx.size, wall)} MB/s)`;
    const up = n > 1 && r.seedUploaded !== undefined ? `; seed uploaded ${(r.seedUploaded / ctx.size).toFixed(2)} x the image` : '';
    const fromSeed = r.fromSeed ? `; each took ${r.fromSeed.map((b) => (b / ctx.size).toFixed(2)).join(', ')} x the image from the seed, the rest from the other leechers` : '';
    out(`    ${impl.padEnd(10)} wall ${wall.toFixed(2)} s${n > 1 ? ` (each: ${each})` : ''}, ${rate}${up}${fromSeed}; ${n} bit-identical`);
    out(`    ${''.padEnd(10)} peak RSS: ${r.rss.map((x) => `${x.name} ${mib(x.kib)}`).join(', ')}`);
    if (r.rss.every((x) => x.cpu !== undefined)) out(`    ${''.padEnd(10)} CPU s (user + system, whole process): ${r.rss.map((x) => `${x.name} ${x.cpu!.toFixed(2)}`).join(', ')}`);
  }
  const lt = rows.find((x) => x.impl === 'libtorrent')?.r;
  if (!lt || lt instanceof Error) return;
  const b = Math.max(...lt.times);
  for (const { impl, r } of rows) {
    if (impl === 'libtorrent' || r instanceof Error) continue;
    const a = Math.max(...r.times);
    out(`    ratio ${impl} / libtorrent: wall ${(a / b).toFixed(2)} x (throughput ${(b / a).toFixed(2)} x)`);
  }
}

export async function run(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'isosync-swarm-bench-'));
  const onSignal = (sig: NodeJS.Signals) => {
    for (const p of live) killGroup(p, 'SIGKILL');
    rmSync(work, { recursive: true, force: true });
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const n = Number(process.env['ISOSYNC_BENCH_SWARM_LEECHERS'] ?? 4);
    const timeoutMs = Number(process.env['ISOSYNC_BENCH_SWARM_TIMEOUT'] ?? 900) * 1000;
    let image = process.env['ISOSYNC_BENCH_SWARM_IMAGE'];
    if (!image) {
      const payload = Number(process.env['ISOSYNC_BENCH_SWARM_MB'] ?? 1000);
      const t = performance.now();
      image = makeImage(work, payload);
      out(`  image made in ${((performance.now() - t) / 1000).toFixed(1)} s (xorriso, ${payload} MiB of AES-CTR keystream)`);
    }
    const size = statSync(image).size;
    const torrent = join(work, 'swarm-bench.torrent');
    const pub = spawnSync(BIN, ['publish', image, '--product', 'swarm-bench', '--release', '1', '--home', join(work, 'pub-home'), '-o', torrent], { encoding: 'utf8' });
    if (pub.status !== 0) throw new Error(`isosync publish failed: ${pub.stderr}`);
    const pieces = /pieces\s+(.*)/.exec(pub.stdout)?.[1] ?? '?';
    const want = await sha256(image);
    const ctx: Ctx = { work, torrent, image, size, want, timeoutMs };
    const impls = [isosyncAt(ROOT, 'isosync')];
    // Same-run before/after: another build's isosync measured beside this one.
    const before = process.env['ISOSYNC_BENCH_SWARM_BEFORE'];
    if (before) impls.push(isosyncAt(before, 'before'));
    if (haveLibtorrent()) impls.push(libtorrent);
    out(`  machine: ${spawnSync('uptime', { encoding: 'utf8' }).stdout.trim() || `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`}`);
    out(`  image: ${(size / 1e6).toFixed(1)} MB, ${pieces}; loopback 127.0.0.1; peak RSS is /usr/bin/time's %M (libtorrent 2.x mmaps the image: its figure counts mapped file pages)`);
    if (!impls.includes(libtorrent)) out('  NOTE: python3-libtorrent is missing (/usr/bin/python3 -c "import libtorrent" fails): isosync measured alone, no ratios');

    // A tool that fails a scenario (or writes a wrong image) is reported there and the others still run; the bench then fails.
    const failures: string[] = [];
    const only = new Set((process.env['ISOSYNC_BENCH_SWARM_ONLY'] ?? 'lt,1,n').split(','));
    const rounds = Number(process.env['ISOSYNC_BENCH_SWARM_ROUNDS'] ?? 1);
    for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) out(`  round ${round} of ${rounds} (${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
    // Every other round runs the tools in the opposite order: the first to run in a scenario was measured slower (its leecher's CPU too).
    const order = round % 2 === 0 ? [...impls].reverse() : impls;
    // A download from a libtorrent seed: isosync's leecher against libtorrent's, the seed the same.
    if (impls.includes(libtorrent) && only.has('lt')) {
      const label = 'one libtorrent seed -> one leecher';
      const rows: { impl: string; r: ScenarioResult | Error }[] = [];
      for (const impl of order) {
        const r = await scenario(ctx, impl, 1, libtorrent).catch((e: Error) => e);
        if (r instanceof Error) failures.push(`${impl.name}, ${label}: ${r.message}`);
        rows.push({ impl: impl.name, r });
      }
      report(ctx, label, 1, rows);
    }
    for (const [count, label] of [[1, 'one seed -> one leecher'], [n, `one seed -> ${n} leechers started together`]] as const) {
      if (!only.has(count === 1 ? '1' : 'n')) continue;
      const rows: { impl: string; r: ScenarioResult | Error }[] = [];
      for (const impl of order) {
        const r = await scenario(ctx, impl, count).catch((e: Error) => e);
        if (r instanceof Error) failures.push(`${impl.name}, ${label}: ${r.message}`);
        rows.push({ impl: impl.name, r });
      }
      report(ctx, label, count, rows);
    }
    }
    out(`  machine after: ${spawnSync('uptime', { encoding: 'utf8' }).stdout.trim()}`);
    if (failures.length > 0) throw new Error(`${failures.length} scenario(s) failed:\n  ${failures.join('\n  ')}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all([...live].map((p) => p.stop()));
    rmSync(work, { recursive: true, force: true });
  }
}
