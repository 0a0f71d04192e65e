/**
 * Upload bench: how fast `isosync seed` uploads one image to Transmission
 * and to rtorrent, against a python3-libtorrent seeder measured in the same
 * run, in alternating rounds (each round starts with another seeder).
 *
 * The image (default 300 MiB of AES-CTR keystream inside an ISO by xorriso)
 * is published by `isosync publish` with a tracker nobody answers (rtorrent
 * refuses a torrent without one). Each transfer: a fresh leecher
 * (transmission-daemon driven by transmission-remote, or rtorrent through
 * XML-RPC; a fresh download folder; DHT, LSD, PEX, UPnP and uTP off; on
 * 127.0.0.1) waits with the torrent added; then the seeder starts, says it
 * is ready and dials the leecher (Transmission never dials 127.0.0.0/8
 * peers, but takes them incoming). The clock runs from the seeder's start to
 * the leecher's "complete" (polled every 200 ms, as the interop matrix
 * does); the output is checked by SHA-256.
 *
 * Both seeders start with the image verified beforehand, as a seeder that
 * restarts does: `isosync seed` trusts the catalog that `isosync publish`
 * filled, libtorrent loads the resume data of one check before the rounds.
 * Transmission decides whom it is interested in on a 10 s timer that starts
 * with the torrent; a seeder that first verified the image (each at its own
 * speed) met that timer at another phase, which the clock counted (100 MiB,
 * loaded machine: isosync ready 3.3-6.8 s after the add, libtorrent 8.5 s;
 * Transmission said interested 3.3-6.7 s after isosync's ready, 1.7 s after
 * libtorrent's), so isosync's wall time came out up to 5 s longer with the
 * same time from the first byte. Started at once, both meet the same round.
 *
 * Figures per leecher and seeder: the wall time of every round, MB/s of the
 * best round, the time from the first image byte on the leecher's disk to
 * complete, the ratios isosync / libtorrent of the summed times (1.00 or
 * less is the goal; the wall time from the start for Transmission, whose 10 s
 * round absorbs the seeders' start-ups; from ready for rtorrent, which asks
 * at once: isosync's start-up (node) is the longer one, 0.5-3 s more on a
 * loaded machine), the seeder's start-up (start to ready), its CPU seconds
 * (user + system, /proc/PID/stat) spent from ready to complete, and the
 * isosync seeder's peak RSS (VmHWM).
 * ISOSYNC_BENCH_UPLOAD_BEFORE=PATH/bin/isosync adds another isosync build
 * (the code before a change) as a third seeder of every round;
 * ISOSYNC_BENCH_UPLOAD_CLIENTS=rtorrent (or transmission) measures one leecher.
 *
 *   npm run bench -- upload
 *   ISOSYNC_BENCH_UPLOAD_MB=100 ISOSYNC_BENCH_UPLOAD_ROUNDS=1 npm run bench -- upload   (quick)
 *
 * Everything lives in one temp folder, removed afterwards; every process is
 * stopped at the end of its transfer, on failure, and on SIGINT/SIGTERM.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rtorrentClient, transmissionClient, type Client, type Running } from '../test/interop/clients.js';
import { Children } from './children.js';
import { captureOutput, have, sha256 } from './delta/host.js';
import { cpuSeconds, vmHwmKiB } from './delta/measure.js';
import { makeImage } from './swarm-bench.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'isosync');
const PYTHON = '/usr/bin/python3';
const HOST = '127.0.0.1';
/** A tracker URL nothing listens on (port 9, discard): the torrent needs one for rtorrent, the peers come by dialing. */
const DEAD_TRACKER = `http://${HOST}:9/announce`;
/** A seeder that prints nothing for this long after it was started has failed (it hashes the image first). */
const READY_MS = 300_000;

const out = (s = '') => process.stdout.write(`${s}\n`);

/**
 * libtorrent seeder. `check`: checks SAVE/NAME against the torrent, writes
 * its resume data to RESUME and exits. `seed`: loads RESUME (no check),
 * prints {"ready"} once seeding, dials PEERS, and on SIGINT/SIGTERM prints
 * its payload upload total and exits.
 */
