/**
 * A seed with an upload slot free unchokes a peer right after the
 * handshake, before it says interested (as libtorrent does): a peer that
 * then turns interested asks at once. The peer is a raw TCP client in this
 * process that never sends `interested`; the seed is an `isosync seed`
 * process; all on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { readTorrentFile } from '../../src/library/previous.js';
import { fixture } from '../helpers/env.js';
import { handshake, message, seededSuite } from './raw-peer.js';

const IMAGE = fixture('releases', 'distro-1.01.iso');
/** Bytes asked of piece 0 once unchoked. */
const ASK = 1024;

/**
 * Handshakes and never says interested; once unchoked, sends one request
 * for the first ASK bytes. Resolves with the message ids received before
 * the piece came (or the connection closed, or 30 s passed).
 */
function uninterested(port: number, infoHash: Uint8Array, fast: boolean): Promise<{ ids: number[]; piece: number }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let buf = Buffer.alloc(0);
  let shook = false;
  const got = { ids: [] as number[], piece: 0 };
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, 30_000);
    socket.on('close', done);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!shook) {
        if (buf.length < 68) return;
        shook = true;
        buf = buf.subarray(68);
      }
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const n = buf.readUInt32BE(0);
        const id = n > 0 ? buf[4]! : -1;
        if (id === 7) {
          got.piece = n - 9;
          return done();
        }
        got.ids.push(id);
        buf = buf.subarray(4 + n);
        if (id === 1) socket.write(message(6, 0, 0, ASK));
      }
    });
    socket.write(handshake(infoHash, '-UN0001-uninterested', fast));
  });
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
