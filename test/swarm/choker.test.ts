import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideUnchoke } from '../../src/swarm/choker.js';

const peer = (id: string, rate: number, interested = true, snubbed = false) => ({ peer: id, rate, interested, snubbed });

describe('choker', () => {
  it('unchokes the fastest interested peers in the regular slots, plus one optimistic peer', () => {
    const d = decideUnchoke([peer('a', 10), peer('b', 50), peer('c', 30), peer('d', 5), peer('e', 1)], 3, undefined, true, () => 0);
    assert.ok(d.unchoke.has('b') && d.unchoke.has('c'), 'top two by rate');
    assert.equal(d.unchoke.size, 3);
    assert.ok(d.optimistic !== undefined && !['b', 'c'].includes(d.optimistic));
  });
  describe('slots nobody interested takes go to peers not interested yet, in order', () => {
    const cases: { name: string; peers: ReturnType<typeof peer>[]; slots: number; want: string[] }[] = [
      { name: 'a free slot unchokes a peer that has not said interested', peers: [peer('a', 100, false), peer('b', 1)], slots: 4, want: ['a', 'b'] },
      { name: 'no interested peer at all: the first ones, up to the slots', peers: [peer('a', 0, false), peer('b', 0, false), peer('c', 0, false)], slots: 2, want: ['a', 'b'] },
      { name: 'interested peers come first: an uninterested one gets what is left', peers: [peer('u', 0, false), peer('a', 5), peer('b', 9)], slots: 3, want: ['a', 'b', 'u'] },
      { name: 'interested peers fill every slot: the uninterested one stays choked', peers: [peer('u', 0, false), peer('a', 5), peer('b', 9)], slots: 2, want: ['a', 'b'] },
      { name: 'a snubbed uninterested peer gets no free slot', peers: [peer('s', 0, false, true), peer('a', 5)], slots: 4, want: ['a'] },
      { name: 'zero slots: nobody', peers: [peer('a', 0, false)], slots: 0, want: [] },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const d = decideUnchoke(c.peers, c.slots, undefined, true, () => 0);
        assert.deepEqual([...d.unchoke].sort(), c.want);
        assert.ok(d.optimistic === undefined || c.peers.some((p) => p.peer === d.optimistic && p.interested), 'the optimistic slot is for an interested peer');
      });
    }
  });
  it('keeps the optimistic peer until rotation', () => {
    const cands = [peer('a', 100), peer('b', 0), peer('c', 0)];
    const d = decideUnchoke(cands, 2, 'c', false, () => 0);
    assert.equal(d.optimistic, 'c');
    const r = decideUnchoke(cands, 2, 'c', true, () => 0);
    assert.equal(r.optimistic, 'b');
  });
  it('gives a snubbed peer no regular slot', () => {
    const d = decideUnchoke([peer('s', 1000, true, true), peer('a', 1), peer('b', 2)], 3, undefined, true, () => 0.99);
    assert.ok(d.unchoke.has('a') && d.unchoke.has('b'));
    assert.equal(d.optimistic, 's', 'only the optimistic slot is left for it');
  });
  it('with zero slots unchokes nobody', () => {
    assert.equal(decideUnchoke([peer('a', 1)], 0, undefined, true, () => 0).unchoke.size, 0);
  });
});
