/**
 * One counterpart's column of the interop matrix, run inside a private
 * network namespace (matrix.ts starts it with `unshare -n` and a veth pair
 * whose end `va` has HOST): the counterpart gets a namespace of its own
 * holding the other end (COUNTERPART_HOST), isosync and the tracker stay
 * here. For each cell, publish the image as a v1,
 * hybrid or v2 torrent announcing to an isosync tracker or opentracker, then
 * either the counterpart leeches from `isosync seed` or `isosync sync` leeches
 * from the counterpart seeding. Prints one JSON line per cell.
 *
 * Cells the counterpart (or isosync) cannot run are not skipped: their
 * limitation is checked instead (the client refuses the torrent, or computes
 * another infohash), so the matrix notices when it goes away.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatMagnet } from '../../src/torrent/magnet.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { BIN, isosyncEnv } from '../helpers/env.js';
import {
  aria2Client,
  freePortOn,
  isosyncSide,
  libtorrentClient,
  qbittorrentClient,
  rtorrentClient,
  transmissionClient,
  type Client,
  type Netns,
  type Running,
} from './clients.js';

export type Version = 'v1' | 'hybrid' | 'v2';
export type TrackerKind = 'isosync' | 'opentracker';
export type Direction = 'leech-from-isosync' | 'seed-to-isosync' | 'magnet-from-isosync';
export interface Cell {
  readonly version: Version;
  readonly tracker: TrackerKind;
  readonly direction: Direction;
  /** A limitation to check instead of a transfer. */
  readonly unsupported?: 'counterpart' | 'isosync';
}
export interface CellResult extends Cell {
  readonly ok: boolean;
  readonly detail: string;
}

const CELL_MS = 90_000;
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const [clientName, host, work, image, cellsJson] = process.argv.slice(2) as [string, string, string, string, string];
  const cells = JSON.parse(cellsJson) as Cell[];
  const ns = counterpartNamespace();
  const client = makeClient(clientName, ns, work);
  process.stdout.write(`${JSON.stringify({ clientVersion: client.version() })}\n`);
  const name = 'distro-1.01.iso';
  const want = sha256(image);
  for (const [i, cell] of cells.entries()) {
    const dir = join(work, `cell-${i}`);
    mkdirSync(dir, { recursive: true });
    let result: CellResult;
    try {
      result = await runCell(client, host, dir, image, name, want, cell);
    } catch (e) {
      result = { ...cell, ok: false, detail: (e as Error).stack ?? String(e) };
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
    rmSync(dir, { recursive: true, force: true });
  }
  ns.close();
}

/** The address of the counterpart's end of the veth pair. */
export const COUNTERPART_HOST = '10.77.0.2';

/** A namespace for the counterpart, held open by a sleeping process, with `vb` moved into it. */
function counterpartNamespace(): Netns & { close(): void } {
  const holder = spawn('unshare', ['-n', 'sleep', '3600'], { stdio: 'ignore' });
  const pid = String(holder.pid);
  const sh = (cmd: string) => {
    const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  };
  for (let i = 0; i < 50; i++) {
    // unshare has made the namespace once the holder is sleeping in it (its net namespace differs from ours).
    const mine = spawnSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).stdout;
    const its = spawnSync('readlink', [`/proc/${pid}/ns/net`], { encoding: 'utf8' }).stdout;
    if (its && its !== mine) break;
    spawnSync('sleep', ['0.05']);
  }
  sh(`ip link set vb netns ${pid}`);
  sh(`nsenter -t ${pid} -n sh -c 'ip link set lo up && ip addr add ${COUNTERPART_HOST}/24 dev vb && ip link set vb up'`);
  return { host: COUNTERPART_HOST, prefix: ['nsenter', '-t', pid, '-n'], close: () => holder.kill('SIGKILL') };
}

