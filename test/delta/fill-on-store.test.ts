/**
 * A piece of local bytes only goes to the store to be read, checked and written off the main thread
 * (piece-fill.ts fillOnStore, PieceStore.fillAndWriteIfMatches: the verifying worker) as runs of
 * [fd, position, at, length], zeros as fd -1. A piece with a segment of a source without a descriptor
 * (ByteSource.preadFd) is filled here as before, and so is one the store did not write (a read or the
 * hash failed there): the image is the same either way.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { PieceIndex } from '../../src/core/ids.js';
import { assemble, type AssembleEvent } from '../../src/delta/assemble.js';
import { buildPlan, ZERO_SOURCE, type LocalSegment } from '../../src/delta/plan.js';
import { MemorySource, type ByteSource } from '../../src/store/byte-source.js';
import { pieceCheckOf } from '../../src/torrent/piece-check.js';
import { Rng } from '../helpers/random.js';

const PIECE = 16_384;
const FD = 42;

/** `bytes` as a local file whose descriptor is FD. */
function fileLike(bytes: Uint8Array): ByteSource {
  const m = new MemorySource(bytes);
  return { size: bytes.length, read: (o, n) => m.read(o, n), readInto: (d, at, o, n) => m.readInto(d, at, o, n), preadFd: FD };
}

describe('a piece of local bytes is read by the store itself', () => {
  it('runs of a file and zeros go to the store; other pieces, and one it did not write, are filled here', async () => {
    const rng = new Rng(3);
    const old = rng.bytes(5 * PIECE);
    // Piece 0: two runs of the old file at other offsets and zeros between them; piece 1: from a source without a
    // descriptor; piece 2: from the file, but what the store reads there is not what this thread reads (it fails there).
    const truth = new Uint8Array(3 * PIECE);
    truth.set(old.subarray(3 * PIECE, 3 * PIECE + 6000), 0);
    truth.set(old.subarray(100, 100 + PIECE - 8000), 8000);
    const other = rng.bytes(PIECE);
    truth.set(other, PIECE);
    truth.set(old.subarray(PIECE, 2 * PIECE), 2 * PIECE);
    const local: LocalSegment[] = [
      { start: 0, end: 6000, source: 0, sourceOffset: 3 * PIECE, reason: 'nested-file' },
      { start: 6000, end: 8000, source: ZERO_SOURCE, sourceOffset: 0, reason: 'zero' },
      { start: 8000, end: PIECE, source: 0, sourceOffset: 100, reason: 'nested-file' },
      { start: PIECE, end: 2 * PIECE, source: 1, sourceOffset: 0, reason: 'moved-file' },
      { start: 2 * PIECE, end: 3 * PIECE, source: 0, sourceOffset: PIECE, reason: 'nested-file' },
    ];
    const plan = buildPlan({ length: truth.length, pieceLength: PIECE }, [local]);
    const check = pieceCheckOf({ length: truth.length, pieceLength: PIECE, pieces: new Uint8Array([0, 1, 2].flatMap((p) => [...createHash('sha1').update(truth.subarray(p * PIECE, (p + 1) * PIECE)).digest()])) });
    // What the store's thread reads at FD: the old file, but changed where piece 2 comes from.
    const onDisk = old.slice();
    onDisk[PIECE + 5]! ^= 1;
    const out = new Uint8Array(truth.length);
    const have = [false, false, false];
    const storeFilled: { p: number; reads: number[] }[] = [];
    const checkedHere: number[] = [];
    const events: AssembleEvent[] = [];
    const write = (p: PieceIndex, offset: number, bytes: Uint8Array) => {
      if (!check.matches(p, bytes)) return false;
      out.set(bytes, offset);
      have[p] = true;
      return true;
    };
    await assemble({
      plan,
      check,
      sources: [fileLike(old), new MemorySource(other)],
      store: {
        have,
        releasesBytes: true,
        writePiece: async (p, offset, bytes) => void write(p, offset, bytes),
        writeIfMatches: async (p, offset, bytes) => (checkedHere.push(p), write(p, offset, bytes)),
        fillAndWriteIfMatches: async (p, offset, bytes, reads) => {
          storeFilled.push({ p, reads: [...reads] });
          for (let k = 0; k < reads.length; k += 4) {
            const [fd, position, at, length] = reads.slice(k, k + 4) as [number, number, number, number];
            if (fd === FD) bytes.set(onDisk.subarray(position, position + length), at);
            else bytes.fill(0, at, at + length);
          }
          return write(p, offset, bytes);
        },
      },
      onEvent: (e) => events.push(e),
    });
    assert.deepEqual(out, truth);
    assert.deepEqual(storeFilled, [
      { p: 0, reads: [FD, 3 * PIECE, 0, 6000, -1, 0, 6000, 2000, FD, 100, 8000, PIECE - 8000] },
      { p: 2, reads: [FD, PIECE, 0, PIECE] },
    ]);
    assert.deepEqual(checkedHere.sort(), [1, 2], 'piece 1 (no descriptor) and piece 2 (the store failed it) filled and checked here');
    assert.deepEqual(events.filter((e) => e.type === 'hash-failed'), [], 'local bytes that verify here: no failed attempt');
    assert.deepEqual(have, [true, true, true]);
  });
});
