/**
 * A seed with an upload slot free unchokes a peer right after the
 * handshake, before it says interested (as libtorrent does): a peer that
 * then turns interested asks at once. The peer is a raw TCP client in this
 * process that never sends `interested`; the seed is an `isosync seed`
 * process; all on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readTorrentFile } from '../../src/library/previous.js';
import { fixture } from '../helpers/env.js';
import { message, rawPeer, seededSuite } from './raw-peer.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');
/** Bytes asked of piece 0 once unchoked. */
const ASK = 1024;

/**
 * Handshakes and never says interested; once unchoked, sends one request
 * for the first ASK bytes. Resolves with the message ids received before
 * the piece came (or the connection closed, or 30 s passed).
 */
async function uninterested(port: number, infoHash: Uint8Array, fast: boolean): Promise<{ ids: number[]; piece: number }> {
  const got = { ids: [] as number[], piece: 0 };
  await rawPeer(port, infoHash, '-UN0001-uninterested', {
    fast,
    onMessage: (id, payload, socket) => {
      if (id === 7) {
        got.piece = payload.length - 8;
        return true;
      }
      got.ids.push(id);
      if (id === 1) socket.write(message(6, 0, 0, ASK));
    },
  });
  return got;
}

describe('a seed with a free upload slot', () => {
  const suite = seededSuite('isosync-early-unchoke-', IMAGE, ['--no-catalog', '--no-dht']);

  for (const fast of [true, false]) {
    it(`unchokes a peer that has not said interested, which may then ask at once (${fast ? 'BEP 6 peer' : 'BEP 3 peer'})`, async () => {
      const m = readTorrentFile(suite.torrent);
      const r = await uninterested(suite.seed.port, m.infoHashBytes, fast);
      assert.ok(r.ids.includes(1), `unchoked (got message ids ${JSON.stringify(r.ids)})`);
      assert.equal(r.ids.indexOf(1), r.ids.lastIndexOf(1), 'one unchoke');
      // What the seed has comes first (BEP 6: have-all; BEP 3: bitfield), then the unchoke.
      assert.ok(r.ids.indexOf(fast ? 14 : 5) < r.ids.indexOf(1), JSON.stringify(r.ids));
      assert.equal(r.piece, ASK);
    });
  }
});
