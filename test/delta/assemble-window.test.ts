import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assembleWindow, MAX_ASSEMBLE_PIECES, MAX_BATCHED_PIECES, MIN_ASSEMBLE_PIECES, nextPieceFrom } from '../../src/delta/assemble-window.js';

describe('assembleWindow: pieces assembled at once, from the piece length (buffers bounded in bytes)', () => {
  const KiB = 1024;
  const MiB = 1024 * KiB;
  const rows: [string, number, number][] = [
    ['256 KiB pieces: eight (2 MiB)', 256 * KiB, 8],
    ['16 KiB pieces: at most the maximum', 16 * KiB, MAX_ASSEMBLE_PIECES],
    ['512 KiB pieces: four', 512 * KiB, 4],
    ['768 KiB pieces: rounded up', 768 * KiB, 3],
    ['1 MiB pieces: two', 1 * MiB, 2],
    ['4 MiB pieces: at least the minimum', 4 * MiB, MIN_ASSEMBLE_PIECES],
    ['16 MiB pieces: at least the minimum', 16 * MiB, MIN_ASSEMBLE_PIECES],
  ];
  for (const [name, pieceLength, want] of rows) {
    it(name, () => assert.equal(assembleWindow(pieceLength), want));
  }
  it('never holds more than the window, or two pieces, of piece bytes', () => {
    for (let pl = 16 * KiB; pl <= 64 * MiB; pl *= 2) assert.ok(assembleWindow(pl) * pl <= Math.max(2 * MiB, MIN_ASSEMBLE_PIECES * pl), `piece length ${pl}`);
  });
});

describe('assembleWindow with a store that batches its writes: two batches of pieces in flight', () => {
  const KiB = 1024;
  const MiB = 1024 * KiB;
  const rows: [string, number, number][] = [
    ['256 KiB pieces, 2 MiB writes: sixteen', 256 * KiB, 16],
    ['64 KiB pieces: at most the batched maximum', 64 * KiB, MAX_BATCHED_PIECES],
    ['1 MiB pieces: four', 1 * MiB, 4],
    ['4 MiB pieces: at least the minimum', 4 * MiB, MIN_ASSEMBLE_PIECES],
  ];
  for (const [name, pieceLength, want] of rows) {
    it(name, () => assert.equal(assembleWindow(pieceLength, 2 * MiB), want));
  }
});

describe('nextPieceFrom: local pieces first, or beside trading peers interleaved with network pieces', () => {
  // [name, local pieces left, network pieces left, network pieces in the window, window, interleave, want]
  const rows: [string, number, boolean, number, number, boolean, 'local' | 'remote'][] = [
    ['alone: local pieces first', 5, true, 0, 16, false, 'local'],
    ['alone, no local piece left: the network', 0, true, 3, 16, false, 'remote'],
    ['peers: an empty window starts a network piece', 5, true, 0, 16, true, 'remote'],
    ['peers: up to half the window waits on the network', 5, true, 7, 16, true, 'remote'],
    ['peers: the other half assembles local pieces', 5, true, 8, 16, true, 'local'],
    ['peers, odd window: half rounded up', 5, true, 1, 3, true, 'remote'],
    ['peers, every network piece handed out: local', 5, false, 0, 16, true, 'local'],
    ['peers, no local piece left: the network fills the window', 0, true, 15, 16, true, 'remote'],
  ];
  for (const [name, localLeft, remoteLeft, remoteInFlight, window, interleave, want] of rows) {
    it(name, () => assert.equal(nextPieceFrom({ localLeft, remoteLeft, remoteInFlight, window, interleave }), want));
  }
});
