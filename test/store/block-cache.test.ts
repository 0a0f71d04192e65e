/**
 * BlockCache's prefetch: the blocks of announced ranges are loaded with one
 * inner read per run of nearby blocks (a metadata walk announces a level's
 * inodes at once), reads of them then cost no inner read, the bytes are the
 * source's, and at most half the cache is loaded by one call.
 *
 * Over a source with cheap reads (a plain local file), a miss reads only the
 * bytes asked and loads no block; held blocks still serve reads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BlockCache } from '../../src/store/block-cache.js';
import { MemorySource, type ByteSource } from '../../src/store/byte-source.js';
import { Rng } from '../helpers/random.js';

/** A source that counts the reads that reach it and the bytes they asked. */
function counted(bytes: Uint8Array, cheapReads?: boolean): ByteSource & { reads: number; bytesRead: number } {
  const inner = new MemorySource(bytes);
  const s = {
    reads: 0,
    bytesRead: 0,
    size: bytes.length,
    ...(cheapReads !== undefined ? { cheapReads } : {}),
    read: (offset: number, length: number) => {
      s.reads++;
      s.bytesRead += length;
      return inner.read(offset, length);
    },
  };
  return s;
}

describe('BlockCache prefetch', () => {
  const bytes = new Rng(7).bytes(8 * 1024 * 1024);

  it('loads nearby blocks with one read and serves them without another', async () => {
    const src = counted(bytes);
    const cache = new BlockCache(src, 4096, 4096);
    // Three ranges within 64 KiB of one another (one run), one far away (another run).
    const ranges = [
      { start: 10_000, end: 10_100 },
      { start: 30_000, end: 30_032 },
      { start: 70_000, end: 74_000 },
      { start: 5_000_000, end: 5_000_064 },
    ];
    await cache.prefetch(ranges);
    assert.equal(src.reads, 2);
    for (const r of ranges) assert.deepEqual(await cache.read(r.start, r.end - r.start), bytes.subarray(r.start, r.end));
    assert.equal(src.reads, 2);
  });

  it('reads blocks it already holds again never, and loads at most half the cache', async () => {
    const src = counted(bytes);
    const cache = new BlockCache(src, 4096, 8);
    await cache.read(0, 100);
    assert.equal(src.reads, 1);
    // Block 0 is held; 20 blocks far apart are asked for, 4 (half of 8) are loaded.
    await cache.prefetch([{ start: 0, end: 10 }, ...Array.from({ length: 20 }, (_, i) => ({ start: (i + 1) * 256 * 1024, end: (i + 1) * 256 * 1024 + 10 }))]);
    assert.equal(src.reads, 5);
    await cache.read(256 * 1024, 10);
    assert.equal(src.reads, 5);
    assert.deepEqual(await cache.read(20 * 256 * 1024, 1), bytes.subarray(20 * 256 * 1024, 20 * 256 * 1024 + 1));
  });

  it("keeps a block, not its run's whole read, when the source answers with Buffers (whose slice is a view)", async () => {
    // A file source answers each read with a Buffer of its own; a cached block that is a view of it keeps all of it.
    const src: ByteSource = { size: bytes.length, read: async (offset, length) => Buffer.from(bytes.subarray(offset, offset + length)) };
    const cache = new BlockCache(src, 4096, 4096);
    await cache.prefetch([{ start: 10_000, end: 10_100 }, { start: 30_000, end: 30_032 }]);
    const got = await cache.read(10_000, 100);
    assert.deepEqual(got, bytes.subarray(10_000, 10_100));
    assert.ok(got.buffer.byteLength <= 4096, `a cached block holds ${got.buffer.byteLength} bytes of memory`);
  });
});

