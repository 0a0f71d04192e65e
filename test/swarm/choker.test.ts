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
  it('never unchokes an uninterested peer', () => {
    const d = decideUnchoke([peer('a', 100, false), peer('b', 1)], 4, undefined, true, () => 0);
    assert.deepEqual([...d.unchoke], ['b']);
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
