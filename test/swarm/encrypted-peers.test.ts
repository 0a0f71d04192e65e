/**
 * Outgoing MSE/PE with the infohash the peer knows: a seeder that requires
 * encryption takes only an encrypted dial (by default isosync dials it once
 * more with MSE/PE after it hung up on plaintext), and MSE/PE is keyed by the
 * infohash. python3-libtorrent (in_enc_policy and out_enc_policy forced)
 * seeds a v1 and a hybrid torrent (it takes MSE/PE keyed by either infohash
 * of a hybrid). rtorrent loads a hybrid by its v1 half: a hybrid sync, which
 * dials the truncated v2 infohash first, gets from it only with an encrypted
 * dial keyed by the v1 infohash. A seeder that needs plaintext is named,
 * with what isosync will not speak, by `sync --encryption require`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { fixture, needTools, tempDir } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { scgiCall } from '../interop/clients.js';
import { freePort, isosync, publishImage } from './peers.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');

/** A libtorrent seeder on 127.0.0.1; `enc`: 0 forced (encrypted only), 2 disabled (plaintext only). Prints its port once seeding. */
const LT_SEED = String.raw`
import json, sys, time, libtorrent as lt
torrent, save, enc = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
  'enable_natpmp': False, 'enable_outgoing_utp': False, 'enable_incoming_utp': False,
  'in_enc_policy': enc, 'out_enc_policy': enc, 'allowed_enc_level': 2 if enc == 0 else 3, 'alert_mask': 0})
h = s.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save})
while not h.status().is_seeding:
    time.sleep(0.05)
print(json.dumps({'port': s.listen_port()}), flush=True)
while True:
    time.sleep(1)
`;

async function libtorrentSeed(t: TestContext, torrent: string, dir: string, enc: 'forced' | 'disabled'): Promise<number> {
  const lt = spawn('/usr/bin/python3', ['-c', LT_SEED, torrent, dir, enc === 'forced' ? '0' : '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => lt.kill('SIGKILL'));
  return new Promise<number>((resolve, reject) => {
    lt.stdout.setEncoding('utf8').on('data', (d: string) => {
      const m = /"port": (\d+)/.exec(d);
      if (m) resolve(Number(m[1]));
    });
    lt.on('exit', (code) => reject(new Error(`libtorrent exited ${code}`)));
  });
}

/** rtorrent seeding `torrent` from `dataDir` on 127.0.0.1 with encryption required both ways; resolves with its port once it seeds. */
async function rtorrentSeed(t: TestContext, torrent: string, dataDir: string, home: string): Promise<number> {
  const port = await freePort();
  const scgi = await freePort();
  mkdirSync(join(home, 'session'), { recursive: true });
  const rc = join(home, 'rtorrent.rc');
  const log = join(home, 'events.log');
  writeFileSync(
    rc,
    [
      `directory.default.set = ${dataDir}`, `session.path.set = ${join(home, 'session')}`, `network.scgi.open_port = 127.0.0.1:${scgi}`, `network.port_range.set = ${port}-${port}`, 'network.port_random.set = no',
      'network.bind_address.set = 127.0.0.1', 'dht.mode.set = disable', 'protocol.pex.set = no', 'trackers.use_udp.set = no', 'system.daemon.set = true',
      'protocol.encryption.set = allow_incoming,require,require_RC4', `log.open_file = "rtlog", ${log}`, 'log.add_output = "info", "rtlog"', `load.start_verbose = ${torrent}`, '',
    ].join('\n'),
  );
  const rt = spawn('rtorrent', ['-n', '-o', `import=${rc}`], { stdio: 'ignore' });
  t.after(() => rt.kill('SIGKILL'));
  // It seeds once it has checked the data.
  const complete = async () => /<i[48]>1<\/i[48]>/.test(await scgiCall('127.0.0.1', scgi, 'd.multicall2', ['', 'main', 'd.complete=']).catch(() => ''));
  for (let i = 0; i < 300 && !(await complete()); i++) {
    if (rt.exitCode !== null) throw new Error(`rtorrent exited ${rt.exitCode}: ${readFileSync(log, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return port;
}

describe('outgoing encryption with the infohash the peer knows', { skip: needTools('libtorrent') }, () => {
  const tmp = tempDir('isosync-mse-peers-');
  after(() => tmp.cleanup());
  let n = 0;

  const cases = [
    { seeder: 'libtorrent', version: 'v1', args: [] },
    { seeder: 'libtorrent', version: 'v1', args: ['--encryption', 'require'] },
    { seeder: 'libtorrent', version: 'hybrid', args: [] },
    { seeder: 'rtorrent', version: 'hybrid', args: [] },
    { seeder: 'rtorrent', version: 'hybrid', args: ['--encryption', 'require'] },
  ] as const;
  for (const c of cases) {
    it(`sync ${c.args.join(' ') || 'by default'} of a ${c.version} torrent gets the image from ${c.seeder === 'rtorrent' ? 'rtorrent (v1 half only)' : c.seeder} seeding it with encryption required, bit-identical`, { skip: needTools(c.seeder) }, async (t) => {
      const dir = join(tmp.dir, `case-${n++}`);
      // rtorrent loads no torrent without a tracker (the announce URL is outside the info dictionary; none answers there).
      const { seedDir, torrent } = publishImage(dir, IMAGE, [`--${c.version}`, ...(c.seeder === 'rtorrent' ? ['--tracker', 'http://127.0.0.1:9/announce'] : [])]);
      const port = c.seeder === 'rtorrent' ? await rtorrentSeed(t, torrent, seedDir, join(dir, 'rtorrent')) : await libtorrentSeed(t, torrent, seedDir, 'forced');
      const out = join(dir, 'out.iso');
      const r = await isosync(['sync', torrent, '--no-catalog', '--no-dht', '--home', join(dir, 'home'), '--peer', `127.0.0.1:${port}`, '-o', out, '--json', ...c.args]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(IMAGE));
      const report = JSON.parse(r.stdout) as { peers: { downloaded: number } };
      assert.equal(report.peers.downloaded, 5_269_504, 'every byte came from the encrypted seeder');
    });
  }

  it('sync --encryption require names a seeder that needs plaintext, and what isosync will not speak', async (t) => {
    const dir = join(tmp.dir, `case-${n++}`);
    const { seedDir, torrent } = publishImage(dir, IMAGE, ['--hybrid']);
    const port = await libtorrentSeed(t, torrent, seedDir, 'disabled');
    const r = await isosync(['sync', torrent, '--no-catalog', '--no-dht', '--no-utp', '--home', join(dir, 'home'), '--peer', `127.0.0.1:${port}`, '-o', join(dir, 'out.iso'), '--encryption', 'require', '-v']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`peer 127\\.0\\.0\\.1:${port}: it hung up on our MSE/PE handshake before its own, with the v2 and the v1 infohash; with --encryption require isosync speaks no plaintext`));
  });
});
