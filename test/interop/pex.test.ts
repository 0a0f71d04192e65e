/**
 * Peer exchange (BEP 11): three `isosync sync` clients that start together
 * and know only the seed (`--peer`) learn each other's addresses from it
 * and trade pieces among themselves. The seed is slowed (an upload limit),
 * so the image takes seconds and pieces are worth trading.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fixture, tempDir } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { isosync, publishAndSeed, type Peer } from '../swarm/peers.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');

interface Report {
  peers: { list: { address: string; downloaded: number; uploaded: number }[] };
}

describe('peer exchange', () => {
  const t = tempDir('isosync-pex-');
  const running: Peer[] = [];
  after(async () => {
    for (const p of running) await p.stop();
    t.cleanup();
  });

  it('clients that start together with only the seed find each other through it and trade pieces', async () => {
    const { torrent, seed } = await publishAndSeed(t.dir, IMAGE, ['--no-dht', '--upload-limit', '1M']);
    running.push(seed);
    const seedAddress = `127.0.0.1:${seed.port}`;
    const clients = ['a', 'b', 'c'].map((n) =>
      isosync(['sync', torrent, '--no-catalog', '--home', join(t.dir, `home-${n}`), '--peer', seedAddress, '--port', '0', '-o', join(t.dir, `${n}.iso`), '--json'], 180_000),
    );
    const results = await Promise.all(clients);
    const reports = results.map((r, i) => {
      assert.equal(r.status, 0, `client ${i}: ${r.stderr}`);
      return JSON.parse(r.stdout) as Report;
    });
    for (const n of ['a', 'b', 'c']) assert.equal(sha256(join(t.dir, `${n}.iso`)), sha256(IMAGE));
    for (const [i, rep] of reports.entries()) {
      const others = rep.peers.list.filter((p) => p.address !== seedAddress);
      assert.ok(others.length >= 1, `client ${i} met another client: ${JSON.stringify(rep.peers.list)}`);
    }
    const traded = reports.reduce((n, rep) => n + rep.peers.list.filter((p) => p.address !== seedAddress).reduce((m, p) => m + p.downloaded, 0), 0);
    assert.ok(traded > 0, 'clients sent each other pieces');
  });
});
