/**
 * uTP (BEP 29) with python3-libtorrent, both ways, on 127.0.0.1:
 *   - a libtorrent leecher that may dial only over uTP (outgoing TCP off)
 *     gets the image from `isosync seed`, which answers uTP on its port;
 *   - `isosync sync` gets the image from a libtorrent seed that accepts
 *     only uTP (incoming TCP off: it accepts TCP and hangs up), dialing it
 *     over uTP after TCP failed both in plaintext and encrypted;
 *   - with `--no-utp` the same sync gives up on that seed, naming both.
 * Every file is compared with the image byte for byte.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli, cliAsync, fixture, needTools, tempDir } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { isosyncSeed, type Peer } from '../swarm/peers.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');
const NAME = 'distro-1.01.iso';

/** libtorrent seeding or leeching with TCP off in one direction: argv mode torrent save [peer]. */
const LT_UTP = String.raw`
import json, sys, time, libtorrent as lt
mode, torrent, save = sys.argv[1], sys.argv[2], sys.argv[3]
settings = {'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
  'enable_natpmp': False, 'enable_outgoing_utp': True, 'enable_incoming_utp': True, 'alert_mask': 0}
if mode == 'seed':
    settings['enable_incoming_tcp'] = False
else:
    settings['enable_outgoing_tcp'] = False
s = lt.session(settings)
h = s.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save})
print(json.dumps({'port': s.listen_port()}), flush=True)
if mode == 'leech':
    host, port = sys.argv[4].rsplit(':', 1)
    h.connect_peer((host, int(port)))
t0 = time.time()
while time.time() - t0 < 90:
    st = h.status()
    if mode == 'leech' and st.is_seeding:
        print(json.dumps({'seeding': True}), flush=True)
        break
    time.sleep(0.1)
`;

async function libtorrent(args: string[]): Promise<{ port: number; child: ChildProcess; out: () => string; stop: () => Promise<void> }> {
  const child = spawn('/usr/bin/python3', ['-c', LT_UTP, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /"port": (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`libtorrent exited: ${out}`)));
  });
  return {
    port,
    child,
    out: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('uTP with libtorrent', { skip: needTools('libtorrent') }, () => {
  const t = tempDir('isosync-utp-');
  const running: { stop(): Promise<void> }[] = [];
  let torrent: string;
  let seedDir: string;
  before(() => {
    seedDir = join(t.dir, 'seed');
    mkdirSync(seedDir);
    copyFileSync(IMAGE, join(seedDir, NAME));
    torrent = join(t.dir, 'd.torrent');
    const pub = cli(['publish', join(seedDir, NAME), '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub'), '-o', torrent]);
    assert.equal(pub.status, 0, pub.stderr);
  });
  after(async () => {
    for (const p of running.reverse()) await p.stop();
    t.cleanup();
  });

  it('a libtorrent leecher that dials only uTP gets the image from isosync seed', async () => {
    const seed: Peer = await isosyncSeed(torrent, join(seedDir, NAME), ['--home', join(t.dir, 'pub'), '--no-dht']);
    running.push(seed);
    const dir = join(t.dir, 'lt-leech');
    mkdirSync(dir);
    const lt = await libtorrent(['leech', torrent, dir, `127.0.0.1:${seed.port}`]);
    running.push(lt);
    await new Promise<void>((r) => lt.child.once('exit', () => r()));
    assert.match(lt.out(), /"seeding": true/, lt.out());
    assert.equal(sha256(join(dir, NAME)), sha256(IMAGE));
  });

  it('isosync sync gets the image from a libtorrent seed that accepts only uTP; with --no-utp it names the seed it could not use', async () => {
    const lt = await libtorrent(['seed', torrent, seedDir]);
    running.push(lt);
    const out = join(t.dir, 'out');
    mkdirSync(out);
    const r = await cliAsync(['sync', torrent, '-o', join(out, NAME), '--peer', `127.0.0.1:${lt.port}`, '--no-catalog', '--home', join(t.dir, 'home')], { timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(join(out, NAME)), sha256(IMAGE));
    const tcp = await cliAsync(['sync', torrent, '-o', join(out, 'tcp.iso'), '--peer', `127.0.0.1:${lt.port}`, '--no-utp', '--no-catalog', '--home', join(t.dir, 'home'), '-v'], { timeoutMs: 120_000 });
    assert.equal(tcp.status, 1);
    assert.match(tcp.stderr, new RegExp(`peer 127\\.0\\.0\\.1:${lt.port}: it hung up before its handshake both in plaintext and with MSE/PE encryption`));
  });
});
