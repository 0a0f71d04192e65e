/**
 * BitTorrent v2-only torrents (BEP 52) end to end with python3-libtorrent,
 * which made them: isosync syncs a release `--from` the previous one from a
 * web seed and from a libtorrent seeder over the v2 swarm (the handshake
 * carries the SHA-256 infohash cut to 20 bytes), at no more than 1.05 x the
 * floor and bit-identical, checking every piece against the torrent's piece
 * layers; and `isosync seed` serves a libtorrent leecher to completion
 * (libtorrent pads the last piece to a whole piece and asks for the pad,
 * which is served as zeros). Hybrid torrents (libtorrent's default) over a
 * libtorrent seeder are checked the same way; over a web seed in
 * test/torrent/v2-interop.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { computeFloor } from '../../bench/floor.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { fixture, needTools, tempDir } from '../helpers/env.js';
import { startRangeServer } from '../helpers/range-server.js';
import { isosync, isosyncSeed, libtorrentPeer, within, makeLibtorrentTorrent, type Peer } from '../swarm/peers.js';

const RELEASES = fixture('releases');
const CUR = join(RELEASES, 'distro-1.01.iso');
const OLD = join(RELEASES, 'distro-1.00.iso');
const NAME = 'distro-1.01.iso';
/** 256 KiB pieces: the release is 20 whole pieces and a last one of 26 KiB (libtorrent pads it to 256 KiB). */
const PIECE = 262144;

interface SyncJson {
  fetchedBytes: number;
  reusedBytes: number;
  peers: { downloaded: number };
}

describe('v2-only and hybrid torrents from libtorrent, end to end', { skip: needTools('libtorrent') }, () => {
  const tmp = tempDir('isosync-v2-');
  const torrents: Record<'v2' | 'hybrid', string> = { v2: join(tmp.dir, 'v2.torrent'), hybrid: join(tmp.dir, 'hybrid.torrent') };
  let floor = 0;
  const running: Peer[] = [];

  before(async () => {
    for (const mode of ['v2', 'hybrid'] as const) {
      makeLibtorrentTorrent(CUR, torrents[mode], mode, PIECE);
    }
    floor = (await computeFloor(CUR, [OLD])).floorBytes;
  });
  after(async () => {
    for (const p of running) await p.stop();
    tmp.cleanup();
  });

  const syncArgs = (torrent: string, out: string, extra: string[]) => ['sync', torrent, '--from', OLD, '--no-catalog', '--no-dht', '--home', join(tmp.dir, 'home'), '-o', out, '--json', ...extra];

  it('reads the v2-only torrent as v2, known on the wire by its truncated SHA-256 infohash', () => {
    const m = parseMetainfo(readFileSync(torrents.v2), torrents.v2);
    assert.equal(m.version, 'v2');
    assert.equal(m.pieces.length, 0);
    assert.equal(m.infoHash, m.v2!.infoHash.slice(0, 40));
    assert.equal(m.v2?.layersComplete, true);
  });

  it('syncs the v2-only torrent --from the previous release from a web seed at no more than 1.05 x the floor, bit-identical', async (t) => {
    const server = await startRangeServer({ [`/${NAME}`]: CUR });
    t.after(() => server.close());
    const out = join(tmp.dir, 'web-v2', NAME);
    mkdirSync(join(tmp.dir, 'web-v2'));
    const r = await isosync(syncArgs(torrents.v2, out, ['--web-seed', `${server.url}/${NAME}`]));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(out).equals(readFileSync(CUR)), 'bit-identical');
    const report = JSON.parse(r.stdout) as SyncJson;
    assert.ok(report.reusedBytes > 0, 'reused the previous release');
    const ratio = server.bytesSent() / floor;
    process.stderr.write(`# v2-only torrent, web seed: ${server.bytesSent()} bytes sent, floor ${floor}, ${ratio.toFixed(3)} x\n`);
    assert.ok(ratio <= 1.05, `${ratio.toFixed(3)} x the floor`);
  });

  for (const mode of ['v2', 'hybrid'] as const) {
    it(`syncs the ${mode} torrent --from the previous release from a libtorrent seeder over its swarm at no more than 1.05 x the floor, bit-identical`, async () => {
      const seeder = await libtorrentPeer('seed', torrents[mode], RELEASES);
      running.push(seeder);
      // libtorrent turns peers away while it checks its copy: connect once it seeds.
      assert.ok(await seeding(seeder), `libtorrent seeds: ${JSON.stringify(seeder.last())}`);
      const dir = join(tmp.dir, `peer-${mode}`);
      mkdirSync(dir);
      const out = join(dir, NAME);
      const r = await isosync(syncArgs(torrents[mode], out, ['--peer', `127.0.0.1:${seeder.port}`]));
      assert.equal(r.status, 0, r.stderr);
      assert.ok(readFileSync(out).equals(readFileSync(CUR)), 'bit-identical');
      const report = JSON.parse(r.stdout) as SyncJson;
      assert.ok(report.peers.downloaded > 0, 'the bytes came from the libtorrent seeder');
      // The seeder's own count of what it sent, once its status line caught up with what isosync received.
      const sent = await uploadedBy(seeder, report.peers.downloaded);
      await seeder.stop();
      const ratio = sent / floor;
      process.stderr.write(`# ${mode} torrent, libtorrent seeder: ${sent} bytes sent, floor ${floor}, ${ratio.toFixed(3)} x\n`);
      assert.ok(ratio <= 1.05, `${ratio.toFixed(3)} x the floor`);
    });
  }

  it('isosync seed serves the v2-only torrent to a libtorrent leecher to completion, bit-identical', async () => {
    const seed = await isosyncSeed(torrents.v2, CUR, ['--home', join(tmp.dir, 'seed-home'), '--no-dht', '--no-catalog']);
    running.push(seed);
    const dir = join(tmp.dir, 'leech');
    mkdirSync(dir);
    const leech = await libtorrentPeer('leech', torrents.v2, dir, [`127.0.0.1:${seed.port}`]);
    running.push(leech);
    // A leecher that never completes would run on: it is given two minutes, far beyond the few seconds this takes.
    assert.equal(await within(leech.exited, 120_000), 0, leech.output().slice(-2000));
    assert.equal(leech.last().seeding, true, JSON.stringify(leech.last()));
    assert.ok(readFileSync(join(dir, NAME)).equals(readFileSync(CUR)), 'bit-identical');
  });
});

/** The seeder's uploaded payload once it reports at least `atLeast` bytes (its status line comes every 100 ms). */
async function uploadedBy(seeder: Peer, atLeast: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const up = Number(seeder.last().uploaded ?? 0);
    if (up >= atLeast) return up;
    await new Promise((r) => setTimeout(r, 100));
  }
  return Number(seeder.last().uploaded ?? 0);
}

/** Whether the libtorrent peer reports it seeds (it checks its data first), within a minute. */
async function seeding(peer: Peer): Promise<boolean> {
  for (let i = 0; i < 600 && peer.last().seeding !== true; i++) await new Promise((r) => setTimeout(r, 100));
  return peer.last().seeding === true;
}
