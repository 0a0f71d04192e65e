/**
 * The verifying thread's waiting pieces, handed out as runs of adjacent ones
 * (one pwritev each). Pieces in a compact shorthand: "3a" is piece 3 (of
 * 4 units, written at 4 x 3), aligned; "3u" unaligned; a run is written
 * "2a3a4a".
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WriteBatches, type WaitingPiece } from '../../src/store/write-batches.js';

const UNIT = 4;
type P = WaitingPiece & { readonly name: string };
const piece = (s: string): P => ({ name: s, position: Number(s.slice(0, -1)) * UNIT, length: UNIT, aligned: s.endsWith('a') });

/** Adds the pieces in order, then takes runs until none is left. */
function runs(pieces: string[], maxPieces: number): string[] {
  const w = new WriteBatches<P>();
  for (const p of pieces) w.add(piece(p));
  const out: string[] = [];
  for (let r = w.next(maxPieces * UNIT); r.length > 0; r = w.next(maxPieces * UNIT)) out.push(r.map((p) => p.name).join(''));
  assert.equal(w.size, 0);
  return out;
}

describe('WriteBatches: the oldest waiting piece with its waiting neighbours', () => {
  // [name, pieces in arrival order, most pieces per run, runs]
  const table: [string, string[], number, string[]][] = [
    ['one piece alone', ['5a'], 8, ['5a']],
    ['adjacent pieces in order: one run', ['0a', '1a', '2a', '3a'], 8, ['0a1a2a3a']],
    ['adjacent pieces out of order: one run in file order', ['2a', '0a', '3a', '1a'], 8, ['0a1a2a3a']],
    ['a gap splits the runs, the oldest first', ['4a', '0a', '1a', '5a'], 8, ['4a5a', '0a1a']],
    ['the byte budget caps a run', ['0a', '1a', '2a', '3a', '4a'], 2, ['0a1a', '2a3a', '4a']],
    ['aligned and unaligned pieces never share a run', ['0a', '1u', '2a'], 8, ['0a', '1u', '2a']],
    ['the unaligned last piece after aligned ones', ['6a', '7a', '8u'], 8, ['6a7a', '8u']],
  ];
  for (const [name, pieces, most, want] of table) it(name, () => assert.deepEqual(runs(pieces, most), want));

  it('a piece larger than the budget still goes out, alone', () => {
    const w = new WriteBatches<P>();
    w.add(piece('0a'));
    w.add(piece('1a'));
    assert.deepEqual(w.next(1).map((p) => p.name), ['0a']);
    assert.deepEqual(w.next(1).map((p) => p.name), ['1a']);
    assert.deepEqual(w.next(1), []);
  });
});