function makeClient(name: string, ns: Netns, work: string): Client {
  switch (name) {
    case 'libtorrent':
      return libtorrentClient(ns);
    case 'aria2c':
      return aria2Client(ns);
    case 'transmission':
      return transmissionClient(ns, work);
    case 'qbittorrent':
      return qbittorrentClient(ns, work);
    case 'rtorrent':
      return rtorrentClient(ns, work);
    default:
      throw new Error(`unknown client ${name}`);
  }
}

interface Tracker {
  readonly announce: string;
  scrapeSeeders(infoHashHex: string): Promise<number>;
  stop(): Promise<void>;
}

/** An isosync tracker or opentracker (tracking only `infoHashHex`: Debian's build needs a whitelist) on HOST:port. */
async function startTracker(kind: TrackerKind, host: string, port: number, dir: string, infoHashHex: string): Promise<Tracker> {
  let child;
  if (kind === 'isosync') {
    // The tracker forgets a peer after twice its interval; libtorrent and isosync announce again after 300 s at the
    // soonest, whatever the interval. At 5 s, a leecher that started more than 10 s after the seeder's announce (a
    // loaded machine) was told of no peer: 60 s keeps every peer for a whole cell.
    child = spawn(process.execPath, [BIN, 'tracker', '--host', host, '--port', String(port), '--interval', '60', '--min-interval', '1'], { env: isosyncEnv(), stdio: 'ignore' });
  } else {
    const root = join(dir, 'opentracker');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'whitelist.txt'), `${infoHashHex}\n`, { mode: 0o644 });
    // Started as root, opentracker chroots there and drops to user nobody, who must still read the list.
    chmodSync(root, 0o755);
    child = spawn('opentracker', ['-i', host, '-p', String(port), '-d', root, '-w', 'whitelist.txt'], { stdio: 'ignore' });
  }
  const base = `http://${host}:${port}`;
  await pollUntil(Date.now() + 10_000, async () => (await fetch(`${base}/scrape`)).status > 0);
  return {
    announce: `${base}/announce`,
    scrapeSeeders: async (h: string) => {
      const q = Buffer.from(h, 'hex').reduce((acc, b) => acc + `%${b.toString(16).padStart(2, '0')}`, '');
      const body = Buffer.from(await (await fetch(`${base}/scrape?info_hash=${q}`)).arrayBuffer()).toString('latin1');
      return Number(/8:completei(\d+)e/.exec(body)?.[1] ?? 0);
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

function publish(image: string, dir: string, version: Version, announce: string): { torrent: string; infoHash: string } {
  const torrent = join(dir, `${version}.torrent`);
  const r = spawnSync(process.execPath, [BIN, 'publish', image, '--product', 'distro', '--release', '1.01', '--home', join(dir, 'pub'), `--${version}`, '--tracker', announce, '-o', torrent], { env: isosyncEnv(), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`publish: ${r.stderr}`);
  return { torrent, infoHash: parseMetainfo(readFileSync(torrent), torrent).infoHash };
}

async function runCell(client: Client, host: string, dir: string, image: string, name: string, want: string, cell: Cell): Promise<CellResult> {
  const port = await freePortOn(host);
  const { torrent, infoHash } = publish(image, dir, cell.version, `http://${host}:${port}/announce`);
  if (cell.unsupported) return { ...cell, ...(await checkLimitation(client, cell, torrent, infoHash, dir)) };
  const tracker = await startTracker(cell.tracker, host, port, dir, infoHash);
  const running: Running[] = [];
  try {
    const deadline = Date.now() + CELL_MS;
    const seedDir = join(dir, 'seed');
    mkdirSync(seedDir);
    copyFileSync(image, join(seedDir, name));
    const leechDir = join(dir, 'leech');
    mkdirSync(leechDir);
    const iso = isosyncSide(host, join(dir, 'home'));
    const fromIsosync = cell.direction !== 'seed-to-isosync';
    const seeder = fromIsosync ? await iso.seed(torrent, join(seedDir, name)) : await client.seed(torrent, seedDir);
    running.push(seeder);
    if (!(await seeder.complete(deadline))) return { ...cell, ok: false, detail: `the seeder never held the image: ${seeder.log().slice(-1500)}` };
    if (!(await pollUntil(deadline, async () => (await tracker.scrapeSeeders(infoHash)) >= 1))) {
      return { ...cell, ok: false, detail: `the seeder never showed in the tracker's scrape: ${seeder.log().slice(-1500)}` };
    }
    const out = join(leechDir, name);
    const magnet = `${formatMagnet({ infoHash, name, trackers: [tracker.announce] })}`;
    const leecher =
      cell.direction === 'magnet-from-isosync' && client.magnet
        ? await client.magnet(magnet, leechDir)
        : fromIsosync
          ? await client.leech(torrent, leechDir)
          : await iso.sync(torrent, out);
    running.push(leecher);
    if (!(await leecher.complete(deadline))) return { ...cell, ok: false, detail: `the leecher did not finish: ${leecher.log().slice(-1500)}` };
    const got = sha256(out);
    return { ...cell, ok: got === want, detail: got === want ? 'bit-identical' : `sha256 ${got}, expected ${want}` };
  } finally {
    for (const r of running.reverse()) await r.stop();
    await tracker.stop();
  }
}

async function pollUntil(deadline: number, f: () => Promise<boolean>): Promise<boolean> {
  while (Date.now() < deadline) {
    try {
      if (await f()) return true;
    } catch {
      // not yet
    }
    await sleep(250);
  }
  return false;
}

/** A cell that cannot run: check the limitation it is marked with, in the client's own words. */
async function checkLimitation(client: Client, cell: Cell, torrent: string, infoHash: string, dir: string): Promise<{ ok: boolean; detail: string }> {
  if (cell.unsupported === 'isosync') {
    const r = spawnSync(process.execPath, [BIN, 'sync', torrent, '-o', join(dir, 'x.iso'), '--no-catalog', '--home', join(dir, 'home')], { env: isosyncEnv(), encoding: 'utf8' });
    return { ok: r.status === 1 && /v2-only/.test(r.stderr), detail: `not supported by isosync yet: ${r.stderr.trim()}` };
  }
  const v = client.version();
  switch (client.name) {
    case 'transmission': {
      const r = spawnSync('transmission-show', [torrent], { encoding: 'utf8' });
      return { ok: r.status !== 0, detail: `not supported by the counterpart (${v}): ${(r.stdout + r.stderr).trim()}` };
    }
    case 'aria2c': {
      const r = spawnSync('aria2c', ['--show-files', torrent], { encoding: 'utf8' });
      const shown = /Info Hash: ([0-9a-f]{40})/.exec(r.stdout)?.[1];
      const refused = /Exception: (.*)/.exec(r.stdout)?.[1];
      return { ok: shown !== infoHash, detail: `not supported by the counterpart (${v}): ${refused ?? `it computes infohash ${shown}, not ${infoHash}`}` };
    }
    case 'rtorrent': {
      // rtorrent refuses such a torrent quietly: it logs why and adds nothing.
      const leechDir = join(dir, 'leech');
      mkdirSync(leechDir, { recursive: true });
      const r = await client.leech(torrent, leechDir);
      await sleep(1500);
      const why = /Could not create download: (.*)/.exec(r.log())?.[1];
      await r.stop();
      return { ok: why !== undefined, detail: `not supported by the counterpart (${v}): ${why ?? 'it loaded the torrent after all'}` };
    }
    default:
      return { ok: false, detail: `no limitation known for ${client.name} with ${cell.version} torrents` };
  }
}

// The test runner also loads every file under test/: run only when matrix.ts starts this inside its namespace.
if (process.env['ISOSYNC_NETNS_CHILD'] === 'matrix') {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