describe('BlockCache over a source with cheap reads', () => {
  const bytes = new Rng(11).bytes(4 * 1024 * 1024);
  const BS = 256 * 1024;
  // Each row: the source's cheapReads, blocks prefetched first, then the reads (offset, length, via readInto?):
  // what reaches the source afterwards (reads, bytes).
  const rows: { name: string; cheap: boolean | undefined; prefetch?: { start: number; end: number }[]; reads: [number, number, boolean][]; want: { reads: number; bytes: number } }[] = [
    { name: 'a miss of a plain source loads its whole block, the next read in it is a hit', cheap: undefined, reads: [[1000, 100, false], [5000, 200, false]], want: { reads: 1, bytes: BS } },
    { name: 'cheapReads false behaves as unset', cheap: false, reads: [[1000, 100, true], [5000, 200, true]], want: { reads: 1, bytes: BS } },
    { name: 'a miss of a cheap source reads only the bytes asked', cheap: true, reads: [[1000, 100, false], [5000, 200, false]], want: { reads: 2, bytes: 300 } },
    { name: 'readInto of a cheap source reads only the bytes asked', cheap: true, reads: [[1000, 100, true], [BS - 50, 100, true]], want: { reads: 2, bytes: 200 } },
    { name: 'a read across two blocks of a cheap source is one read of its bytes', cheap: true, reads: [[BS - 10, 20, false]], want: { reads: 1, bytes: 20 } },
    { name: 'prefetched blocks of a cheap source still serve reads', cheap: true, prefetch: [{ start: 0, end: 10 }], reads: [[1000, 100, false], [2000, 100, true]], want: { reads: 0, bytes: 0 } },
    { name: 'a read that crosses from a held block into one not held reads only its bytes', cheap: true, prefetch: [{ start: 0, end: 10 }], reads: [[BS - 10, 20, true]], want: { reads: 1, bytes: 20 } },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const src = counted(bytes, row.cheap);
      const cache = new BlockCache(src, BS, 8);
      if (row.prefetch) await cache.prefetch(row.prefetch);
      const before = { reads: src.reads, bytes: src.bytesRead };
      for (const [offset, length, into] of row.reads) {
        const want = bytes.subarray(offset, offset + length);
        if (into) {
          const dest = new Uint8Array(length + 3);
          await cache.readInto(dest, 3, offset, length);
          assert.deepEqual(dest.subarray(3), want);
        } else assert.deepEqual(await cache.read(offset, length), want);
      }
      assert.deepEqual({ reads: src.reads - before.reads, bytes: src.bytesRead - before.bytes }, row.want);
    });
  }
});

describe('BlockCache pooled (blocks in the slots of one buffer)', () => {
  for (const cheap of [false, true]) {
    it(`serves the source's bytes through concurrent reads and prefetches, results kept intact (cheapReads ${cheap})`, async () => {
      const rng = new Rng(cheap ? 11 : 7);
      const bytes = new Uint8Array(300_000);
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.next() & 0xff;
      const src = counted(bytes, cheap);
      // 8 slots of 1 KiB: every round evicts and reuses slots.
      const cache = new BlockCache(src, 1024, 8, true);
      const held: { at: number; got: Uint8Array }[] = [];
      for (let round = 0; round < 60; round++) {
        const ranges = Array.from({ length: 6 }, () => {
          const start = rng.next() % (bytes.length - 3000);
          return { start, end: start + 1 + (rng.next() % 3000) };
        });
        const prefetch = cache.prefetch(ranges.slice(0, 3));
        const reads = ranges.map(async (r) => {
          if (r.start % 2) {
            const dest = new Uint8Array(r.end - r.start + 4);
            await cache.readInto(dest, 2, r.start, r.end - r.start);
            return { at: r.start, got: dest.subarray(2, 2 + r.end - r.start) };
          }
          return { at: r.start, got: await cache.read(r.start, r.end - r.start) };
        });
        const [, ...got] = await Promise.all([prefetch, ...reads]);
        held.push(...got);
      }
      // Every result still equals the source's bytes after all later loads (none is a view of a reused slot).
      for (const h of held) assert.deepEqual(h.got, bytes.subarray(h.at, h.at + h.got.length));
      assert.ok(src.reads > 0);
    });
  }
});
