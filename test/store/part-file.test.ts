/**
 * The .part and its journal of received blocks, on real files: blocks
 * received for pieces not verified yet are found again by the next open (a
 * killed run keeps them), a piece whose blocks all arrived verifies on open,
 * a torn or foreign journal costs nothing but its blocks, a verified piece is
 * never touched by a late block or by a journaled one, and a block is written
 * into the .part only with its verified piece (the journal holds it before).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pieceIndex } from '../../src/core/ids.js';
import { decodeJournal, encodeBlocks, encodeRecords, journalHeader, RECORD_BYTES } from '../../src/store/block-journal.js';
import { PartFile } from '../../src/store/part-file.js';
import { createTorrent } from '../../src/torrent/create.js';
import { hashPiecesV2 } from '../../src/torrent/hash-pieces.js';
import { tempDir } from '../helpers/env.js';
import { Rng } from '../helpers/random.js';

const PIECE = 64 * 1024;

function target(pieces: number) {
  const bytes = new Rng(pieces).bytes(pieces * PIECE - 1000);
  const hashes = new Uint8Array(pieces * 20);
  for (let p = 0; p < pieces; p++) hashes.set(createHash('sha1').update(bytes.subarray(p * PIECE, Math.min(bytes.length, (p + 1) * PIECE))).digest(), p * 20);
  return { bytes, t: { length: bytes.length, pieceLength: PIECE, pieces: hashes } };
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

/** Writes blocks of `bytes` at [a, b) in 16 KiB steps, then closes (as a run that stops would). */
async function receive(part: PartFile, bytes: Uint8Array, ranges: [number, number][]): Promise<void> {
  for (const [a, b] of ranges) {
    for (let at = a; at < b; at += 16384) {
      const end = Math.min(b, at + 16384);
      part.writeBlock(pieceIndex(Math.floor(at / PIECE)), at, bytes.slice(at, end));
    }
  }
  await part.close();
}

