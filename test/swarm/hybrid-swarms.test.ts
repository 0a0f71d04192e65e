/**
 * A hybrid torrent's two swarms (BEP 52), as `isosync seed` joins them: it
 * announces both infohashes (the v1 one and the truncated v2 one) to its
 * trackers, as libtorrent does, and a peer that dials it with the v1
 * infohash and the v2 bit is answered with the v2 one (the link is upgraded
 * to v2, as libtorrent answers): libtorrent checks the answer on a link it
 * dialed against the swarm it last heard of the seed in.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTorrentFile } from '../../src/library/previous.js';
import { truncatedV2 } from '../../src/torrent/metainfo.js';
import { cli, fixture, needTools, tempDir } from '../helpers/env.js';
import { startOpentracker, type Opentracker } from '../tracker/helpers.js';
import { isosyncSeed, type Peer } from './peers.js';
import { handshake } from './raw-peer.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Seeders the tracker counts for `infoHash` (HTTP scrape, bencoded `8:completei<N>e`). */
function seeders(port: number, infoHash: Uint8Array): Promise<number> {
  const q = [...infoHash].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  return new Promise((resolve, reject) => {
    http
      // A connection of its own each time: opentracker closes each after its answer.
      .get(`http://127.0.0.1:${port}/scrape?info_hash=${q}`, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Number(/8:completei(\d+)e/.exec(Buffer.concat(chunks).toString('latin1'))?.[1] ?? 0)));
      })
      .on('error', reject);
  });
}

/** Dials the seed with `infoHash` (the v2 bit set when `v2`) and returns the infohash of its answer. */
function answerTo(port: number, infoHash: Uint8Array, v2: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const hs = handshake(infoHash, '-XX0001-hybridtest01');
    if (v2) hs[27]! |= 0x10;
    let got = Buffer.alloc(0);
    s.on('connect', () => s.write(hs));
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 68) {
        s.destroy();
        resolve(got.subarray(28, 48).toString('hex'));
      }
    });
    s.on('error', reject);
    s.on('close', () => got.length < 68 && reject(new Error(`the seed hung up after ${got.length} bytes`)));
  });
}

describe('a hybrid seed in both its swarms', { skip: needTools('opentracker') }, () => {
  const t = tempDir('isosync-hybrid-swarms-');
  let tracker: Opentracker | undefined;
  let seed: Peer | undefined;
  let v1: Uint8Array = new Uint8Array();
  let v2: Uint8Array = new Uint8Array();
  before(async () => {
    const plain = join(t.dir, 'plain.torrent');
    const home = join(t.dir, 'pub');
    const publish = (out: string, extra: string[]) => cli(['publish', IMAGE, '--product', 'distro', '--release', '1.01', '--home', home, '--hybrid', '-o', out, ...extra]);
    assert.equal(publish(plain, []).status, 0);
    const m = readTorrentFile(plain);
    assert.ok(m.v2, 'a hybrid torrent has a v2 half');
    v1 = m.infoHashBytes;
    v2 = truncatedV2(m.v2).bytes;
    tracker = await startOpentracker([hex(v1), hex(v2)]);
    const torrent = join(t.dir, 'tracked.torrent');
    const r = publish(torrent, ['--tracker', tracker.announce]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readTorrentFile(torrent).infoHash, hex(v1), 'the tracker URL does not change the infohash');
    seed = await isosyncSeed(torrent, IMAGE, ['--no-catalog', '--no-dht', '--home', home]);
  });
  after(async () => {
    await seed?.stop();
    await tracker?.stop();
    t.cleanup();
  });

  it('announces both infohashes, v1 and truncated v2, to its tracker', async () => {
    const port = tracker!.port;
    for (let i = 0; i < 100 && ((await seeders(port, v1)) < 1 || (await seeders(port, v2)) < 1); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await seeders(port, v1), 1, 'a seeder under the v1 infohash');
    assert.equal(await seeders(port, v2), 1, 'a seeder under the truncated v2 infohash');
  });

  it('answers a v1 dial with the v2 bit with the v2 infohash, and a v1-only peer with the v1 one', async () => {
    const port = seed!.port;
    assert.equal(await answerTo(port, v1, true), hex(v2), 'upgraded to v2');
    assert.equal(await answerTo(port, v1, false), hex(v1), 'a v1-only peer stays on v1');
    assert.equal(await answerTo(port, v2, true), hex(v2));
  });
});
