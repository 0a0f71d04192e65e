/**
 * Real BitTorrent peers for the swarm tests, each a child process on
 * 127.0.0.1 that the test stops: python3-libtorrent (seeder or leecher, with
 * its own payload counters), aria2c, and `isosync seed`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { basename, dirname, join } from 'node:path';
import { BIN, cli, freePort, isosyncEnv, ROOT } from '../helpers/env.js';

/** libtorrent: uTP, DHT, LSD, UPnP, NAT-PMP off; loopback only; several peers per IP allowed. Prints a JSON status line every 100 ms. */
const LT_SCRIPT = String.raw`
import json, sys, time
import libtorrent as lt
mode, torrent, save = sys.argv[1], sys.argv[2], sys.argv[3]
peers = sys.argv[4:]
s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
  'enable_natpmp': False, 'enable_outgoing_utp': False, 'enable_incoming_utp': False,
  'allow_multiple_connections_per_ip': True, 'alert_mask': 0})
p = lt.add_torrent_params()
p.ti = lt.torrent_info(torrent)
p.save_path = save
h = s.add_torrent(p)
print(json.dumps({'port': s.listen_port()}), flush=True)
for a in peers:
  host, port = a.rsplit(':', 1)
  h.connect_peer((host, int(port)))
while True:
  st = h.status()
  print(json.dumps({'state': str(st.state), 'seeding': st.is_seeding, 'progress': st.progress,
    'uploaded': st.total_payload_upload, 'downloaded': st.total_payload_download, 'peers': st.num_peers}), flush=True)
  if mode == 'leech' and st.is_seeding:
    break
  time.sleep(0.1)
`;

/**
 * Python for a libtorrent script whose only way to peers is a DHT on
 * 127.0.0.1: reads `torrent, save, bootstrap` from argv[1:4], opens
 * session `s` (loopback DHT checks off, no uTP, LSD, UPnP or NAT-PMP) and
 * adds the torrent as handle `h`.
 */
export const LT_DHT_TORRENT = String.raw`
import json, sys, time, libtorrent as lt
torrent, save, bootstrap = sys.argv[1], sys.argv[2], sys.argv[3]
s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': True, 'dht_bootstrap_nodes': bootstrap,
  'dht_restrict_routing_ips': False, 'dht_restrict_search_ips': False, 'dht_enforce_node_id': False,
  'dht_prefer_verified_node_ids': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
  'enable_outgoing_utp': False, 'enable_incoming_utp': False, 'allow_multiple_connections_per_ip': True, 'alert_mask': 0})
h = s.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save})
`;

export interface Peer {
  child: ChildProcess;
  port: number;
  /** Latest status line (libtorrent) or output so far. */
  last: () => Record<string, unknown>;
  output: () => string;
  /** Resolves when the process exits (code). */
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

function lines(child: ChildProcess, onLine: (l: string) => void): () => string {
  let all = '';
  let buf = '';
  const take = (d: string) => {
    all += d;
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  };
  child.stdout?.setEncoding('utf8').on('data', take);
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (all += d));
  return () => all;
}

function stopper(child: ChildProcess, exited: Promise<number | null>): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
}

function waitFor<T>(what: string, get: () => T | undefined, child: ChildProcess, output: () => string, ms = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const t = setInterval(() => {
      const v = get();
      if (v !== undefined) {
        clearInterval(t);
        resolve(v);
      } else if (child.exitCode !== null || Date.now() - started > ms) {
        clearInterval(t);
        reject(new Error(`${what} did not start: ${output().slice(-2000)}`));
      }
    }, 50);
  });
}

function exitedOf(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => child.on('exit', (code) => r(code)));
}

/** A python3-libtorrent peer: `seed` (save dir holds the image) or `leech`; connects to `peers`. */
export async function libtorrentPeer(mode: 'seed' | 'leech', torrent: string, saveDir: string, peers: string[] = []): Promise<Peer> {
  const child = spawn('/usr/bin/python3', ['-c', LT_SCRIPT, mode, torrent, saveDir, ...peers], { stdio: ['ignore', 'pipe', 'pipe'] });
  let port: number | undefined;
  let last: Record<string, unknown> = {};
  const output = lines(child, (l) => {
    try {
      const j = JSON.parse(l) as Record<string, unknown>;
      if (typeof j.port === 'number') port = j.port;
      else last = j;
    } catch {
      // not a status line
    }
  });
  const exited = exitedOf(child);
  const p = await waitFor('libtorrent', () => port, child, output);
  return { child, port: p, last: () => last, output, exited, stop: stopper(child, exited) };
}

export { freePort };