describe('the .part keeps received blocks', () => {
  it('blocks received for unverified pieces come back as received ranges on the next open; a piece received whole verifies', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(6);
      const out = join(tmp.dir, 'img.iso');
      const first = await PartFile.open(out, t);
      assert.deepEqual(first.received, []);
      // Piece 1 arrives whole; piece 3 in part (two runs of blocks).
      await receive(first, bytes, [[PIECE, 2 * PIECE], [3 * PIECE, 3 * PIECE + 20000], [3 * PIECE + 40000, 3 * PIECE + 50000]]);
      const again = await PartFile.open(out, t);
      try {
        assert.deepEqual(again.have, [false, true, false, false, false, false]);
        assert.deepEqual(again.received, [{ start: 3 * PIECE, end: 3 * PIECE + 20000 }, { start: 3 * PIECE + 40000, end: 3 * PIECE + 50000 }]);
        assert.equal(again.receivedBytes, 30000);
        assert.ok(Buffer.from(await again.read(3 * PIECE + 40000, 10000)).equals(bytes.subarray(3 * PIECE + 40000, 3 * PIECE + 50000)), 'the received bytes are on disk');
      } finally {
        await again.close();
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('a verified piece is never overwritten by a block that arrives late, and finish removes the journal', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(2);
      const out = join(tmp.dir, 'img.iso');
      const part = await PartFile.open(out, t);
      const wrong = new Uint8Array(16384).fill(0xee);
      part.writeBlock(pieceIndex(0), 0, wrong); // under way when the piece is written
      await part.writePiece(pieceIndex(0), 0, bytes.subarray(0, PIECE));
      part.writeBlock(pieceIndex(0), 16384, wrong); // late: ignored
      part.writeBlock(pieceIndex(1), PIECE, bytes.slice(PIECE, PIECE + 16384));
      assert.ok(!(await part.read(0, PIECE)).some((b, i) => b !== bytes[i]), 'piece 0 is the verified bytes');
      const into = new Uint8Array(PIECE + 8).fill(0xaa);
      await part.readInto(into, 4, 100, PIECE - 200);
      assert.deepEqual(into.subarray(4, 4 + PIECE - 200), bytes.subarray(100, PIECE - 100), 'read into a buffer the caller gives, where it says');
      assert.equal(into[3], 0xaa);
      assert.equal(into[4 + PIECE - 200], 0xaa);
      await part.writePiece(pieceIndex(1), PIECE, bytes.subarray(PIECE));
      await part.finish();
      assert.deepEqual(new Uint8Array(readFileSync(out)), bytes);
      assert.ok(!existsSync(`${out}.part.blocks`), 'no journal left beside the image');
    } finally {
      tmp.cleanup();
    }
  });

  it('blocks of a piece written verified while they wait never reach the journal; the others do', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(3);
      const out = join(tmp.dir, 'img.iso');
      const part = await PartFile.open(out, t);
      part.writeBlock(pieceIndex(0), 0, bytes.slice(0, 16384));
      part.writeBlock(pieceIndex(1), PIECE, bytes.slice(PIECE, PIECE + 16384));
      await part.writePiece(pieceIndex(0), 0, bytes.subarray(0, PIECE));
      await part.close();
      const records = decodeJournal(readFileSync(`${out}.part.blocks`), t.pieces, t.length);
      assert.deepEqual(records.map((r) => [r.start, r.end]), [[PIECE, PIECE + 16384]], 'only the block of the piece not verified');
    } finally {
      tmp.cleanup();
    }
  });

  it('a torn last record is ignored and later appends still read; a journal of another target is not read', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(4);
      const out = join(tmp.dir, 'img.iso');
      await receive(await PartFile.open(out, t), bytes, [[PIECE, PIECE + 16384]]);
      appendFileSync(`${out}.part.blocks`, Buffer.from([1, 2, 3, 4, 5])); // a kill in the middle of an append
      const second = await PartFile.open(out, t);
      assert.deepEqual(second.received, [{ start: PIECE, end: PIECE + 16384 }]);
      await receive(second, bytes, [[2 * PIECE, 2 * PIECE + 16384]]);
      const third = await PartFile.open(out, t);
      assert.deepEqual(third.received, [{ start: PIECE, end: PIECE + 16384 }, { start: 2 * PIECE, end: 2 * PIECE + 16384 }]);
      await third.close();
      // The same .part with another target's journal header: its ranges are not trusted.
      const other = target(5).t;
      writeFileSync(`${out}.part.blocks`, Buffer.concat([journalHeader(other.pieces), encodeRecords([{ start: 0, end: 100 }])]));
      const fourth = await PartFile.open(out, t);
      assert.deepEqual(fourth.received, []);
      await fourth.close();
    } finally {
      tmp.cleanup();
    }
  });

  it('decoding stops at a record whose checksum fails or that points past the end', () => {
    const { t } = target(2);
    const good = encodeRecords([{ start: 0, end: 10 }, { start: 20, end: 30 }]);
    const bad = Buffer.from(good);
    bad[16 + 3] = bad[16 + 3]! ^ 1; // second record's offset
    assert.deepEqual(decodeJournal(Buffer.concat([journalHeader(t.pieces), good]), t.pieces, t.length), [{ start: 0, end: 10 }, { start: 20, end: 30 }]);
    assert.deepEqual(decodeJournal(Buffer.concat([journalHeader(t.pieces), bad]), t.pieces, t.length), [{ start: 0, end: 10 }]);
    assert.deepEqual(decodeJournal(Buffer.concat([journalHeader(t.pieces), encodeRecords([{ start: t.length - 5, end: t.length + 5 }])]), t.pieces, t.length), []);
    // A data record's checksum covers its bytes too.
    const data = Buffer.concat(encodeBlocks([{ offset: 40, bytes: new Uint8Array([1, 2, 3]) }, { offset: 50, bytes: new Uint8Array([4, 5]) }]));
    assert.deepEqual(decodeJournal(Buffer.concat([journalHeader(t.pieces), data]), t.pieces, t.length).map((r) => [r.start, r.end, [...(r.data ?? [])]]), [[40, 43, [1, 2, 3]], [50, 52, [4, 5]]]);
    data[16 + 3 + 16 + 1] = 9; // second record's second byte
    assert.deepEqual(decodeJournal(Buffer.concat([journalHeader(t.pieces), data]), t.pieces, t.length).length, 1);
    // Small blocks are copied beside their heads, a large one stays a buffer of its own; the records read back the same.
    const large = new Rng(9).bytes(5000);
    const parts = encodeBlocks([{ offset: 40, bytes: new Uint8Array([1, 2, 3]) }, { offset: 100, bytes: large }, { offset: 6000, bytes: new Uint8Array([7]) }, { offset: 6010, bytes: new Uint8Array([8]) }]);
    assert.deepEqual(parts.map((x) => x.length), [16 + 3 + 16, 5000, 16 + 1 + 16 + 1]);
    assert.equal(parts[1], large);
    const read = decodeJournal(Buffer.concat([journalHeader(t.pieces), ...parts]), t.pieces, t.length);
    assert.deepEqual(read.map((r) => [r.start, r.end]), [[40, 43], [100, 5100], [6000, 6001], [6010, 6011]]);
    assert.deepEqual(new Uint8Array(read[1]!.data!), large);
  });

  it('a v2-only target resumes the same way: pieces verify against its piece layers, and a v1 journal of the same bytes is not its own', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(6);
      const image = join(tmp.dir, 'source.iso');
      writeFileSync(image, bytes);
      const h = await hashPiecesV2(image, PIECE);
      const v2 = createTorrent({ name: 'img.iso', length: bytes.length, pieceLength: PIECE, pieces: h.pieces, version: 'v2', v2: h }).metainfo;
      assert.equal(v2.pieces.length, 0);
      const out = join(tmp.dir, 'img.iso');
      // A run of the v1 torrent of the same bytes leaves its journal: not this target's.
      await receive(await PartFile.open(out, t), bytes, [[3 * PIECE, 3 * PIECE + 20000]]);
      const first = await PartFile.open(out, v2);
      assert.deepEqual(first.received, [], 'the v1 journal is foreign to the v2 target');
      // Piece 1 whole, the last piece whole (short: 64 KiB - 1000), piece 3 in part.
      await receive(first, bytes, [[PIECE, 2 * PIECE], [5 * PIECE, bytes.length], [3 * PIECE, 3 * PIECE + 20000]]);
      const again = await PartFile.open(out, v2);
      try {
        assert.deepEqual(again.have, [false, true, false, false, false, true]);
        assert.deepEqual(again.received, [{ start: 3 * PIECE, end: 3 * PIECE + 20000 }]);
      } finally {
        await again.close();
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('a received block is journaled with its bytes, not written into the .part, until its piece verifies; the next open puts it in place', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(3);
      const out = join(tmp.dir, 'img.iso');
      const part = await PartFile.open(out, t);
      await receive(part, bytes, [[PIECE + 1000, PIECE + 9000]]);
      assert.ok(!readFileSync(`${out}.part`).subarray(PIECE, 2 * PIECE).some((b) => b !== 0), 'nothing was written at its place');
      const records = decodeJournal(readFileSync(`${out}.part.blocks`), t.pieces, t.length);
      assert.deepEqual(records.map((r) => [r.start, r.end, r.data?.length]), [[PIECE + 1000, PIECE + 9000, 8000]]);
      assert.ok(same(records[0]!.data!, bytes.subarray(PIECE + 1000, PIECE + 9000)));
      const again = await PartFile.open(out, t);
      try {
        assert.deepEqual(again.received, [{ start: PIECE + 1000, end: PIECE + 9000 }]);
        assert.ok(same(await again.read(PIECE + 1000, 8000), bytes.subarray(PIECE + 1000, PIECE + 9000)), 'the block is in place');
        // The journal now names the bytes in place: no block bytes in it any more.
        assert.equal(statSync(`${out}.part.blocks`).size, 16 + RECORD_BYTES);
      } finally {
        await again.close();
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('a data record cut by a kill is dropped with what follows; a journaled block never lands in a verified piece', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(3);
      const out = join(tmp.dir, 'img.iso');
      const part = await PartFile.open(out, t);
      await part.writePiece(pieceIndex(0), 0, bytes.subarray(0, PIECE));
      await part.close();
      const wrong = new Uint8Array(5000).fill(0xee);
      // A journal written by hand: a wrong block of verified piece 0, a good block of piece 2, then one cut short.
      const journal = Buffer.concat([
        journalHeader(t.pieces),
        ...encodeBlocks([
          { offset: 100, bytes: wrong },
          { offset: 2 * PIECE, bytes: bytes.subarray(2 * PIECE, 2 * PIECE + 5000) },
          { offset: 2 * PIECE + 5000, bytes: bytes.subarray(2 * PIECE + 5000, 2 * PIECE + 10000) },
        ]),
      ]);
      writeFileSync(`${out}.part.blocks`, journal);
      truncateSync(`${out}.part.blocks`, journal.length - 10);
      const again = await PartFile.open(out, t);
      try {
        assert.deepEqual(again.have, [true, false, false]);
        assert.deepEqual(again.received, [{ start: 2 * PIECE, end: 2 * PIECE + 5000 }]);
        assert.ok(same(await again.read(0, PIECE), bytes.subarray(0, PIECE)), 'the verified piece is untouched');
        assert.ok(same(await again.read(2 * PIECE, 5000), bytes.subarray(2 * PIECE, 2 * PIECE + 5000)));
      } finally {
        await again.close();
      }
    } finally {
      tmp.cleanup();
    }
  });
});
