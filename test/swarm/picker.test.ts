import { isError } from '../helpers/errors.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { alignedBlockOf, BLOCK_BYTES, isAlignedBlock, pickPiece, requestsFor, RequestBook } from '../../src/swarm/picker.js';

/** Availability shorthand: "2030" -> piece 0 held by 2 peers, piece 1 by none, ... */
function facts(avail: string, missing: number[] = [], webSeeds = false) {
  return { availability: (p: number) => Number(avail[p]), missingBytes: (p: number) => missing[p] ?? 1 << 20, webSeeds };
}

describe('piece picker', () => {
  it('takes the rarest piece some peer has', () => {
    const remaining = [0, 1, 2, 3];
    assert.equal(remaining[pickPiece(remaining, facts('3120'), () => 0)], 1);
  });
  it('puts pieces nobody has last, unless a web seed serves everything', () => {
    assert.equal(pickPiece([0, 1], facts('02'), () => 0), 1);
    assert.equal(pickPiece([0, 1], facts('00', [500, 100], true), () => 0), 1);
  });
  it('among equally rare pieces, takes the one with the fewest bytes missing (partial first)', () => {
    assert.equal(pickPiece([0, 1, 2], facts('111', [9000, 2048, 5000]), () => 0), 1);
  });
  it('breaks remaining ties at random, so leechers spread out', () => {
    const seen = new Set<number>();
    for (const r of [0.1, 0.9]) {
      let calls = 0;
      seen.add(pickPiece([0, 1], facts('11', [1, 1]), () => (calls++ === 0 ? r : 1 - r)));
    }
    assert.deepEqual([...seen].sort(), [0, 1]);
  });
  it('returns -1 when nothing remains', () => {
    assert.equal(pickPiece([], facts('')), -1);
  });
});

describe('requests for a piece range', () => {
  it('asks exactly the missing bytes, cut at 16 KiB boundaries, the last piece short', () => {
    const size = 3 * BLOCK_BYTES + 100;
    const b = requestsFor(7, size, [{ start: 10, end: 20 }, { start: BLOCK_BYTES - 5, end: 2 * BLOCK_BYTES + 7 }, { start: 3 * BLOCK_BYTES + 5, end: size }]);
    assert.deepEqual(b, [
      { piece: 7, offset: 10, length: 10 },
      { piece: 7, offset: BLOCK_BYTES - 5, length: 5 },
      { piece: 7, offset: BLOCK_BYTES, length: BLOCK_BYTES },
      { piece: 7, offset: 2 * BLOCK_BYTES, length: 7 },
      { piece: 7, offset: 3 * BLOCK_BYTES + 5, length: 95 },
    ]);
  });
  it('asks two ranges of one 16 KiB block separately, not the bytes between them', () => {
    const b = requestsFor(0, BLOCK_BYTES, [{ start: 0, end: 10 }, { start: 100, end: 200 }]);
    assert.equal(b.reduce((n, x) => n + x.length, 0), 110);
  });
  it('names the aligned block holding a request, for peers that serve only those', () => {
    const size = 2 * BLOCK_BYTES + 100;
    assert.deepEqual(alignedBlockOf({ piece: 3, offset: BLOCK_BYTES + 7, length: 9 }, size), { piece: 3, offset: BLOCK_BYTES, length: BLOCK_BYTES });
    assert.deepEqual(alignedBlockOf({ piece: 3, offset: 2 * BLOCK_BYTES + 50, length: 50 }, size), { piece: 3, offset: 2 * BLOCK_BYTES, length: 100 });
    assert.equal(isAlignedBlock({ piece: 3, offset: 2 * BLOCK_BYTES, length: 100 }, size), true);
    assert.equal(isAlignedBlock({ piece: 3, offset: 0, length: 100 }, size), false);
  });
  it('refuses a range outside the piece', () => {
    assert.throws(() => requestsFor(0, 100, [{ start: 50, end: 101 }]), isError('INTERNAL', { piece: 0 }));
  });
});

describe('request book', () => {
  const blk = (offset: number) => ({ piece: 0, offset, length: BLOCK_BYTES });
  it('gives each peer fresh blocks, oldest first, up to its free slots', () => {
    const book = new RequestBook<string>();
    [0, 1, 2].forEach((i) => book.want(blk(i * BLOCK_BYTES)));
    assert.deepEqual(book.assign('a', () => true, 2, 0).map((b) => b.offset), [0, BLOCK_BYTES]);
    assert.deepEqual(book.assign('b', () => true, 2, 0).map((b) => b.offset), [2 * BLOCK_BYTES]);
  });
  it('gives a peer only blocks of pieces it has', () => {
    const book = new RequestBook<string>();
    book.want(blk(0));
    assert.deepEqual(book.assign('a', () => false, 4, 0), []);
  });
  it('in endgame asks a second peer for a block already asked, and the first arrival cancels the other ask', () => {
    const book = new RequestBook<string>();
    book.want(blk(0));
    book.assign('a', () => true, 4, 0);
    assert.equal(book.assign('b', () => true, 4, 1).length, 1);
    assert.equal(book.assign('c', () => true, 4, 2).length, 0, 'at most two asks per block');
    assert.deepEqual(book.drop(blk(0)).sort(), ['a', 'b']);
    assert.equal(book.size, 0);
  });
  it('no endgame while some block waits for its first ask', () => {
    const book = new RequestBook<string>();
    book.want({ piece: 0, offset: 0, length: BLOCK_BYTES });
    book.want({ piece: 1, offset: 0, length: BLOCK_BYTES });
    book.assign('a', (p) => p === 0, 4, 0);
    assert.deepEqual(book.assign('b', (p) => p === 0, 4, 0), []);
  });
  it('a timed-out ask goes back to the queue for another peer', () => {
    const book = new RequestBook<string>();
    book.want(blk(0));
    book.assign('slow', () => true, 1, 0);
    assert.deepEqual(book.expired(1000), [[blk(0), 'slow']]);
    book.release(blk(0), 'slow');
    assert.equal(book.assign('fast', () => true, 1, 2000).length, 1);
  });
  it('avoids a peer for a piece when told to', () => {
    const book = new RequestBook<string>();
    book.want(blk(0));
    assert.deepEqual(book.assign('bad', () => true, 1, 0, () => true), []);
  });
});
