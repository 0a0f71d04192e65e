/**
 * A HAVE wakes the download engine only for a piece we lack (swarm.ts
 * onHave): peers of one release verify the same local pieces, and a HAVE of
 * a piece already held here changes nothing the engine could ask for. Two
 * swarms on 127.0.0.1; messages on one link arrive in order, so once the
 * engine heard of the piece we lack, the HAVE sent before it was handled.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { pieceIndex, type PieceIndex } from '../../src/core/ids.js';
import { Swarm, type EnginePort } from '../../src/swarm/swarm.js';

describe('a HAVE of a piece we hold', () => {
  it('is not passed to the engine; one of a piece we lack is', async () => {
    const infoHash = new Uint8Array(createHash('sha1').update('have-wakes').digest());
    const store = (have: boolean[]) => ({ have, read: () => Promise.reject(new Error('nothing to read')) });
    const aHave = [true, false, false, false];
    const bHave = [false, false, false, false];
    const a = await Swarm.start({ infoHash, length: 4 * 16384, pieceLength: 16384, store: store(aHave), port: 0 });
    const b = await Swarm.start({ infoHash, length: 4 * 16384, pieceLength: 16384, store: store(bHave), port: 0 });
    const announced: PieceIndex[] = [];
    const engine: EnginePort = { add: () => undefined, announced: (p) => void announced.push(p), availabilityChanged: () => undefined, attachPeers: () => undefined };
    a.attachEngine(engine);
    try {
      b.addPeer('127.0.0.1', a.port!);
      for (let i = 0; !(a.connectedPeers === 1 && b.connectedPeers === 1); i++) {
        assert.ok(i < 500, 'the two swarms did not link');
        await new Promise((r) => setTimeout(r, 10));
      }
      bHave[0] = true;
      b.pieceVerified(pieceIndex(0));
      bHave[1] = true;
      b.pieceVerified(pieceIndex(1));
      for (let i = 0; announced.length === 0; i++) {
        assert.ok(i < 500, 'the HAVE of piece 1 did not come');
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual(announced, [pieceIndex(1)]);
      assert.equal(a.availabilityOf(pieceIndex(0)), 1, 'still counted as held by the peer');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
