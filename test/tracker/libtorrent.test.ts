/**
 * Interop, the real proof: two python3-libtorrent sessions on 127.0.0.1
 * (uTP, DHT, LSD, UPnP off, so the tracker is their only way to meet) find
 * each other through isosync's tracker and transfer a small torrent, over
 * HTTP and over UDP; the tracker's table shows the completed download.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startTracker, type RunningTracker } from '../../src/tracker/http-server.js';
import { needTools, tempDir } from '../helpers/env.js';

const skip = needTools('libtorrent');

/** Seeder and leecher in one script: prints one JSON line with the outcome. */
const SCRIPT = String.raw`
import json, os, sys, time, hashlib
import libtorrent as lt
tracker, work = sys.argv[1], sys.argv[2]
seed_dir, leech_dir = os.path.join(work, 'seed'), os.path.join(work, 'leech')
os.makedirs(seed_dir); os.makedirs(leech_dir)
data = os.urandom(3 * 1024 * 1024 + 12345)
open(os.path.join(seed_dir, 'payload.bin'), 'wb').write(data)
fs = lt.file_storage(); lt.add_files(fs, os.path.join(seed_dir, 'payload.bin'))
ct = lt.create_torrent(fs, 256 * 1024, flags=lt.create_torrent.v1_only); ct.add_tracker(tracker); lt.set_piece_hashes(ct, seed_dir)
ti = lt.torrent_info(lt.bencode(ct.generate()))
def session():
    return lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
        'enable_natpmp': False, 'enable_outgoing_utp': False, 'enable_incoming_utp': False,
        'alert_mask': lt.alert.category_t.tracker_notification | lt.alert.category_t.error_notification,
        'announce_to_all_trackers': True})
s1, s2 = session(), session()
seed = s1.add_torrent({'ti': ti, 'save_path': seed_dir})
leech = s2.add_torrent({'ti': lt.torrent_info(ti), 'save_path': leech_dir})
deadline = time.time() + 40
while time.time() < deadline and not leech.status().is_seeding:
    time.sleep(0.1)
errors = [a.message() for s in (s1, s2) for a in s.pop_alerts() if isinstance(a, (lt.tracker_error_alert,))]
st = leech.status()
got = open(os.path.join(leech_dir, 'payload.bin'), 'rb').read() if st.is_seeding else b''
print(json.dumps({'seeding': st.is_seeding, 'identical': got == data, 'trackerErrors': errors, 'seedPort': s1.listen_port(), 'leechPort': s2.listen_port()}))
sys.stdout.flush()
for s, h in ((s2, leech), (s1, seed)):
    s.remove_torrent(h)
time.sleep(0.5)
`;

function python(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', ['-c', SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

let t: RunningTracker;
before(async () => {
  if (!skip) t = await startTracker({ host: '127.0.0.1', port: 0, udp: true, interval: 2, minInterval: 1 });
});
after(async () => {
  await t?.close();
});

for (const scheme of ['http', 'udp'] as const) {
  test(`two libtorrent sessions meet through isosync's tracker over ${scheme} and transfer a torrent`, { skip, timeout: 90_000 }, async () => {
    const tmp = tempDir();
    try {
      const url = scheme === 'http' ? `http://127.0.0.1:${t.httpPort}/announce` : `udp://127.0.0.1:${t.udpPort}/announce`;
      const before = new Set(t.tracker.swarms().map((s) => s.infoHash));
      const r = await python([url, tmp.dir]);
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seeding: boolean; identical: boolean; trackerErrors: string[] };
      assert.deepEqual(out.trackerErrors, []);
      assert.equal(out.seeding, true, 'the leecher finished');
      assert.equal(out.identical, true);
      const added = t.tracker.swarms().filter((s) => !before.has(s.infoHash));
      assert.equal(added.length, 1, 'one torrent, one swarm');
      const swarm = added[0]!;
      assert.equal(swarm.completed, 1, 'the leecher announced event=completed');
      const counter = scheme === 'http' ? t.tracker.counters.httpAnnounces : t.tracker.counters.udpAnnounces;
      assert.ok(counter >= 2);
    } finally {
      tmp.cleanup();
    }
  });
}
