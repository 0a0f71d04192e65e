/**
 * The serve window cache (serve-window.ts) keeps WINDOWS_PER_PEER windows
 * per peer being served, drops a leaving peer's share, and a window's buffer
 * released and reused for another window serves that window's bytes; the
 * buffers of a burst of windows come back for the next (SPARE_WINDOWS);
 * a store that reads at once serves `bytes` so, into pooled windows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServeWindows, WINDOWS_PER_PEER } from '../../src/swarm/serve-window.js';
import { Rng } from '../helpers/random.js';

const PIECE = 16 * 1024;
const PIECES = 64;
const BLOCK = 4096;

function store() {
  const rng = new Rng(7);
  const image = Buffer.alloc(PIECE * PIECES);
  for (let i = 0; i < image.length; i++) image[i] = rng.int(256);
  const reads: number[] = [];
  const buffers = new Set<ArrayBufferLike>();
  const readNow = (offset: number, length: number, into?: Uint8Array): Uint8Array => {
    reads.push(offset);
    const out = into ?? new Uint8Array(length);
    if (into) buffers.add(into.buffer);
    out.set(image.subarray(offset, offset + length));
    return out;
  };
  const read = async (offset: number, length: number, into?: Uint8Array) => readNow(offset, length, into);
  return { image, reads, buffers, readNow, read };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('serve windows', () => {
  it('keeps WINDOWS_PER_PEER windows for one peer: the oldest is read again', () => {
    const s = store();
    const w = new ServeWindows(s.read, PIECE, s.readNow, () => 1);
    for (let p = 0; p <= WINDOWS_PER_PEER; p++) assert.ok(w.peek(p, PIECE, 0, BLOCK));
    assert.equal(w.size, WINDOWS_PER_PEER);
    w.peek(1, PIECE, BLOCK, BLOCK);
    assert.equal(s.reads.length, WINDOWS_PER_PEER + 1, 'a kept window is not read again');
    w.peek(0, PIECE, BLOCK, BLOCK);
    assert.equal(s.reads.length, WINDOWS_PER_PEER + 2, 'the oldest window was dropped');
  });

  it('keeps more windows for more peers, and drops them when peers leave', () => {
    const s = store();
    let peers = 3;
    const w = new ServeWindows(s.read, PIECE, s.readNow, () => peers);
    for (let p = 0; p < PIECES; p++) w.peek(p, PIECE, 0, BLOCK);
    assert.equal(w.size, 3 * WINDOWS_PER_PEER);
    peers = 1;
    w.trim();
    assert.equal(w.size, WINDOWS_PER_PEER);
  });

  it('a window released and reused serves its own bytes, through a bounded set of buffers', async () => {
    const s = store();
    const w = new ServeWindows(s.read, PIECE, s.readNow, () => 1);
    for (let round = 0; round < 2; round++) {
      for (let p = 0; p < PIECES; p++) {
        for (let o = 0; o < PIECE; o += BLOCK) {
          const got = (o & BLOCK) ? await w.bytes(p, PIECE, o, BLOCK) : w.peek(p, PIECE, o, BLOCK);
          assert.ok(got);
          assert.ok(Buffer.from(got).equals(s.image.subarray(p * PIECE + o, p * PIECE + o + BLOCK)), `piece ${p} block at ${o}, round ${round}`);
        }
        await turn(); // a dropped window's buffer goes back to the pool a turn later
      }
    }
    assert.equal(s.reads.length, 2 * PIECES);
    assert.ok(s.buffers.size <= 2 * WINDOWS_PER_PEER + 1, `${s.buffers.size} buffers for ${2 * PIECES} windows`);
  });

  it('windows read at once past the cache come back as spares: the next burst reuses them', async () => {
    const s = store();
    const w = new ServeWindows(s.read, PIECE, undefined, () => 1);
    const burst = (from: number) => Promise.all(Array.from({ length: 20 }, (_, i) => w.bytes(from + i, PIECE, 0, BLOCK)));
    await burst(0);
    await turn();
    assert.equal(s.buffers.size, 20);
    await burst(20);
    await turn();
    // 16 came back (the cache still holds the last WINDOWS_PER_PEER); kept to the cache's limit alone, 4 would have.
    assert.equal(s.buffers.size, 20 + WINDOWS_PER_PEER, `${s.buffers.size} buffers for 40 windows`);
  });

  it('a store that reads at once serves bytes (the share-first path) by readNow into pooled windows, not by read', async () => {
    const s = store();
    let slowReads = 0;
    // Like a seed's image source: its async read returns bytes of its own and ignores `into`.
    const read = async (offset: number, length: number) => {
      slowReads++;
      return s.readNow(offset, length);
    };
    const w = new ServeWindows(read, PIECE, s.readNow, () => 1);
    for (let p = 0; p < PIECES; p++) {
      for (let o = 0; o < PIECE; o += BLOCK) {
        const got = await w.bytes(p, PIECE, o, BLOCK);
        assert.ok(Buffer.from(got).equals(s.image.subarray(p * PIECE + o, p * PIECE + o + BLOCK)), `piece ${p} block at ${o}`);
      }
      await turn();
    }
    assert.equal(slowReads, 0);
    assert.equal(s.reads.length, PIECES, 'one read per window');
    assert.ok(s.buffers.size <= 2 * WINDOWS_PER_PEER + 1, `${s.buffers.size} buffers for ${PIECES} windows`);
  });
});
