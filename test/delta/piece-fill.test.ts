import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fillSegments, ReadWindows } from '../../src/delta/piece-fill.js';
import { ZERO_SOURCE, type LocalSegment } from '../../src/delta/plan.js';
import { MemorySource, type ByteSource } from '../../src/store/byte-source.js';
import { Rng } from '../helpers/random.js';

const seg = (start: number, end: number, source: number, sourceOffset: number): LocalSegment => ({ start, end, source, sourceOffset, reason: 'moved-file' });

/** A source that counts its reads. */
class Counting implements ByteSource {
  reads = 0;
  constructor(private readonly inner: MemorySource) {}
  get size(): number {
    return this.inner.size;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    this.reads++;
    return this.inner.read(offset, length);
  }
}

/** What each segment says, copied byte by byte: the reference fillSegments must equal. */
function expected(len: number, base: number, segs: readonly LocalSegment[], bytes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(len).fill(0xee);
  for (const s of segs) for (let t = s.start; t < s.end; t++) out[t - base] = s.source === ZERO_SOURCE ? 0 : bytes[s.source]![s.sourceOffset + t - s.start]!;
  return out;
}

test('neighbouring files of one source are read straight into the piece and land where the plan says', async () => {
  const rng = new Rng(7);
  const old = rng.bytes(4096);
  const src = new Counting(new MemorySource(old));
  const base = 1000;
  // Three files in the same order as in the old image, with other bytes (padding) between them there, and zeros here.
  const segs = [seg(1000, 1100, 0, 200), { ...seg(1100, 1120, ZERO_SOURCE, 0), reason: 'zero' as const }, seg(1120, 1300, 0, 310), seg(1300, 1512, 0, 500)];
  const buf = new Uint8Array(512).fill(0xee);
  const filled = await fillSegments(buf, base, segs, { sources: [src] });
  assert.deepEqual(filled, [{ start: 1000, end: 1512 }]);
  assert.deepEqual(buf, expected(512, base, segs, [old]));
  // The first and last files (the same shift) with one read, the zeros and the file between them after it.
  assert.equal(src.reads, 2);
});

test('a stretch read straight: interleaved shifts, zeros and holes, with and without read windows, the same bytes as one by one', async () => {
  const rng = new Rng(11);
  const a = rng.bytes(8192);
  const b = rng.bytes(8192);
  const zero = (start: number, end: number): LocalSegment => ({ ...seg(start, end, ZERO_SOURCE, 0), reason: 'zero' });
  // Source 0 at shift +1000 (four files), source 0 at +1500 and source 1 between them; a hole at 700-720; a second stretch.
  const segs = [seg(0, 100, 0, 1000), zero(100, 110), seg(110, 200, 0, 1610), seg(200, 300, 0, 1200), seg(300, 340, 1, 600), seg(340, 500, 0, 1340), seg(500, 700, 0, 1500), seg(720, 800, 1, 900), seg(800, 1000, 1, 980)];
  const reference = expected(1024, 0, segs, [a, b]);
  for (const windows of [undefined, new ReadWindows(1024, segs)]) {
    const srcA = new Counting(new MemorySource(a));
    const srcB = new Counting(new MemorySource(b));
    const buf = new Uint8Array(1024).fill(0xee);
    const filled = await fillSegments(buf, 0, segs, { sources: [srcA, srcB] }, windows);
    assert.deepEqual(filled, [{ start: 0, end: 700 }, { start: 720, end: 1000 }]);
    assert.deepEqual(buf, reference);
    // Straight: 0-700 of source 0 (its four files at +1000, the others' places too); the rest: source 1's two
    // segments with one read and source 0's other file with its own (no windows), or one window of each source
    // (with windows, kept for the fills that may follow).
    assert.equal(srcA.reads + srcB.reads, 3);
    if (windows) {
      const again = new Uint8Array(1024).fill(0xee);
      await fillSegments(again, 0, segs, { sources: [srcA, srcB] }, windows);
      assert.deepEqual(again, reference);
      assert.equal(srcA.reads + srcB.reads, 3, 'a fill after the first copies from the windows');
      windows.release();
    }
  }
});

