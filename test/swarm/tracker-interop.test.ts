/**
 * Peer discovery through a stock tracker: an `isosync seed` and an
 * `isosync sync` that are told nothing of each other meet only through
 * opentracker on 127.0.0.1 (HTTP, BEP 3/23; and UDP, BEP 15), and the sync
 * is bit-identical. Debian's opentracker tracks whitelisted torrents only:
 * the infohash is known before the tracker starts (the announce URL is not
 * part of the info dictionary, so publishing again with the tracker's URL
 * keeps it).
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { join } from 'node:path';
import { cli, fixture, needTools, tempDir } from '../helpers/env.js';
import { readTorrentFile } from '../../src/library/previous.js';
import { sha256 } from '../sync/fixture-pair.js';
import { startOpentracker, type Opentracker } from '../tracker/helpers.js';
import { isosync, isosyncSeed, type Peer } from './peers.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');

/** Publishes IMAGE to a fresh home with `trackers`; returns the torrent path. */
function publish(dir: string, name: string, trackers: string[]): string {
  const torrent = join(dir, `${name}.torrent`);
  const r = cli(['publish', IMAGE, '--product', 'distro', '--release', '1.01', '--home', join(dir, `home-${name}`), '-o', torrent, ...trackers.flatMap((t) => ['--tracker', t])]);
  assert.equal(r.status, 0, r.stderr);
  return torrent;
}

/** Seeders opentracker counts for `infoHash`, from its HTTP scrape (bencoded `8:completei<N>e`). */
function seeders(tracker: Opentracker, infoHash: Uint8Array): Promise<number> {
  const q = [...infoHash].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  return new Promise((resolve, reject) => {
    http
      .get(`http://127.0.0.1:${tracker.port}/scrape?info_hash=${q}`, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Number(/8:completei(\d+)e/.exec(Buffer.concat(chunks).toString('latin1'))?.[1] ?? 0)));
      })
      .on('error', reject);
  });
}

describe('isosync with opentracker', { skip: needTools('opentracker') }, () => {
  const t = tempDir('isosync-opentracker-swarm-');
  let tracker: Opentracker | undefined;
  let seed: Peer | undefined;
  after(async () => {
    await seed?.stop();
    await tracker?.stop();
    t.cleanup();
  });

  it('isosync announces to opentracker on 127.0.0.1 and finds its peers through it (HTTP and UDP), bit-identical', async () => {
    const infoHash = readTorrentFile(publish(t.dir, 'plain', [])).infoHashBytes;
    tracker = await startOpentracker([Buffer.from(infoHash).toString('hex')]);
    for (const [scheme, url] of [['http', tracker.announce], ['udp', tracker.udp]] as const) {
      const torrent = publish(t.dir, scheme, [url]);
      assert.deepEqual(readTorrentFile(torrent).infoHashBytes, infoHash, 'the tracker URL does not change the infohash');
      seed = await isosyncSeed(torrent, IMAGE, ['--no-catalog', '--json']);
      // The seed's `started` announce must reach the tracker before the leecher asks for peers.
      const deadline = Date.now() + 10_000;
      while ((await seeders(tracker, infoHash)) < 1) {
        assert.ok(Date.now() < deadline, `opentracker never listed the seed: ${seed.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const out = join(t.dir, `out-${scheme}.iso`);
      const r = await isosync(['sync', torrent, '--no-catalog', '--home', join(t.dir, `leech-${scheme}`), '-o', out, '--json'], 90_000);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(IMAGE));
      const report = JSON.parse(r.stdout) as { peers: { list: { address: string; downloaded: number }[] } };
      const fromSeed = report.peers.list.find((p) => p.address === `127.0.0.1:${seed!.port}`);
      assert.ok(fromSeed && fromSeed.downloaded > 0, `the sync got the image from the seed it learned from the tracker: ${JSON.stringify(report.peers.list)}`);
      await seed.stop();
      seed = undefined;
      // The seed said `stopped`: the tracker forgets it.
      assert.equal(await seeders(tracker, infoHash), 0);
    }
  });
});
