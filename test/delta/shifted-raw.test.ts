import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { locate, ShiftSearch, SHIFT_SPACING, SHIFT_STOP, type Stretch } from '../../src/delta/shifted-raw.js';

/** Deterministic bytes (SHAKE-256 of a seed). */
function bytes(seed: string, n: number): Uint8Array {
  return new Uint8Array(createHash('shake256', { outputLength: n }).update(seed).digest());
}

/** Runs the search over `neu` (the new file) against `old`, as the planner does; returns the stretches and the samples taken. */
function search(old: Uint8Array, neu: Uint8Array): { stretches: Stretch[]; samples: number; rounds: number } {
  const s = new ShiftSearch(neu.length, old);
  const feed = (spans: { start: number; end: number }[]) => {
    for (const x of spans) s.record(x.start, neu.subarray(x.start, x.end));
    return spans.length;
  };
  const first = s.first();
  let samples = feed(first);
  s.placeFirst(first);
  let rounds = 1;
  for (let next = s.next(); next.length > 0; next = s.next()) {
    samples += feed(next);
    s.placeNext();
    rounds++;
  }
  return { stretches: s.stretches(), samples, rounds };
}

/** Every byte a stretch claims is the old byte at its shift. */
function allRight(old: Uint8Array, neu: Uint8Array, stretches: readonly Stretch[]): void {
  for (const x of stretches) {
    assert.ok(x.start >= 0 && x.end <= neu.length && x.start - x.shift >= 0 && x.end - x.shift <= old.length, `stretch ${JSON.stringify(x)} inside both files`);
    assert.ok(Buffer.from(neu.subarray(x.start, x.end)).equals(Buffer.from(old.subarray(x.start - x.shift, x.end - x.shift))), `stretch ${JSON.stringify(x)} holds the old bytes`);
  }
}

const covered = (stretches: readonly Stretch[]) => stretches.reduce((n, x) => n + x.end - x.start, 0);

describe('changed raw files are guessed from the old file at shifted offsets', () => {
  test('locate: the occurrence nearest to where it is wanted', () => {
    const old = new Uint8Array(100);
    old.set([1, 2, 3], 10);
    old.set([1, 2, 3], 70);
    assert.equal(locate(new Uint8Array([1, 2, 3]), old, 20), 10);
    assert.equal(locate(new Uint8Array([1, 2, 3]), old, 60), 70);
    assert.equal(locate(new Uint8Array([9, 9]), old, 0), undefined);
    // Only within the window around where it is wanted.
    assert.equal(locate(new Uint8Array([1, 2, 3]), old, 60, 5), undefined);
    assert.equal(locate(new Uint8Array([1, 2, 3]), old, 66, 5), 70);
  });

  test('a replaced run, an inserted run and a replaced run of another length (fixtures/tools/isofix.py edit)', () => {
    const old = bytes('old', 120 * 1024);
    const [p1, p2, p3] = [15_000, 60_000, 100_000];
    const neu = Buffer.concat([old.subarray(0, p1), bytes('r1', 4096), old.subarray(p1 + 4096, p2), bytes('i2', 12_700), old.subarray(p2, p3), bytes('r3', 5000), old.subarray(p3 + 4096)]);
    const { stretches, samples } = search(old, neu);
    allRight(old, neu, stretches);
    assert.deepEqual(
      stretches.map((x) => x.shift),
      [0, 0, 12_700, 12_700 + 5000 - 4096],
    );
    // All but the new runs and at most SHIFT_STOP bytes at each of the six ends next to them.
    const fresh = 4096 + 12_700 + 5000;
    assert.ok(covered(stretches) >= neu.length - fresh - 6 * SHIFT_STOP, `covered ${covered(stretches)} of ${neu.length - fresh}`);
    assert.ok(samples <= Math.ceil(neu.length / SHIFT_SPACING) + 1 + 6 * 10, `samples ${samples}`);
  });

  test('a shrunk file (a rollback): the stretches after the cut come from further on in the old file', () => {
    const old = bytes('old2', 64 * 1024);
    const neu = Buffer.concat([old.subarray(0, 20_000), old.subarray(30_000)]);
    const { stretches } = search(old, neu);
    allRight(old, neu, stretches);
    assert.deepEqual(
      stretches.map((x) => x.shift),
      [0, -10_000],
    );
    assert.ok(covered(stretches) >= neu.length - 2 * SHIFT_STOP);
  });

  test('nothing of the old file: no stretch, and the first look (a few spread samples) already says so', () => {
    const [old, neu] = [bytes('a', 400_000), bytes('b', 500_000)];
    const { stretches } = search(old, neu);
    assert.deepEqual(stretches, []);
    const s = new ShiftSearch(neu.length, old);
    const scouts = s.scouts();
    assert.ok(scouts.length === 16 && scouts[0]!.start === 0 && scouts[15]!.end === neu.length);
    for (const x of scouts) s.record(x.start, neu.subarray(x.start, x.end));
    assert.equal(s.seen(scouts), false);
    const edited = new ShiftSearch(neu.length, neu.subarray(1000));
    for (const x of scouts) edited.record(x.start, neu.subarray(x.start, x.end));
    assert.equal(edited.seen(scouts), true);
  });

  test('an unchanged file of another length (appended bytes): one stretch, to within SHIFT_STOP of the old end', () => {
    const old = bytes('c', 30_000);
    const neu = Buffer.concat([old, bytes('tail', 7000)]);
    const { stretches } = search(old, neu);
    allRight(old, neu, stretches);
    assert.equal(stretches.length, 1);
    assert.ok(stretches[0]!.start === 0 && stretches[0]!.shift === 0 && stretches[0]!.end > 30_000 - SHIFT_STOP);
  });
});
