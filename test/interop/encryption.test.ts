/**
 * Outgoing MSE/PE: a python3-libtorrent seeder that refuses plaintext
 * (in_enc_policy forced, RC4 only) hangs up on isosync's plaintext
 * handshake; isosync dials it once more with MSE/PE and downloads the image
 * bit-identical.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fixture, needTools, tempDir } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { isosync, publishImage } from '../swarm/peers.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');

const LT_ENCRYPTED_SEED = String.raw`
import json, sys, time, libtorrent as lt
torrent, save = sys.argv[1], sys.argv[2]
s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
  'enable_natpmp': False, 'enable_outgoing_utp': False, 'enable_incoming_utp': False,
  'in_enc_policy': 0, 'out_enc_policy': 0, 'allowed_enc_level': 2, 'alert_mask': 0})
h = s.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save})
while not h.status().is_seeding:
    time.sleep(0.05)
print(json.dumps({'port': s.listen_port()}), flush=True)
while True:
    time.sleep(1)
`;

describe('outgoing encryption', { skip: needTools('libtorrent') }, () => {
  const t = tempDir('isosync-mse-');
  after(() => t.cleanup());

  it('isosync downloads from a libtorrent seeder that requires encryption, bit-identical', async (t2) => {
    const { seedDir, torrent } = publishImage(t.dir, IMAGE);
    const lt = spawn('/usr/bin/python3', ['-c', LT_ENCRYPTED_SEED, torrent, seedDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    t2.after(() => lt.kill('SIGKILL'));
    const port = await new Promise<number>((resolve, reject) => {
      lt.stdout.setEncoding('utf8').on('data', (d: string) => {
        const m = /"port": (\d+)/.exec(d);
        if (m) resolve(Number(m[1]));
      });
      lt.on('exit', (code) => reject(new Error(`libtorrent exited ${code}`)));
    });
    const out = join(t.dir, 'out.iso');
    const r = await isosync(['sync', torrent, '--no-catalog', '--home', join(t.dir, 'home'), '--peer', `127.0.0.1:${port}`, '-o', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(IMAGE));
    const report = JSON.parse(r.stdout) as { peers: { downloaded: number } };
    assert.equal(report.peers.downloaded, 5_269_504, 'every byte came from the encrypted seeder');
  });
});