const LT_SEED = String.raw`
import json, signal, sys, time, libtorrent as lt
mode, torrent, save, resume, peers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
stop = []
signal.signal(signal.SIGINT, lambda *a: stop.append(1))
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
  'enable_natpmp': False, 'enable_outgoing_utp': False, 'enable_incoming_utp': False, 'alert_mask': 0})
p = lt.read_resume_data(open(resume, 'rb').read()) if mode == 'seed' else lt.add_torrent_params()
p.ti = lt.torrent_info(torrent)
p.save_path = save
h = s.add_torrent(p)
while not stop and not h.status().is_seeding:
  time.sleep(0.02)
if mode == 'check':
  h.save_resume_data()
  while not stop:
    s.wait_for_alert(1000)
    for a in s.pop_alerts():
      if isinstance(a, lt.save_resume_data_alert):
        open(resume, 'wb').write(lt.write_resume_data_buf(a.params))
        sys.exit(0)
print(json.dumps({'ready': True}), flush=True)
for a in peers:
  h.connect_peer((a.rsplit(':', 1)[0], int(a.rsplit(':', 1)[1])))
while not stop:
  time.sleep(0.05)
print(json.dumps({'uploaded': h.status().total_payload_upload}), flush=True)
`;

interface Ctx {
  readonly work: string;
  readonly torrent: string;
  readonly image: string;
  readonly size: number;
  readonly want: string;
  /** The publisher's home: its catalog holds the image as verified. */
  readonly home: string;
  /** libtorrent's resume data of the image (written by its check before the rounds). */
  readonly resume: string;
  readonly timeoutMs: number;
  readonly children: Children;
}

interface Seeder {
  readonly name: string;
  /** Command and arguments of a seeder that dials `peer`. */
  command(ctx: Ctx, dir: string, peer: string): [string, string[]];
  ready: RegExp;
  /** What its output says when it verified the image after all (not started verified: its wall time is not comparable). */
  hashed?: RegExp;
}

/** `isosync seed` of the isosync at `bin` (this build, or another build named by ISOSYNC_BENCH_UPLOAD_BEFORE). */
const isosyncSeeder = (name: string, bin: string): Seeder => ({
  name,
  command: (ctx, _dir, peer) => [bin, ['seed', ctx.torrent, ctx.image, '--host', HOST, '--port', '0', '--peer', peer, '--no-dht', '--json', '--home', ctx.home]],
  ready: /"seeding"/,
  hashed: /"verified": "hashed"/,
});

const libtorrentSeeder: Seeder = {
  name: 'libtorrent',
  command: (ctx, _dir, peer) => [PYTHON, ['-c', LT_SEED, 'seed', ctx.torrent, join(ctx.image, '..'), ctx.resume, peer]],
  ready: /"ready"/,
};

interface Transfer {
  /** From the seeder's start to complete. */
  readonly seconds: number;
  /** From the seeder's start to its "ready". */
  readonly startup: number;
  /** From the first image byte on the leecher's disk to complete: without the leecher's own start-up (Transmission decides whom it is interested in every 10 s). */
  readonly flowing: number;
  readonly cpu: number;
  readonly peakKiB: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How often the leecher's folder is looked at for its first byte (ms). */
const DISK_POLL_MS = 50;

/** Bytes allocated to the files in `dir` (the leechers write sparse files: this grows with what they wrote). */
function bytesOnDisk(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) {
    try {
      n += statSync(join(dir, f)).blocks * 512;
    } catch {
      // renamed as we looked (Transmission's .part)
    }
  }
  return n;
}

