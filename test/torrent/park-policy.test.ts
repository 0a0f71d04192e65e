/**
 * Whether bin/isosync parks a hashing worker for publish (src/torrent/park-policy.ts): cores, image size, the run
 * queue of /proc/loadavg read a few times, and the load-average rule where there is no such reading.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { publishParks } from '../../src/cli/publish-park.js';
import { PARK_MIN_BYTES, parkedWorkers, runnableOf } from '../../src/torrent/park-policy.js';
import { tempDir } from '../helpers/env.js';

const MiB = 1024 * 1024;
const BIG = 348 * MiB;

describe('parkedWorkers', () => {
  // [what, cores, image bytes, R readings (the caller counts itself), 1-minute load, workers]
  const table: Array<[string, number, number | undefined, number[], number, number]> = [
    ['idle 2 cores, large image', 2, BIG, [1, 1, 1], 0.1, 1],
    ['a bench left the load average high, the run queue is empty now', 2, BIG, [1, 1, 1], 1.6, 1],
    ['one blip in three readings', 2, BIG, [2, 1, 1], 1.6, 1],
    ['another thread runnable in two readings of three', 2, BIG, [2, 2, 1], 0.2, 0],
    ['another thread runnable throughout', 2, BIG, [2, 2, 2], 0.2, 0],
    ['a loaded machine', 2, BIG, [18, 23, 30], 12, 0],
    ['4 cores, two others busy', 4, BIG, [3, 3, 3], 2, 1],
    ['4 cores, three others busy', 4, BIG, [4, 4, 4], 2, 0],
    ['one core', 1, BIG, [1, 1, 1], 0, 0],
    ['a small image', 2, PARK_MIN_BYTES - 1, [1, 1, 1], 0, 0],
    ['the smallest image that pays', 2, PARK_MIN_BYTES, [1, 1, 1], 0, 1],
    ['no image size (missing file)', 2, undefined, [1, 1, 1], 0, 0],
    ['no run queue reading, low load', 2, BIG, [], 0.5, 1],
    ['no run queue reading, high load', 2, BIG, [], 1.6, 0],
    ['a reading of 0 (a kernel that does not count the reader)', 2, BIG, [0, 0, 0], 3, 1],
  ];
  for (const [what, cores, imageBytes, runnable, load1, want] of table) {
    it(what, () => assert.equal(parkedWorkers({ cores, imageBytes, runnable, load1 }), want));
  }
});

describe('runnableOf', () => {
  it('reads R of R/T, or nothing', () => {
    assert.equal(runnableOf('0.52 0.58 0.59 3/467 12345\n'), 3);
    assert.equal(runnableOf('15.55 11.17 5.66 14/244 12159\n'), 14);
    assert.equal(runnableOf('0.52 0.58 0.59\n'), undefined);
    assert.equal(runnableOf(''), undefined);
    assert.equal(runnableOf('a b c x/y z'), undefined);
  });
});

describe('publishParks', () => {
  it('parks nothing for a small image, a missing one, or words bin/isosync does not take on the short path', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const small = join(tmp.dir, 'small.iso');
    writeFileSync(small, Buffer.alloc(4096));
    const idle = '0.00 0.00 0.00 1/100 1\n';
    assert.equal(publishParks([small, '--product', 'p', '--release', '1'], idle), false);
    assert.equal(publishParks([join(tmp.dir, 'none.iso'), '--product', 'p', '--release', '1'], idle), false);
    assert.equal(publishParks([small, '--product', 'p'], idle), false);
  });
});
