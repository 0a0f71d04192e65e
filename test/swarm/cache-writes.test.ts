/**
 * Which verified pieces a serving sync writes through the page cache
 * (swarm/cache-writes.ts): with leechers connected, the pieces that got
 * bytes from the network, and the local ones too once a peer asked for a
 * local one; alone with seeds, none.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pieceIndex, type PieceIndex } from '../../src/core/ids.js';
import { CacheWrites, writeThroughCache } from '../../src/swarm/cache-writes.js';

describe('which pieces go through the page cache', () => {
  // [peers lacking pieces, piece fetched, a local piece asked, through the cache?]
  const table: [boolean, boolean, boolean, boolean][] = [
    [true, true, false, true], // a piece peers of the same release lack too
    [true, false, false, false], // local bytes alone: they make it themselves
    [true, false, true, true], // a peer without the old release asked for a local piece
    [false, true, false, false], // alone with seeds: nobody reads it back
    [false, false, true, false],
  ];
  for (const [peersLacking, fetched, localAsked, want] of table) {
    it(`leechers ${peersLacking}, fetched ${fetched}, local asked ${localAsked}: ${want ? 'through' : 'past'} the cache`, () => {
      assert.equal(writeThroughCache({ peersLacking, fetched, localAsked }), want);
    });
  }
});

describe('a sync learns that peers want its local pieces', () => {
  it('caches local pieces once a peer is served one, not when served a fetched one', () => {
    const fetched = new Set<PieceIndex>([pieceIndex(3)]);
    const c = new CacheWrites(() => true, () => fetched);
    assert.equal(c.when(false), false);
    assert.equal(c.when(true), true);
    c.served(pieceIndex(3));
    assert.equal(c.when(false), false, 'a fetched piece asked says nothing of local ones');
    c.served(pieceIndex(4));
    assert.equal(c.when(false), true, 'a local piece was asked');
  });

  it('caches every piece while the sync does not say which it fetched', () => {
    const c = new CacheWrites(() => true, () => undefined);
    assert.equal(c.when(false), true);
    c.served(pieceIndex(0));
    assert.equal(c.when(false), true);
  });

  it('caches nothing with no leecher connected', () => {
    let lacking = false;
    const c = new CacheWrites(() => lacking, () => new Set());
    c.served(pieceIndex(1));
    assert.equal(c.when(true), false);
    lacking = true;
    assert.equal(c.when(false), true);
  });
});
