/**
 * A peer that pipelines past the `reqq` isosync advertises (500), as
 * rtorrent does, is not dropped: without the fast extension its extra
 * requests wait in line and are all served; with it (BEP 6) they are
 * rejected and it stays connected. The peers are raw TCP clients in this
 * process; the seed is an `isosync seed` process; all on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readTorrentFile } from '../../src/library/previous.js';
import { MAX_PEER_REQUESTS, SEND_AHEAD_BYTES } from '../../src/swarm/uploads.js';
import { fixture } from '../helpers/env.js';
import { message, rawPeer, seededSuite } from './raw-peer.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');
/**
 * Requests sent at once: well past reqq, as rtorrent's pipeline goes. The
 * seed reads its image at once and answers requests in the turn they come
 * until SEND_AHEAD_BYTES of replies are out (512 of these 1 KiB ones): the
 * burst goes past reqq beyond those.
 */
const BURST = MAX_PEER_REQUESTS + SEND_AHEAD_BYTES / 1024 + 200;
/**
 * The fast peer's burst goes 1,000 past (not 200): the seed answers what
 * reaches it before the rest of the burst does, and a loopback read split in
 * two had let it answer 712 first (no reject, once in ~16 runs). Under
 * MAX_PEER_REQUESTS + SEND_AHEAD + MAX_OVERFLOW_REQUESTS, so the rejects
 * alone never make it a flood.
 */
const FAST_BURST = MAX_PEER_REQUESTS + SEND_AHEAD_BYTES / 1024 + 1000;

/**
 * Handshakes, says interested, waits for the unchoke, sends BURST requests
 * at once; resolves with the pieces and rejects received once both add up
 * to the burst (or the connection closed, or 30 s passed).
 */
async function pipeline(port: number, infoHash: Uint8Array, pieceCount: number, fast: boolean, burst = BURST): Promise<{ pieces: number; rejects: number; closed: boolean }> {
  let sent = false;
  const got = { pieces: 0, rejects: 0, closed: false };
  await rawPeer(port, infoHash, '-RQ0001-reqqreqqreqq', {
    fast,
    onHandshake: (socket) => socket.write(message(2)),
    onClose: () => {
      got.closed = true;
    },
    onMessage: (id, _payload, socket) => {
      if (id === 1 && !sent) {
        sent = true;
        // Distinct 1 KiB requests (the same request twice is answered once), none in the short last piece.
        socket.write(Buffer.concat(Array.from({ length: burst }, (_, i) => message(6, i % (pieceCount - 1), 1024 * Math.floor(i / (pieceCount - 1)), 1024))));
      } else if (id === 7) got.pieces++;
      else if (id === 16) got.rejects++;
      return got.pieces + got.rejects === burst;
    },
  });
  return got;
}

describe('peers that pipeline past reqq', () => {
  const suite = seededSuite('isosync-reqq-', IMAGE, ['--no-catalog', '--no-dht']);

  it('serves every request of a peer without the fast extension, in turn', async () => {
    const m = readTorrentFile(suite.torrent);
    const r = await pipeline(suite.seed.port, m.infoHashBytes, m.pieceCount, false);
    assert.deepEqual(r, { pieces: BURST, rejects: 0, closed: false });
  });

  it('rejects the requests past reqq of a peer with the fast extension, and keeps it', async () => {
    const m = readTorrentFile(suite.torrent);
    const r = await pipeline(suite.seed.port, m.infoHashBytes, m.pieceCount, true, FAST_BURST);
    assert.equal(r.closed, false);
    assert.equal(r.pieces + r.rejects, FAST_BURST);
    assert.ok(r.rejects > 0 && r.pieces >= MAX_PEER_REQUESTS, JSON.stringify(r));
  });
});