/** One transfer: a fresh `client` leecher, then `seeder` dialing it; resolves once the leecher holds the image (checked) and everything is stopped. */
async function transfer(ctx: Ctx, seeder: Seeder, client: Client, dir: string): Promise<Transfer> {
  mkdirSync(join(dir, 'seed'), { recursive: true });
  const down = join(dir, 'down');
  mkdirSync(down);
  let leecher: Running | undefined;
  let seed: ReturnType<Children['spawn']> | undefined;
  try {
    leecher = await client.leech(ctx.torrent, down);
    if (!leecher.peerPort) throw new Error(`${client.name}: no peer port`);
    const [cmd, args] = seeder.command(ctx, join(dir, 'seed'), `${HOST}:${leecher.peerPort}`);
    const start = performance.now();
    seed = ctx.children.spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const output = captureOutput(seed, lines);
    const t0 = Date.now();
    while (!lines.some((l) => seeder.ready.test(l))) {
      if (seed.exitCode !== null || Date.now() - t0 > READY_MS) throw new Error(`${seeder.name} seeder did not get ready: ${output.stderr().slice(-1500)}`);
      await sleep(10);
    }
    const startup = (performance.now() - start) / 1000;
    if (seeder.hashed && lines.some((l) => seeder.hashed!.test(l))) out(`    (${seeder.name} verified the image first: it did not trust the catalog)`);
    const cpu0 = cpuSeconds(seed.pid);
    let first: number | undefined;
    const watch = setInterval(() => (first ??= bytesOnDisk(down) > 0 ? performance.now() : undefined), DISK_POLL_MS);
    const done = await leecher.complete(Date.now() + ctx.timeoutMs).finally(() => clearInterval(watch));
    const end = performance.now();
    const seconds = (end - start) / 1000;
    const flowing = (end - (first ?? start)) / 1000;
    const cpu = cpuSeconds(seed.pid) - cpu0;
    const peakKiB = vmHwmKiB(seed.pid!);
    if (!done) throw new Error(`${client.name} did not complete from ${seeder.name} in ${ctx.timeoutMs / 1000} s: ${leecher.log().slice(-1500)}`);
    const file = join(down, basename(ctx.image));
    const got = existsSync(file) ? await sha256(file) : 'missing';
    if (got !== ctx.want) throw new Error(`${client.name} from ${seeder.name}: output ${got === 'missing' ? 'missing' : `SHA-256 ${got}`} is not the image`);
    return { seconds, startup, flowing, cpu, peakKiB };
  } finally {
    await leecher?.stop();
    if (seed) await ctx.children.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const missing = ['xorriso', 'transmission-daemon', 'transmission-remote', 'rtorrent'].filter((t) => !have(t));
  if (missing.length > 0 || spawnSync(PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore' }).status !== 0) {
    out(`  SKIPPED: needs ${[...missing, 'python3-libtorrent'].join(', ')}`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'isosync-upload-bench-'));
  const children = new Children();
  const leechers: Running[] = [];
  const release = children.onSignals(async () => {
    await Promise.all(leechers.map((l) => l.stop()));
    rmSync(work, { recursive: true, force: true });
  });
  try {
    const payload = Number(process.env['ISOSYNC_BENCH_UPLOAD_MB'] ?? 300);
    const rounds = Number(process.env['ISOSYNC_BENCH_UPLOAD_ROUNDS'] ?? 2);
    const timeoutMs = Number(process.env['ISOSYNC_BENCH_UPLOAD_TIMEOUT'] ?? 600) * 1000;
    const imageDir = join(work, 'image');
    mkdirSync(imageDir);
    const image = makeImage(imageDir, payload);
    const size = statSync(image).size;
    const torrent = join(work, 'upload-bench.torrent');
    const pub = spawnSync(BIN, ['publish', image, '--product', 'upload-bench', '--release', '1', '--tracker', DEAD_TRACKER, '--home', join(work, 'pub-home'), '-o', torrent], { encoding: 'utf8' });
    if (pub.status !== 0) throw new Error(`isosync publish failed: ${pub.stderr}`);
    const pieces = /pieces\s+(.*)/.exec(pub.stdout)?.[1] ?? '?';
    const home = join(work, 'pub-home');
    const resume = join(work, 'libtorrent.resume');
    const check = spawnSync(PYTHON, ['-c', LT_SEED, 'check', torrent, imageDir, resume], { encoding: 'utf8' });
    if (check.status !== 0 || !existsSync(resume)) throw new Error(`libtorrent check failed: ${check.stderr}`);
    const ctx: Ctx = { work, torrent, image, size, want: await sha256(image), home, resume, timeoutMs, children };
    out(`  machine: ${spawnSync('uptime', { encoding: 'utf8' }).stdout.trim()}`);
    out(`  image: ${(size / 1e6).toFixed(1)} MB, ${pieces}; ${rounds} round(s); 127.0.0.1, the seeder (image verified beforehand) starts once the leecher has the torrent and dials it`);
    const ns = { host: HOST, prefix: [] };
    const only = process.env['ISOSYNC_BENCH_UPLOAD_CLIENTS']?.split(',');
    const clients = [transmissionClient(ns, work), rtorrentClient(ns, work)].filter((c) => !only || only.includes(c.name));
    const tracked = (c: Client): Client => ({
      ...c,
      leech: async (t, d) => {
        const r = await c.leech(t, d);
        leechers.push(r);
        return r;
      },
    });
    const before = process.env['ISOSYNC_BENCH_UPLOAD_BEFORE'];
    const all = [isosyncSeeder('isosync', BIN), libtorrentSeeder, ...(before ? [isosyncSeeder('before', before)] : [])];
    if (before) out(`  before: ${before} (another isosync build, measured in the same rounds)`);
    const results = new Map<string, Transfer[]>();
    let n = 0;
    for (let round = 0; round < rounds; round++) {
      // Each round starts with another seeder: none is always first (or last) after the leecher's start-up.
      const seeders = all.map((_, i) => all[(i + round) % all.length]!);
      for (const client of clients) {
        for (const seeder of seeders) {
          const t = await transfer(ctx, seeder, tracked(client), join(work, `t${n++}`));
          const key = `${client.name}/${seeder.name}`;
          results.set(key, [...(results.get(key) ?? []), t]);
          out(`    round ${round + 1}: ${seeder.name.padEnd(10)} -> ${client.name.padEnd(12)} ${t.seconds.toFixed(2)} s (ready after ${t.startup.toFixed(2)} s; ${t.flowing.toFixed(2)} s from the first byte), seeder CPU ${t.cpu.toFixed(2)} s`);
        }
      }
    }
    for (const client of clients) {
      out(`  ${client.name} (${client.version()}):`);
      const sums: Record<string, number> = {};
      const readies: Record<string, number> = {};
      const flows: Record<string, number> = {};
      for (const seeder of all) {
        const ts = results.get(`${client.name}/${seeder.name}`) ?? [];
        sums[seeder.name] = ts.reduce((a, t) => a + t.seconds, 0);
        readies[seeder.name] = ts.reduce((a, t) => a + t.seconds - t.startup, 0);
        flows[seeder.name] = ts.reduce((a, t) => a + t.flowing, 0);
        const best = Math.min(...ts.map((t) => t.seconds));
        const cpu = ts.reduce((a, t) => a + t.cpu, 0) / ts.length;
        const rss = seeder !== libtorrentSeeder ? `, peak RSS ${(Math.max(...ts.map((t) => t.peakKiB)) / 1024).toFixed(0)} MiB` : '';
        out(`    from ${seeder.name.padEnd(10)} wall ${ts.map((t) => t.seconds.toFixed(2)).join(', ')} s (best ${(size / 1e6 / best).toFixed(1)} MB/s); from the first byte ${ts.map((t) => t.flowing.toFixed(2)).join(', ')} s; seeder CPU ${cpu.toFixed(2)} s per transfer${rss}`);
      }
      const of = (m: Record<string, number>, a: string) => `${(m[a]! / m['libtorrent']!).toFixed(2)} x`;
      const ratio = (a: string) => `wall ${of(sums, a)}, from ready ${of(readies, a)}, from the first byte ${of(flows, a)}`;
      out(`    ratio isosync / libtorrent (summed over rounds; target <= 1.00): ${ratio('isosync')}${before ? `; before / libtorrent: ${ratio('before')}` : ''}`);
    }
    out(`  machine after: ${spawnSync('uptime', { encoding: 'utf8' }).stdout.trim()}`);
  } finally {
    release();
    await Promise.all(leechers.map((l) => l.stop()));
    await children.stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}