/** An aria2c peer: seeds the image in `dir` (-V checks it first) or downloads into `dir`; loopback, no DHT/LPD/PEX. */
export async function aria2Peer(mode: 'seed' | 'leech', torrent: string, dir: string): Promise<Peer> {
  const port = await freePort();
  const args = [
    '--seed-ratio=0', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false',
    `--listen-port=${port}`, '--bt-lpd-interface=127.0.0.1', '--no-conf=true', '--console-log-level=warn', '--summary-interval=0',
    '--file-allocation=none', '--allow-overwrite=true', '--bt-save-metadata=false', '--bt-stop-timeout=0',
    '-d', dir,
  ];
  if (mode === 'seed') args.push('-V');
  else args.push('--seed-time=0');
  args.push(torrent);
  const child = spawn('aria2c', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = lines(child, () => undefined);
  const exited = exitedOf(child);
  probe(port, Date.now() + 20_000);
  // aria2c prints nothing when it listens: wait until the port accepts.
  await waitFor('aria2c', () => (listening.has(port) ? port : undefined), child, output, 20_000).catch(async (e) => {
    child.kill('SIGKILL');
    throw e;
  });
  return { child, port, last: () => ({}), output, exited, stop: stopper(child, exited) };
}

const listening = new Set<number>();
/** Polls `port` until it accepts a connection (marks it in `listening`). */
function probe(port: number, until: number): void {
  const s = net.connect({ host: '127.0.0.1', port });
  s.on('connect', () => {
    listening.add(port);
    s.destroy();
  });
  s.on('error', () => {
    if (Date.now() < until) setTimeout(() => probe(port, until), 100);
  });
}

/** `isosync seed TORRENT IMAGE --port 0 ARGS`; resolves once it prints where it listens. */
export async function isosyncSeed(torrent: string, image: string, args: string[] = []): Promise<Peer> {
  const child = spawn(process.execPath, [BIN, 'seed', torrent, image, '--port', '0', ...args], { env: isosyncEnv(), cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let port: number | undefined;
  const output = lines(child, (l) => {
    const m = / on 127\.0\.0\.1:(\d+)/.exec(l) ?? /"port":\s*(\d+)/.exec(l);
    if (m) port = Number(m[1]);
  });
  const exited = exitedOf(child);
  const p = await waitFor('isosync seed', () => port, child, output, 60_000);
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGINT');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  return { child, port: p, last: () => ({}), output, exited, stop };
}

/** An image published into a test folder: DIR/seed/NAME, its torrent DIR/d.torrent and the publisher's home DIR/pub. */
export interface Published {
  seedDir: string;
  image: string;
  torrent: string;
  home: string;
}

/** Copies `image` to DIR/seed and publishes it (product "distro", release 1.01; `extra`: more publish options). */
export function publishImage(dir: string, image: string, extra: string[] = []): Published {
  const seedDir = join(dir, 'seed');
  mkdirSync(seedDir, { recursive: true });
  const copy = join(seedDir, basename(image));
  copyFileSync(image, copy);
  const torrent = join(dir, 'd.torrent');
  const home = join(dir, 'pub');
  const pub = cli(['publish', copy, '--product', 'distro', '--release', '1.01', '--home', home, '-o', torrent, ...extra]);
  assert.equal(pub.status, 0, pub.stderr);
  return { seedDir, image: copy, torrent, home };
}

/** `publishImage`, then `isosync seed` of it with ARGS (after its --home). */
export async function publishAndSeed(dir: string, image: string, args: string[] = []): Promise<Published & { seed: Peer }> {
  const p = publishImage(dir, image);
  const seed = await isosyncSeed(p.torrent, p.image, ['--home', p.home, ...args]);
  return { ...p, seed };
}

/** Runs a python3-libtorrent script to its end: its exit code and its last stdout line (a JSON status). */
export async function runLibtorrentScript(script: string, args: string[]): Promise<{ code: number | null; last: string }> {
  const child = spawn('/usr/bin/python3', ['-c', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  return { code, last: out.trim().split('\n').pop() ?? '' };
}

/** Runs `isosync ARGS` to completion without blocking this process. */
export function isosync(args: string[], timeoutMs = 120_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: isosyncEnv(), cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

/** `p`, or 'timeout' after `ms` (the timer does not keep the test process alive). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const LT_MAKE_TORRENT = String.raw`
import sys, libtorrent as lt
path, out, mode, pl, root = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
fs = lt.file_storage()
lt.add_files(fs, path)
ct = lt.create_torrent(fs, pl, flags={'hybrid': 0, 'v2': lt.create_torrent.v2_only}[mode])
lt.set_piece_hashes(ct, root)
open(out, 'wb').write(lt.bencode(ct.generate()))
`;

/** Writes to `out` python3-libtorrent's torrent of `image`: hybrid (its default) or v2-only, with `pieceLength` pieces. */
export function makeLibtorrentTorrent(image: string, out: string, mode: 'v2' | 'hybrid', pieceLength: number): void {
  const r = spawnSync('/usr/bin/python3', ['-c', LT_MAKE_TORRENT, image, out, mode, String(pieceLength), dirname(image)], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
}
