/**
 * Interop: isosync downloads from a python3-libtorrent seeder and an aria2c
 * seeder, and a libtorrent leecher and an aria2c leecher download from
 * `isosync seed`; every result is bit-identical (sha256). Real processes,
 * real sockets on 127.0.0.1.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, needTools, tempDir, cli } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { aria2Peer, isosync, isosyncSeed, libtorrentPeer, within, type Peer } from './peers.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');
const NAME = 'distro-1.01.iso';

describe('swarm interop with libtorrent and aria2', { skip: needTools('libtorrent', 'aria2c') }, () => {
  let t: ReturnType<typeof tempDir>;
  let torrent: string;
  let seedDir: string;
  const want = sha256(IMAGE);
  const running: Peer[] = [];

  before(() => {
    t = tempDir('isosync-swarm-');
    seedDir = join(t.dir, 'seed');
    mkdirSync(seedDir);
    copyFileSync(IMAGE, join(seedDir, NAME));
    torrent = join(t.dir, 'd.torrent');
    const r = cli(['publish', join(seedDir, NAME), '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub'), '-o', torrent]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    for (const p of running) await p.stop();
    t.cleanup();
  });

  async function syncFrom(port: number, label: string): Promise<string> {
    const out = join(t.dir, `${label}.iso`);
    const r = await isosync(['sync', torrent, '--no-catalog', '--home', join(t.dir, `home-${label}`), '--peer', `127.0.0.1:${port}`, '-o', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { peers: { downloaded: number; list: { address: string; downloaded: number }[] } };
    assert.ok(report.peers.downloaded > 0, 'bytes came from the peer');
    assert.equal(report.peers.list.find((p) => p.address === `127.0.0.1:${port}`)?.downloaded, report.peers.downloaded);
    return out;
  }

  it('isosync downloads a whole image from a libtorrent seeder, bit-identical', async () => {
    const lt = await libtorrentPeer('seed', torrent, seedDir);
    running.push(lt);
    while (lt.last().seeding !== true) await new Promise((r) => setTimeout(r, 50));
    const out = await syncFrom(lt.port, 'from-lt');
    assert.equal(sha256(out), want);
    await lt.stop();
  });

  it('isosync downloads a whole image from an aria2c seeder, bit-identical', async () => {
    const a = await aria2Peer('seed', torrent, seedDir);
    running.push(a);
    const out = await syncFrom(a.port, 'from-aria2');
    assert.equal(sha256(out), want);
    await a.stop();
  });

  it('a libtorrent leecher downloads the image from isosync seed, bit-identical', async () => {
    const seed = await isosyncSeed(torrent, join(seedDir, NAME), ['--no-catalog']);
    running.push(seed);
    const dir = join(t.dir, 'lt-leech');
    mkdirSync(dir);
    const lt = await libtorrentPeer('leech', torrent, dir, [`127.0.0.1:${seed.port}`]);
    running.push(lt);
    const code = await within(lt.exited, 60_000);
    assert.equal(code, 0, lt.output().slice(-1000));
    assert.equal(sha256(join(dir, NAME)), want);
    await seed.stop();
    assert.match(seed.output(), /uploaded/);
  });

  it('an aria2c leecher downloads the image from isosync seed, bit-identical', async () => {
    const dir = join(t.dir, 'aria2-leech');
    mkdirSync(dir);
    const a = await aria2Peer('leech', torrent, dir);
    running.push(a);
    // aria2c has no option to add a peer: the seed dials it.
    const seed = await isosyncSeed(torrent, join(seedDir, NAME), ['--no-catalog', '--peer', `127.0.0.1:${a.port}`]);
    running.push(seed);
    const code = await within(a.exited, 60_000);
    assert.equal(code, 0, a.output().slice(-1000));
    assert.equal(sha256(join(dir, NAME)), want);
    await seed.stop();
  });
});
