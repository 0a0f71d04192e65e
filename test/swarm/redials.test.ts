/**
 * A peer already linked is not dialed again (peer-set.ts linkedAt): not
 * from a tracker's list, not as a redial. Two clients of one `isosync
 * serve` that dial each other kept one link, but the one whose dial the
 * other closed as a duplicate took that for a refusal: an encrypted dial,
 * then redials, each closed the same way (~300 dials for 56 links among
 * eight clients). A table of linkedAt, and two swarms on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { linkedAt } from '../../src/swarm/peer-set.js';
import { Swarm } from '../../src/swarm/swarm.js';

describe('a peer already linked is not dialed again', () => {
  it('linkedAt: a live link dialed at the address, or one from the peer whose extended handshake names that port', () => {
    const link = (address: string, outgoing: boolean, p?: number, closed = false) => ({ address, outgoing, closed, wire: { peerExtendedHandshake: p === undefined ? {} : { p } } });
    const rows: { why: string; links: ReturnType<typeof link>[]; address: string; want: boolean }[] = [
      { why: 'no link', links: [], address: '127.0.0.1:6881', want: false },
      { why: 'we dialed it there', links: [link('127.0.0.1:6881', true)], address: '127.0.0.1:6881', want: true },
      { why: 'it dialed us and listens there', links: [link('127.0.0.1:50123', false, 6881)], address: '127.0.0.1:6881', want: true },
      { why: 'it dialed us over IPv4-mapped IPv6', links: [link('::ffff:127.0.0.1:50123', false, 6881)], address: '127.0.0.1:6881', want: true },
      { why: 'it dialed us and listens elsewhere', links: [link('127.0.0.1:50123', false, 6882)], address: '127.0.0.1:6881', want: false },
      { why: 'it dialed us and said no port', links: [link('127.0.0.1:50123', false)], address: '127.0.0.1:6881', want: false },
      { why: 'another host, same port', links: [link('10.0.0.2:50123', false, 6881)], address: '127.0.0.1:6881', want: false },
      { why: 'the link closed', links: [link('127.0.0.1:6881', true, undefined, true)], address: '127.0.0.1:6881', want: false },
    ];
    for (const r of rows) assert.equal(linkedAt(r.links, r.address), r.want, r.why);
  });

  it('a swarm that a peer dialed does not dial that peer when a tracker names it', async () => {
    const infoHash = new Uint8Array(createHash('sha1').update('redials').digest());
    const start = () => Swarm.start({ infoHash, length: 32768, pieceLength: 16384, store: { have: [false, false], read: () => Promise.reject(new Error('nothing to read')) }, port: 0 });
    const a = await start();
    const b = await start();
    try {
      b.addPeer('127.0.0.1', a.port!);
      // Linked both ways, and a has b's extended handshake (its listen port).
      const links = () => [...(a as unknown as { set: { links: Set<{ handshaken: boolean; outgoing: boolean; wire: { peerExtendedHandshake?: Record<string, unknown> } }> } }).set.links];
      for (let i = 0; !(links().length === 1 && links()[0]!.handshaken && links()[0]!.wire.peerExtendedHandshake?.['p'] === b.port && b.connectedPeers === 1); i++) {
        assert.ok(i < 500, 'the two swarms did not link');
        await new Promise((r) => setTimeout(r, 10));
      }
      a.addPeer('127.0.0.1', b.port!);
      assert.equal(a.discovering(), false, 'no dial to a peer linked already');
      assert.equal(links().length, 1);
      assert.equal(links()[0]!.outgoing, false);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
