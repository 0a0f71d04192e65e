/**
 * Bad peers beside one good seed: one sends corrupt blocks, one sends
 * garbage bytes, one stalls (unchokes, then never answers). The download
 * completes bit-identical, the corrupt peer is banned, the others dropped.
 * The bad peers are small Node peers in this process; the good seed and the
 * leecher are `isosync` processes; all on 127.0.0.1.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, fixture, tempDir } from '../helpers/env.js';
import { sha256 } from '../sync/fixture-pair.js';
import { readTorrentFile } from '../../src/library/previous.js';
import { badPeer, type Mode } from './bad-peer.js';
import { isosync, isosyncSeed, type Peer } from './peers.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');

describe('bad peers next to a good seed', () => {
  let t: ReturnType<typeof tempDir>;
  let torrent: string;
  const peers: { close: () => Promise<void>; requests: () => number; port: number; mode: Mode }[] = [];
  let seed: Peer | undefined;

  before(async () => {
    t = tempDir('isosync-badpeers-');
    torrent = join(t.dir, 'd.torrent');
    const r = cli(['publish', IMAGE, '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub'), '-o', torrent]);
    assert.equal(r.status, 0, r.stderr);
    const m = readTorrentFile(torrent);
    const image = readFileSync(IMAGE);
    for (const mode of ['corrupt', 'garbage', 'stall'] as Mode[]) peers.push({ mode, ...(await badPeer(mode, m.infoHashBytes, m.pieceLength, image)) });
  });
  after(async () => {
    await seed?.stop();
    for (const p of peers) await p.close();
    t.cleanup();
  });

  it('completes bit-identical, bans the corrupt peer and drops the garbage one', async () => {
    // The bad peers are listed first, so they are connected before the good seed and get asked.
    seed = await isosyncSeed(torrent, IMAGE, ['--no-catalog']);
    const out = join(t.dir, 'out.iso');
    const args = ['sync', torrent, '--no-catalog', '--home', join(t.dir, 'leech'), '-o', out, '--json', '--timeout', '2'];
    for (const p of peers) args.push('--peer', `127.0.0.1:${p.port}`);
    args.push('--peer', `127.0.0.1:${seed.port}`);
    const r = await isosync(args, 120_000);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(IMAGE), 'no corrupt byte reached the image');
    const report = JSON.parse(r.stdout) as { peers: { list: { address: string; downloaded: number; banned?: boolean; dropped?: string }[] }; warnings: { code: string; source: string }[] };
    const byPort = (port: number) => report.peers.list.find((p) => p.address === `127.0.0.1:${port}`);
    const corrupt = peers.find((p) => p.mode === 'corrupt')!;
    const garbage = peers.find((p) => p.mode === 'garbage')!;
    const stall = peers.find((p) => p.mode === 'stall')!;
    assert.ok(corrupt.requests() > 0, `the corrupt peer was asked for blocks: ${JSON.stringify(report.peers.list)} ${r.stderr}`);
    assert.equal(byPort(corrupt.port)?.banned, true, JSON.stringify(byPort(corrupt.port)));
    assert.ok(report.warnings.some((w) => w.code === 'PEER_BANNED' && w.source === `peer 127.0.0.1:${corrupt.port}`), JSON.stringify(report.warnings));
    // Each source's warning once, however often the peer misbehaved.
    const said = report.warnings.map((w) => `${w.code} ${w.source}`);
    assert.equal(new Set(said).size, said.length, JSON.stringify(said));
    assert.ok(byPort(garbage.port)?.dropped, `garbage peer dropped: ${JSON.stringify(byPort(garbage.port))}`);
    assert.equal(byPort(garbage.port)?.downloaded, 0);
    assert.equal(byPort(stall.port)?.downloaded, 0);
    assert.ok(byPort(seed.port)!.downloaded > 0);
  });
});
