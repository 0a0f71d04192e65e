/** stillNeeded (sync-peers.ts): whether a finished sync keeps serving its peers. Table test, pure. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pieceIndex, type PieceIndex } from '../../src/core/ids.js';
import { stillNeeded } from '../../src/swarm/sync-peers.js';

const P = (...xs: number[]): PieceIndex[] => xs.map(pieceIndex);

test('a finished sync serves on while a connected, interested peer lacks a piece it fetched', () => {
  // holders: how many of the connected peers have each piece.
  const rows: { why: string; interested: boolean; connected: number; fetched: PieceIndex[] | undefined; holders: Record<number, number>; want: boolean }[] = [
    { why: 'nobody interested', interested: false, connected: 3, fetched: P(1, 2), holders: {}, want: false },
    { why: 'fetched pieces unknown: interest decides', interested: true, connected: 3, fetched: undefined, holders: {}, want: true },
    { why: 'every peer has every fetched piece (the rest they fill locally)', interested: true, connected: 3, fetched: P(1, 2), holders: { 1: 3, 2: 3 }, want: false },
    { why: 'one peer lacks a fetched piece', interested: true, connected: 3, fetched: P(1, 2), holders: { 1: 3, 2: 2 }, want: true },
    { why: 'nothing fetched: nothing anyone needs from us', interested: true, connected: 2, fetched: [], holders: {}, want: false },
    { why: 'a peer that announced nothing yet lacks them all', interested: true, connected: 1, fetched: P(7), holders: {}, want: true },
  ];
  for (const r of rows) assert.equal(stillNeeded({ interested: r.interested, connected: r.connected, fetched: r.fetched, holders: (p) => r.holders[p] ?? 0 }), r.want, r.why);
});
