/**
 * `isosync seed` announces itself to the DHT: a python3-libtorrent leecher
 * given a torrent with no tracker finds it through a DHT on 127.0.0.1 and
 * downloads the image bit-identical. The only DHT nodes are a loopback node
 * this test runs, isosync's and libtorrent's.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Dht } from '../../src/discovery/dht.js';
import { fixture, needTools, tempDir } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { publishAndSeed, runLibtorrentScript, LT_DHT_TORRENT, type Peer } from '../swarm/peers.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');
const NAME = 'distro-1.01.iso';

/** A libtorrent leecher whose only way to peers is the DHT (bootstrapped from argv[3]). */
const LT_DHT_LEECH = `${LT_DHT_TORRENT}${String.raw`
t0 = time.time()
while time.time() - t0 < 90:
    st = h.status()
    print(json.dumps({'seeding': st.is_seeding, 'progress': st.progress, 'peers': st.num_peers}), flush=True)
    if st.is_seeding:
        break
    time.sleep(0.2)
`}`;

describe('seeding to the DHT', { skip: needTools('libtorrent') }, () => {
  const t = tempDir('isosync-dht-seed-');
  const running: Peer[] = [];
  after(async () => {
    for (const p of running) await p.stop();
    t.cleanup();
  });

  it('a libtorrent leecher with a trackerless torrent finds isosync seed through the DHT and gets the image bit-identical', async () => {
    const router = await Dht.start({ port: 0, bindHost: '127.0.0.1', bootstrap: [] });
    after(() => router.close());
    const { torrent, seed } = await publishAndSeed(t.dir, IMAGE, ['--dht-bootstrap', `127.0.0.1:${router.port}`]);
    running.push(seed);
    assert.match(seed.output(), /DHT on UDP \d+/);
    const leechDir = join(t.dir, 'leech');
    mkdirSync(leechDir);
    const { code, last } = await runLibtorrentScript(LT_DHT_LEECH, [torrent, leechDir, `127.0.0.1:${router.port}`]);
    assert.equal(code, 0);
    assert.equal((JSON.parse(last) as { seeding: boolean }).seeding, true, `libtorrent finished: ${last}`);
    assert.equal(sha256(join(leechDir, NAME)), sha256(IMAGE));
  });
});
