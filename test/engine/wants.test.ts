/**
 * The fetches waiting for blocks (engine/wants.ts), a pure core: a fetch
 * resolves with its ranges' bytes and exact blame once its last block is in,
 * whatever the order; blocks held ahead are used; two requests at one offset
 * with different lengths are two blocks; a failed fetch gives up only the
 * blocks no other fetch waits for; a block may be received in place, in the
 * buffer of the one fetch that waits for it, and only then.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pieceIndex } from '../../src/core/ids.js';
import { requestsFor, type Block } from '../../src/engine/block.js';
import { Wants } from '../../src/engine/wants.js';

const PIECE = 64 * 1024;
const p1 = pieceIndex(1);
/** Bytes of the target at absolute [start, end): byte i is i mod 251. */
const bytesAt = (start: number, end: number) => Uint8Array.from({ length: end - start }, (_, i) => (start + i) % 251);
const abs = (b: Block) => b.piece * PIECE + b.offset;
const send = (w: Wants<string>, b: Block, who: string, keep = false) => w.deliver(b, bytesAt(abs(b), abs(b) + b.length), who, keep);

describe('wants', () => {
  it('a fetch resolves once its last block is in, in any order, with the bytes of its ranges and who sent which', async () => {
    const w = new Wants<string>();
    const ranges = [{ start: PIECE + 100, end: PIECE + 20000 }, { start: PIECE + 40000, end: PIECE + 40010 }];
    const blocks = requestsFor(p1, PIECE, ranges.map((r) => ({ start: r.start - PIECE, end: r.end - PIECE })));
    const wanted: Block[] = [];
    let done = false;
    const f = w.add(p1, ranges, blocks, PIECE, (b) => wanted.push(b)).then((x) => ((done = true), x));
    assert.deepEqual(wanted, blocks);
    assert.equal(blocks.length, 3);
    send(w, blocks[2]!, 'web');
    send(w, blocks[0]!, 'peer');
    await Promise.resolve();
    assert.equal(done, false);
    assert.equal(w.waitedFor(blocks[1]!), true);
    send(w, blocks[1]!, 'peer');
    const got = await f;
    assert.deepEqual(got.parts, ranges.map((r) => bytesAt(r.start, r.end)));
    assert.deepEqual(got.blame, [{ start: PIECE + 100, end: PIECE + 20000, who: 'peer' }, { start: PIECE + 40000, end: PIECE + 40010, who: 'web' }]);
    assert.equal(w.size, 0);
    assert.equal(w.waitedFor(blocks[1]!), false);
  });

  it('a block held ahead is used by the fetch that comes; one at the same offset with another length is another block', async () => {
    const w = new Wants<string>();
    const short = { piece: p1, offset: 0, length: 100 };
    const long = { piece: p1, offset: 0, length: 200 };
    send(w, long, 'web', true);
    const wanted: Block[] = [];
    const f = w.add(p1, [{ start: PIECE, end: PIECE + 100 }], [short], PIECE, (b) => wanted.push(b));
    assert.deepEqual(wanted, [short], 'the held 200-byte block does not answer a 100-byte request');
    const g = w.add(p1, [{ start: PIECE, end: PIECE + 200 }], [long], PIECE, (b) => wanted.push(b));
    assert.deepEqual(wanted, [short], 'the held block answers its own request: nothing more is wanted');
    assert.deepEqual((await g).parts, [bytesAt(PIECE, PIECE + 200)]);
    send(w, short, 'peer');
    assert.deepEqual((await f).parts, [bytesAt(PIECE, PIECE + 100)]);
  });

  it('two fetches of one block both get it; failing one gives up only the blocks the other does not wait for', async () => {
    const w = new Wants<string>();
    const a = { piece: p1, offset: 0, length: 16384 };
    const b = { piece: p1, offset: 16384, length: 16384 };
    const first = w.add(p1, [{ start: PIECE, end: PIECE + 32768 }], [a, b], PIECE, () => undefined);
    const second = w.add(p1, [{ start: PIECE, end: PIECE + 16384 }], [a], PIECE, () => undefined);
    const [one] = w.pending();
    const unwanted: Block[] = [];
    w.fail(one!, new RangeError('gone'), (x) => unwanted.push(x));
    await assert.rejects(first);
    assert.deepEqual(unwanted, [b]);
    assert.equal(w.waitedFor(a), true);
    send(w, a, 'peer');
    assert.deepEqual((await second).parts, [bytesAt(PIECE, PIECE + 16384)]);
    assert.equal(w.size, 0);
  });

  it('a block the one fetch with a buffer waits for is received in its place there; none is offered once it is in, to a second fetch, or without a buffer', async () => {
    const w = new Wants<string>();
    const into = new Uint8Array(PIECE);
    const whole = [{ start: PIECE, end: 2 * PIECE }];
    const blocks = requestsFor(p1, PIECE, [{ start: 0, end: PIECE }]);
    const f = w.add(p1, whole, blocks, PIECE, () => undefined, into);
    const b = blocks[1]!;
    const place = w.inPlace(p1, b.offset, b.length)!;
    assert.equal(place.buffer, into.buffer);
    assert.equal(place.byteOffset, b.offset);
    assert.equal(place.length, b.length);
    assert.equal(w.inPlace(p1, b.offset, b.length - 1), undefined, 'another length is another block, not asked');
    // Received in place, then delivered as that view.
    place.set(bytesAt(abs(b), abs(b) + b.length));
    w.deliver(b, place, 'peer', false);
    assert.equal(w.inPlace(p1, b.offset, b.length), undefined, 'its bytes are in: a late copy gets no place');
    for (const x of blocks) if (x !== b) send(w, x, 'web');
    const got = await f;
    assert.equal(got.parts[0]!.buffer, into.buffer);
    assert.deepEqual(got.parts[0], bytesAt(PIECE, 2 * PIECE));
    // Two fetches of one block, or a fetch without a buffer: no place.
    const c = blocks[2]!;
    const g = w.add(p1, whole, blocks, PIECE, () => undefined, new Uint8Array(PIECE));
    const h = w.add(p1, [{ start: PIECE + c.offset, end: PIECE + c.offset + c.length }], [c], PIECE, () => undefined);
    assert.equal(w.inPlace(p1, c.offset, c.length), undefined);
    assert.notEqual(w.inPlace(p1, blocks[0]!.offset, blocks[0]!.length), undefined);
    for (const x of blocks) send(w, x, 'web');
    assert.deepEqual((await g).parts[0], bytesAt(PIECE, 2 * PIECE));
    assert.deepEqual((await h).parts[0], bytesAt(PIECE + c.offset, PIECE + c.offset + c.length));
    const k = w.add(p1, [{ start: PIECE, end: PIECE + 100 }], [{ piece: p1, offset: 0, length: 100 }], PIECE, () => undefined);
    assert.equal(w.inPlace(p1, 0, 100), undefined);
    send(w, { piece: p1, offset: 0, length: 100 }, 'web');
    await k;
  });
});