test('files too far apart in their source, a source too short and overlapping segments are read one by one', async () => {
  const rng = new Rng(8);
  const a = rng.bytes(8192);
  const b = rng.bytes(300);
  const srcA = new Counting(new MemorySource(a));
  const srcB = new Counting(new MemorySource(b));
  const base = 0;
  // Source 0: two segments 6000 bytes apart (more than the 512-byte piece); source 1: one segment past its end, one inside.
  const segs = [seg(0, 100, 0, 0), seg(100, 200, 1, 250), seg(200, 300, 0, 6000), seg(300, 400, 1, 0)];
  const buf = new Uint8Array(512).fill(0xee);
  const filled = await fillSegments(buf, base, segs, { sources: [srcA, srcB] });
  // The segment past source 1's end is not local; the rest is.
  assert.deepEqual(filled, [{ start: 0, end: 100 }, { start: 200, end: 400 }]);
  assert.deepEqual(buf, expected(512, base, segs.filter((s) => s.start !== 100), [a, b]));
  assert.equal(srcA.reads, 2);
  // Overlapping segments: the later one wins, as given.
  const over = [seg(0, 300, 0, 0), seg(100, 200, 0, 1000)];
  const buf2 = new Uint8Array(512).fill(0xee);
  await fillSegments(buf2, 0, over, { sources: [srcA] });
  assert.deepEqual(buf2, expected(512, 0, over, [a]));
});

test('a piece filled again through its read windows reads each source once and gets the same bytes', async () => {
  const rng = new Rng(9);
  const old = rng.bytes(8192);
  const src = new Counting(new MemorySource(old));
  const base = 4096;
  // What a failing piece is filled with, attempt after attempt: its local segments, a guess layer, both
  // (overlapping), then parts of them cut by samples; the planned run of the source is 488 bytes.
  const local = [seg(4096, 4400, 0, 1000), seg(4500, 4608, 0, 1380)];
  const guess = [{ ...seg(4400, 4500, 0, 1310), reason: 'changed-block' as const }];
  const cut = [seg(4096, 4200, 0, 1000), seg(4420, 4480, 0, 1330)];
  const windows = new ReadWindows(512, [...local, ...guess]);
  for (const segs of [local, guess, [...local, ...guess], cut, [...local, seg(4300, 4350, 0, 1204)]]) {
    const buf = new Uint8Array(512).fill(0xee);
    const direct = new Uint8Array(512).fill(0xee);
    const filled = await fillSegments(buf, base, segs, { sources: [src] }, windows);
    const plain = await fillSegments(direct, base, segs, { sources: [new MemorySource(old)] });
    assert.deepEqual(filled, plain);
    assert.deepEqual(buf, direct);
    assert.deepEqual(buf, expected(512, base, segs, [old]));
  }
  assert.equal(src.reads, 1);
  windows.release();
});

test('read windows no longer than a piece: a run longer than that is read where it is needed', async () => {
  const rng = new Rng(10);
  const old = rng.bytes(8192);
  const src = new Counting(new MemorySource(old));
  // The planned run (0 .. 6100) is longer than the 512-byte piece: each fill reads its own run, kept for the next fill.
  const segs = [seg(0, 100, 0, 0), seg(100, 200, 0, 6000)];
  const windows = new ReadWindows(512, segs);
  for (const part of [[segs[0]!], [segs[1]!], [segs[0]!], segs]) {
    const buf = new Uint8Array(512).fill(0xee);
    await fillSegments(buf, 0, part, { sources: [src] }, windows);
    assert.deepEqual(buf, expected(512, 0, part, [old]));
  }
  // Two windows kept (one per run); the last fill of both runs reads nothing more.
  assert.equal(src.reads, 2);
  windows.release();
});

test('a lone long segment is read straight into the piece on its first fill, and through a window when filled again', async () => {
  const rng = new Rng(11);
  const old = rng.bytes(1 << 20);
  const src = new Counting(new MemorySource(old));
  const lengths: number[] = [];
  const read = src.read.bind(src);
  src.read = (offset, length) => (lengths.push(length), read(offset, length));
  // A 256 KiB piece: one 200 KiB file at another offset, then after a hole a short guessed tail 20 KiB past the file's
  // end there; windows as for any guessed piece, whose planned run (the file to the tail's end, 228 KiB) fits one.
  const piece = 256 * 1024;
  const long = seg(0, 200 * 1024, 0, 300 * 1024);
  const tail = { ...seg(248 * 1024, piece, 0, 520 * 1024), reason: 'changed-block' as const };
  const windows = new ReadWindows(piece, [long, tail]);
  for (const round of [0, 1]) {
    const buf = new Uint8Array(piece).fill(0xee);
    await fillSegments(buf, 0, [long, tail], { sources: [src] }, windows);
    assert.deepEqual(buf, expected(piece, 0, [long, tail], [old]), `fill ${round}`);
  }
  // First fill: the long file straight (its own 200 KiB), the tail through a window of the planned run (228 KiB);
  // the second fill copies both from that window and reads nothing.
  assert.deepEqual(lengths, [200 * 1024, 228 * 1024]);
  windows.release();
});
