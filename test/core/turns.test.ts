/**
 * core/turns.ts: when a slice of work is used up, and that a turn lets the
 * event loop run what waited (a clock moved by hand).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TurnSlices } from '../../src/core/turns.js';

/** A clock the test moves by hand. */
function clock(start = 1000): { now: () => number; at: (t: number) => void } {
  let t = start;
  return { now: () => t, at: (v) => void (t = v) };
}

test('a slice is due once sliceMs went by since it began, not before', () => {
  const c = clock(1000);
  const turns = new TurnSlices(20, c.now);
  assert.equal(turns.due(), false);
  c.at(1019.9);
  assert.equal(turns.due(), false);
  c.at(1020);
  assert.equal(turns.due(), true);
});

test('a turn lets a macrotask queued before it run, and starts a new slice', async () => {
  const c = clock(0);
  const turns = new TurnSlices(5, c.now);
  c.at(7);
  assert.equal(turns.due(), true);
  let ran = false;
  setImmediate(() => (ran = true));
  await turns.turn();
  assert.equal(ran, true);
  assert.equal(turns.due(), false);
  c.at(11.9);
  assert.equal(turns.due(), false);
  c.at(12);
  assert.equal(turns.due(), true);
});
