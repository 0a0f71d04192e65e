/**
 * A magnet leecher gets the info dictionary from `isosync seed` (ut_metadata,
 * BEP 9) and then the image: python3-libtorrent given only
 * `magnet:?xt=urn:btih:...` and the seed's address, bit-identical.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatMagnet } from '../../src/torrent/magnet.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { fixture, needTools, tempDir } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { publishAndSeed, runLibtorrentScript, type Peer } from '../swarm/peers.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');
const NAME = 'distro-1.01.iso';

const LT_MAGNET_LEECH = String.raw`
import json, sys, time, libtorrent as lt
magnet, save, peer = sys.argv[1], sys.argv[2], sys.argv[3]
s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
  'enable_natpmp': False, 'enable_outgoing_utp': False, 'enable_incoming_utp': False, 'alert_mask': 0})
p = lt.parse_magnet_uri(magnet)
p.save_path = save
h = s.add_torrent(p)
host, port = peer.rsplit(':', 1)
h.connect_peer((host, int(port)))
t0 = time.time()
meta_at = None
while time.time() - t0 < 60:
    st = h.status()
    if st.has_metadata and meta_at is None:
        meta_at = time.time() - t0
    print(json.dumps({'metadata': st.has_metadata, 'metadataSeconds': meta_at, 'seeding': st.is_seeding, 'name': st.name}), flush=True)
    if st.is_seeding:
        break
    time.sleep(0.1)
`;

describe('magnet leechers and isosync seed', { skip: needTools('libtorrent') }, () => {
  const t = tempDir('isosync-magnet-');
  const running: Peer[] = [];
  after(async () => {
    for (const p of running) await p.stop();
    t.cleanup();
  });

  it('a libtorrent magnet leecher gets the metadata and the image from isosync seed, bit-identical', async () => {
    const { torrent, seed } = await publishAndSeed(t.dir, IMAGE, ['--no-dht']);
    running.push(seed);
    const m = parseMetainfo(readFileSync(torrent), torrent);
    const leechDir = join(t.dir, 'leech');
    mkdirSync(leechDir);
    const magnet = formatMagnet({ infoHash: m.infoHash });
    const { code, last } = await runLibtorrentScript(LT_MAGNET_LEECH, [magnet, leechDir, `127.0.0.1:${seed.port}`]);
    assert.equal(code, 0);
    const status = JSON.parse(last) as { metadata: boolean; metadataSeconds: number; seeding: boolean; name: string };
    assert.ok(status.metadata, `libtorrent got the metadata: ${last}`);
    assert.equal(status.name, NAME);
    assert.ok(status.seeding, `libtorrent finished: ${last}`);
    assert.equal(sha256(join(leechDir, NAME)), sha256(IMAGE));
  });
});
