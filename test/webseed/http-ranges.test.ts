/**
 * HTTP ranges and multipart replies read as they arrive, and blocks filled
 * from them: tables, with every reply also fed one byte at a time and in
 * random splits (a reply may arrive cut anywhere). No sockets.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pieceIndex } from '../../src/core/ids.js';
import { SLAB_BYTES } from '../../src/core/block-slabs.js';
import { BlockFiller } from '../../src/webseed/block-filler.js';
import { holdBlock, releaseBlock } from '../../src/core/block-slabs.js';
import { multipartBoundary, MultipartReader, parseContentRange, rangeHeader } from '../../src/webseed/http-ranges.js';
import { isError } from '../helpers/errors.js';
import { Rng } from '../helpers/random.js';

const FILE = Buffer.from(Array.from({ length: 200 }, (_, i) => i));

/** A multipart/byteranges body with one part per [a, b) range (inclusive header ends), as a server writes it. */
function body(ranges: [number, number][], boundary = 'B0UND', total = FILE.length): Buffer {
  const parts: Buffer[] = [Buffer.from('preamble ignored\r\n')];
  for (const [a, b] of ranges) parts.push(Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${a}-${b - 1}/${total}\r\n\r\n`), FILE.subarray(a, b));
  parts.push(Buffer.from(`\r\n--${boundary}--\r\nepilogue`));
  return Buffer.concat(parts);
}

/** Feeds `b` in pieces cut at `cuts`; returns every (offset, byte) seen. */
function read(b: Buffer, cuts: number[], maxParts = 10): Map<number, number> {
  const seen = new Map<number, number>();
  const r = new MultipartReader('B0UND', FILE.length, maxParts, (o, bytes) => bytes.forEach((x, i) => seen.set(o + i, x)));
  let at = 0;
  for (const c of [...cuts, b.length]) {
    r.push(b.subarray(at, c));
    at = c;
  }
  r.end();
  return seen;
}

describe('Content-Range and Range', () => {
  const rows: [string, ReturnType<typeof parseContentRange>][] = [
    ['bytes 0-99/200', { start: 0, end: 100, total: 200 }],
    ['bytes 5-5/*', { start: 5, end: 6 }],
    ['bytes 9-3/200', undefined],
    ['bytes=0-99', undefined],
    ['bytes 0-99999999999999999/2', undefined],
  ];
  for (const [v, want] of rows) it(`reads ${JSON.stringify(v)}`, () => assert.deepEqual(parseContentRange(v), want));
  it('writes sorted spans as one Range header with inclusive ends', () => assert.equal(rangeHeader([{ start: 0, end: 10 }, { start: 20, end: 21 }]), 'bytes=0-9,20-20'));
  it('finds the boundary of a multipart type, quoted or not', () => {
    assert.equal(multipartBoundary('multipart/byteranges; boundary=abc'), 'abc');
    assert.equal(multipartBoundary('multipart/byteranges; boundary="a b"'), 'a b');
    assert.equal(multipartBoundary('application/octet-stream'), undefined);
  });
});

describe('multipart reader', () => {
  it('gives every byte of every part at its file offset, however the body is cut', () => {
    const b = body([[0, 10], [50, 90], [199, 200]]);
    const want = new Map<number, number>();
    for (const [a, e] of [[0, 10], [50, 90], [199, 200]] as const) for (let i = a; i < e; i++) want.set(i, FILE[i]!);
    assert.deepEqual(read(b, []), want);
    assert.deepEqual(read(b, Array.from({ length: b.length - 1 }, (_, i) => i + 1)), want, 'one byte at a time');
    const rng = new Rng(7);
    for (let t = 0; t < 50; t++) {
      const cuts = [...new Set(Array.from({ length: 1 + rng.int(8) }, () => rng.int(b.length)))].sort((x, y) => x - y);
      assert.deepEqual(read(b, cuts), want, `cuts ${cuts}`);
    }
  });
  it('finds a delimiter that does not follow its part at once (bytes between parts are skipped), however the body is cut', () => {
    const b = Buffer.from(body([[0, 10], [50, 60]]).toString('latin1').replace('\r\n--B0UND\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 50', 'junk\r\n--B0UND\r\nContent-Range: bytes 50'), 'latin1');
    const want = new Map<number, number>();
    for (const [a, e] of [[0, 10], [50, 60]] as const) for (let i = a; i < e; i++) want.set(i, FILE[i]!);
    assert.deepEqual(read(b, []), want);
    assert.deepEqual(read(b, Array.from({ length: b.length - 1 }, (_, i) => i + 1)), want, 'one byte at a time');
  });
  const bad: [string, Buffer, number?][] = [
    ['a part without a Content-Range', Buffer.from('\r\n--B0UND\r\nContent-Type: x\r\n\r\nabc\r\n--B0UND--')],
    ['a part of another file size', body([[0, 10]], 'B0UND', 999)],
    ['a body that ends inside a part', body([[0, 100]]).subarray(0, 90)],
    ['more parts than asked', body([[0, 1], [2, 3], [4, 5]]), 2],
    ['no part at all', Buffer.from('\r\n--B0UND--\r\n')],
    ['garbage with no boundary', Buffer.alloc(5000, 0x41)],
    ['a part header that does not end', Buffer.concat([Buffer.from('\r\n--B0UND\r\nContent-Range: bytes 0-1/200\r\n'), Buffer.alloc(5000, 0x41)])],
  ];
  for (const [name, b, maxParts] of bad) {
    it(`refuses ${name} (BAD_REPLY)`, () => assert.throws(() => read(b, [], maxParts), isError('BAD_REPLY')));
  }
});

describe('block filler', () => {
  const blk = (offset: number, length: number) => ({ block: { piece: pieceIndex(0), offset, length }, span: { start: offset, end: offset + length } });
  it('hands each block over the moment its last byte is in, and names the blocks a cut reply left out', () => {
    const done: number[] = [];
    const f = new BlockFiller([blk(0, 10), blk(10, 10), blk(40, 5)], (b, bytes) => {
      assert.deepEqual(Buffer.from(bytes), FILE.subarray(b.offset, b.offset + b.length));
      done.push(b.offset);
    });
    f.put(0, FILE.subarray(0, 7));
    assert.deepEqual(done, []);
    f.put(7, FILE.subarray(7, 15));
    assert.deepEqual(done, [0]);
    f.put(30, FILE.subarray(30, 50)); // a coalesced part: bytes between asked ranges too
    assert.deepEqual(done, [0, 40]);
    assert.equal(f.complete, false);
    assert.deepEqual(f.missing().map((b) => b.offset), [10]);
    f.put(15, FILE.subarray(15, 20));
    assert.equal(f.complete, true);
  });

  it('hands a block that lies whole in one chunk on as a view of it, and copies only a block a chunk boundary cuts', () => {
    const got = new Map<number, Uint8Array>();
    const f = new BlockFiller([blk(0, 10), blk(10, 10), blk(20, 10)], (b, bytes) => got.set(b.offset, bytes));
    const first = Buffer.from(FILE.subarray(0, 25));
    const second = Buffer.from(FILE.subarray(25, 30));
    f.put(0, first);
    f.put(25, second);
    assert.deepEqual([...got.keys()], [0, 10, 20]);
    for (const [at, bytes] of got) assert.deepEqual(Buffer.from(bytes), FILE.subarray(at, at + 10));
    assert.equal(got.get(0)!.buffer, first.buffer, 'block 0 is a view of the first chunk');
    assert.equal(got.get(10)!.buffer, first.buffer, 'block 10 too');
    assert.notEqual(got.get(20)!.buffer, first.buffer, 'block 20, cut by the boundary, has a buffer of its own');
    assert.notEqual(got.get(20)!.buffer, second.buffer);
  });

  it('copies blocks of transient bytes out (whole or cut by a read), several slabs of them, each kept (held) keeping its bytes when the read buffer is reused', () => {
    const BLOCK = 16 * 1024;
    const n = (3 * SLAB_BYTES) / BLOCK + 1; // past three slabs
    const file = Buffer.alloc(n * BLOCK);
    for (let i = 0; i < file.length; i++) file[i] = (i * 7 + (i >>> 14)) & 0xff;
    const got = new Map<number, Uint8Array>();
    const f = new BlockFiller(
      Array.from({ length: n }, (_, k) => blk(k * BLOCK, BLOCK)),
      (b, bytes) => {
        holdBlock(bytes); // kept past the call
        got.set(b.offset, bytes);
      },
    );
    f.transient = true;
    const read = Buffer.alloc(40 * 1024); // one reused read buffer, as the lean client's; reads cut blocks
    for (let at = 0; at < file.length; at += read.length) {
      const len = Math.min(read.length, file.length - at);
      file.copy(read, 0, at, at + len);
      f.put(at, read.subarray(0, len));
      read.fill(0xee);
    }
    assert.equal(f.complete, true);
    assert.equal(got.size, n);
    for (const [at, bytes] of got) {
      assert.notEqual(bytes.buffer, read.buffer);
      assert.ok(Buffer.from(bytes).equals(file.subarray(at, at + BLOCK)), `block at ${at}`);
    }
    assert.ok(new Set([...got.values()].map((b) => b.buffer)).size >= 3, 'cut from several slabs');
  });

  it('gives a slab back once every block cut from it was let go, and not while one is held', () => {
    const BLOCK = 16 * 1024;
    const perSlab = SLAB_BYTES / BLOCK;
    const seen: Uint8Array[] = [];
    const f = new BlockFiller(
      Array.from({ length: 3 * perSlab }, (_, k) => blk(k * BLOCK, BLOCK)),
      (b, bytes) => {
        seen.push(bytes);
        if (b.offset === 0) holdBlock(bytes); // the first slab's first block is kept
      },
    );
    f.transient = true;
    const chunk = Buffer.alloc(BLOCK, 1);
    for (let k = 0; k < 3 * perSlab; k++) f.put(k * BLOCK, chunk);
    // The shared pool may have been cut from before: slabs are told apart by buffer, not by position.
    const held = seen[0]!.buffer;
    const cutting = seen[seen.length - 1]!.buffer;
    const others = new Set(seen.map((b) => b.buffer).filter((b) => b !== held && b !== cutting));
    assert.ok(others.size >= 1, 'a slab between the held one and the one being cut');
    assert.equal(seen[0]!.length, BLOCK, 'the held block keeps its bytes');
    assert.ok(seen[0]!.every((x) => x === 1));
    for (const b of others) assert.equal(b.byteLength, 0, 'a slab let go whole is given back (detached)');
    assert.equal(cutting.byteLength, SLAB_BYTES, 'the slab being cut is kept');
    releaseBlock(seen[0]!);
  });
});
