/**
 * The demo's third path: isosync's own client needs no help, but every other
 * one does. The release team remasters 1.01 over 1.00 (`isosync remaster`:
 * unchanged files keep their blocks), publishes it like any other image,
 * and a stock BitTorrent client (python3-libtorrent) that downloads into a
 * copy of 1.00 fetches only the changes; the same client is shown against
 * 1.01 rebuilt from scratch. Skipped, with a note, when python3-libtorrent is
 * not installed for /usr/bin/python3.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { IsosyncError } from '../errors.js';

/** A stock libtorrent leecher on 127.0.0.1: no DHT, LSD, UPnP or uTP; prints its payload bytes when done. */
const LEECHER = String.raw`
import json, sys, time
import libtorrent as lt
s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
  'enable_natpmp': False, 'enable_outgoing_utp': False, 'enable_incoming_utp': False})
p = lt.add_torrent_params()
p.ti = lt.torrent_info(sys.argv[1])
p.save_path = sys.argv[2]
h = s.add_torrent(p)
host, port = sys.argv[3].rsplit(':', 1)
h.connect_peer((host, int(port)))
deadline = time.time() + 120
while not h.status().is_seeding and time.time() < deadline:
  time.sleep(0.1)
st = h.status()
print(json.dumps({'done': st.is_seeding, 'downloaded': st.total_payload_download}), flush=True)
`;

/** Bytes of the blocks of `b` that differ from `a` at the same place: what a stock client must fetch at least. */
function differingBytes(a: string, b: string): number {
  const r = spawnSync('cmp', ['-l', a, b], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const blocks = new Set<number>();
  for (const line of r.stdout.split('\n')) {
    const at = Number(line.trim().split(/\s+/)[0]);
    if (at > 0) blocks.add(Math.floor((at - 1) / 2048));
  }
  const extra = Math.max(0, statSync(b).size - statSync(a).size);
  return blocks.size * 2048 + extra;
}

type Run = (args: string[]) => Promise<void>;
type Start = (args: string[], cwd: string, key: 'url' | 'port') => Promise<{ child: ChildProcess; url: string }>;

async function leech(torrent: string, dir: string, seedPort: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn('/usr/bin/python3', ['-c', LEECHER, torrent, dir, `127.0.0.1:${seedPort}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.on('error', reject);
    c.on('exit', () => {
      try {
        const j = JSON.parse(out) as { done: boolean; downloaded: number };
        if (!j.done) reject(new IsosyncError('IO', 'Demo libtorrent leecher did not finish within 120 s'));
        else resolve(j.downloaded);
      } catch {
        reject(new IsosyncError('IO', `Demo libtorrent leecher printed ${JSON.stringify(out.slice(0, 200))}`));
      }
    });
  });
}

export async function remasterPath(
  run: Run, start: Start, children: Set<ChildProcess>, out: (l: string) => void, work: string, mirror: string, pubHome: string,
): Promise<{ scratch: number; remastered: number; floor: number } | undefined> {
  out('\n== A third way, for every other client: remaster 1.01 over 1.00, so that unchanged files keep their blocks');
  const tree = join(work, 'tree-1.01');
  const remastered = join(mirror, 'distro-1.01-remastered.iso');
  await run(['extract', join(mirror, 'distro-1.01.iso'), '-o', tree]);
  // Packed for the piece length it is published with: a stock client fetches whole pieces.
  await run(['remaster', join(mirror, 'distro-1.00.iso'), tree, '-o', remastered, '-V', 'DISTRO_1_01', '--piece-length', '16384']);
  await run(['publish', remastered, '--product', 'distro-remastered', '--release', '1.01', '--piece-length', '16384', '-o', join(work, 'remastered-16k.torrent'), '--home', pubHome]);
  await run(['publish', join(mirror, 'distro-1.01.iso'), '--product', 'distro-scratch', '--release', '1.01', '--piece-length', '16384', '-o', join(work, 'scratch-16k.torrent'), '--home', pubHome]);
  if (spawnSync('/usr/bin/python3', ['-c', 'import libtorrent'], { stdio: 'ignore' }).status !== 0) {
    out('(skipped: a stock leecher needs python3-libtorrent for /usr/bin/python3; apt-get install python3-libtorrent)');
    return undefined;
  }
  const fetched: Record<string, number> = {};
  for (const [name, image, torrent] of [
    ['scratch', join(mirror, 'distro-1.01.iso'), join(work, 'scratch-16k.torrent')],
    ['remastered', remastered, join(work, 'remastered-16k.torrent')],
  ] as const) {
    out(`\n$ isosync seed ${torrent.slice(work.length + 1)} ${image.slice(work.length + 1)} --port 0   # and a stock libtorrent leecher with a copy of 1.00`);
    const seed = await start(['seed', torrent, image, '--port', '0', '--home', pubHome, '--json'], work, 'port');
    children.add(seed.child);
    const dir = join(work, `stock-${name}`);
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(mirror, 'distro-1.00.iso'), join(dir, image.slice(image.lastIndexOf('/') + 1)));
    try {
      fetched[name] = await leech(torrent, dir, seed.url);
    } finally {
      seed.child.kill('SIGTERM');
      children.delete(seed.child);
    }
    out(`libtorrent fetched ${fetched[name]} bytes`);
  }
  return { scratch: fetched['scratch']!, remastered: fetched['remastered']!, floor: differingBytes(join(mirror, 'distro-1.00.iso'), remastered) };
}
