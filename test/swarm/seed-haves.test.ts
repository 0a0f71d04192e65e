/**
 * HAVEs go to peers that lack pieces, not to a seed: a sync verifying its
 * pieces tells a leecher each one, and a peer with every piece hears none
 * (it asks us nothing; BEP 3 leaves it to the sender). Two hand-written
 * peers on 127.0.0.1 in the test's own process: an honest seed (have-all,
 * serves every block it is asked) and a leecher with no piece that never
 * unchokes; `isosync sync` gets the image from the seed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Wire from 'bittorrent-protocol';
import { readTorrentFile } from '../../src/library/previous.js';
import { fixture, tempDir } from '../helpers/env.js';
import { incomingWire, socketServer } from './bad-peer.js';
import { isosync, publishImage } from './peers.js';
import { sha256 } from '../sync/fixture-pair.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');

/** A raw peer that counts the HAVE messages it receives; `seed`: have-all and serves blocks, else has nothing and chokes. */
async function countingPeer(seed: boolean, infoHash: Uint8Array, pieceLength: number, pieceCount: number, image: Buffer) {
  let haves = 0;
  let handshakes = 0;
  const server = await socketServer((socket) => {
    const wire: Wire = incomingWire(socket);
    wire.on('handshake', () => {
      handshakes++;
      wire.handshake(infoHash, Buffer.from(seed ? '-XX0001-countingseed' : '-XX0001-countingleec'), { fast: true });
      if (seed) wire.haveAll();
      else wire.bitfield(new Uint8Array(Math.ceil(pieceCount / 8)));
    });
    wire.on('have', () => haves++);
    if (!seed) return;
    wire.on('interested', () => wire.unchoke());
    wire.on('request', (i: number, off: number, len: number, respond: (err: Error | null, b?: Uint8Array) => void) => {
      const at = i * pieceLength + off;
      respond(null, Buffer.from(image.subarray(at, at + len)));
    });
  });
  return { ...server, haves: () => haves, handshakes: () => handshakes };
}

describe('HAVEs of a sync', () => {
  const t = tempDir('isosync-seed-haves-');
  after(() => t.cleanup());

  it('go to a leecher for the pieces verified, and none to a seed', async () => {
    const { torrent } = publishImage(join(t.dir, 'pub'), IMAGE);
    const m = readTorrentFile(torrent);
    const image = readFileSync(IMAGE);
    const pieceCount = Math.ceil(image.length / m.pieceLength);
    const seed = await countingPeer(true, m.infoHashBytes, m.pieceLength, pieceCount, image);
    const leecher = await countingPeer(false, m.infoHashBytes, m.pieceLength, pieceCount, image);
    try {
      const out = join(t.dir, 'out.iso');
      // The leecher is listed first: it is dialed before the seed sends anything.
      const r = await isosync(['sync', torrent, '--no-catalog', '--no-dht', '--no-utp', '--home', join(t.dir, 'home'), '-o', out, '--json', '--peer', `127.0.0.1:${leecher.port}`, '--peer', `127.0.0.1:${seed.port}`]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(IMAGE));
      assert.equal(seed.handshakes(), 1);
      assert.equal(leecher.handshakes(), 1);
      assert.ok(leecher.haves() > 0, `the leecher heard ${leecher.haves()} of ${pieceCount} pieces`);
      assert.equal(seed.haves(), 0, 'a seed is told no piece');
    } finally {
      await seed.close();
      await leecher.close();
    }
  });
});
