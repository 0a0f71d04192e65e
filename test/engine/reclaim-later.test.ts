/**
 * A piece a leecher announced while it choked us stays asked of the seed
 * (scheduler.ts reclaim), and is reclaimed again once a leecher is ready
 * (engine/reclaim-later.ts), not only on the announcement's turn. Pure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pieceIndex } from '../../src/core/ids.js';
import { LaterReclaims } from '../../src/engine/reclaim-later.js';
import { scheduleTurn } from '../../src/engine/scheduler.js';
import { book, PIECE, render, sources } from './shorthand.js';

const turn = (src: string, reclaim: number[]) =>
  scheduleTurn({ book: book('2', { S: ['0.0', '0.1'] }), sources: sources(src), now: 0, endgame: false, rules: new Map(), reclaim: reclaim.map(pieceIndex), pieceLength: PIECE });

describe('reclaiming a piece held at a seed once its holder can be asked', () => {
  it('the scheduler hands back a piece it could not reclaim: the leecher that has it chokes us', () => {
    const d = turn('S=####/0 L=#.../c', [0]);
    assert.equal(render(d.cancels), '');
    assert.deepEqual(d.reclaimLater, [pieceIndex(0)]);
  });
  it('and reclaims it on a later turn, the leecher ready', () => {
    const d = turn('S=####/0 L=#...', [0]);
    assert.equal(render(d.cancels), 'S:0.0,0.1');
    assert.equal(d.reclaimLater, undefined);
  });
  it('a piece with nothing asked of a seed only is not handed back', () => {
    const d = scheduleTurn({ book: book('2'), sources: sources('S=####/0 L=#.../c'), now: 0, endgame: false, rules: new Map(), reclaim: [pieceIndex(0)], pieceLength: PIECE });
    assert.equal(d.reclaimLater, undefined);
  });
  it('LaterReclaims: due once one more leecher is ready than at the last turn, and only then', () => {
    const later = new LaterReclaims();
    const src = (readyLeechers: number, chokingLeechers = 0) => [
      { kind: 'web' as const, complete: true, ready: true },
      { kind: 'peer' as const, complete: true, ready: true },
      ...Array.from({ length: readyLeechers }, () => ({ kind: 'peer' as const, complete: false, ready: true })),
      ...Array.from({ length: chokingLeechers }, () => ({ kind: 'peer' as const, complete: false, ready: false })),
    ];
    assert.deepEqual(later.due(src(1, 1)), []);
    later.keep([pieceIndex(3), pieceIndex(5)]);
    assert.deepEqual(later.due(src(1, 1)), [], 'no leecher became ready');
    later.drop(pieceIndex(5));
    assert.deepEqual(later.due(src(2)), [pieceIndex(3)], 'one unchoked us');
    assert.equal(later.size, 0);
    later.keep([pieceIndex(4)]);
    assert.deepEqual(later.due(src(1)), [], 'fewer ready');
    assert.deepEqual(later.due(src(2)), [pieceIndex(4)]);
  });
});
