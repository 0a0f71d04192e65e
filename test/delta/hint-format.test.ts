import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHints, decodeRuns, encodeHints, encodeRuns, encodeSpans, decodeSpans, fitBudget, type HintSet } from '../../src/delta/hint-format.js';
import { IsosyncError } from '../../src/errors.js';
import { decodeBencode } from '../../src/torrent/bencode-decode.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';

const other = new Uint8Array(20).fill(7);

test('hint runs round-trip, including sources that move backwards', () => {
  const runs = [
    { target: 0, source: 5_000_000, length: 4096 },
    { target: 4096, source: 10, length: 100_000 },
    { target: 200_000, source: 3_000_000_000, length: 2048 },
  ];
  assert.deepEqual(decodeRuns(encodeRuns(runs), 'runs'), runs);
  const spans = [{ start: 5, end: 10 }, { start: 2 ** 40, end: 2 ** 40 + 1 }];
  assert.deepEqual(decodeSpans(encodeSpans(spans), 'zeros'), spans);
});

test('hints survive bencoding as they sit in the info dictionary', () => {
  const set: HintSet = { direction: 'to', other, runs: [{ target: 2048, source: 4096, length: 10_000 }], zeros: [{ start: 0, end: 2048 }] };
  const bytes = encodeBencode(encodeHints({ sets: [set] }) as never);
  const back = decodeHints(decodeBencode(bytes).value);
  assert.equal(back?.sets.length, 1);
  assert.equal(back?.sets[0]?.direction, 'to');
  assert.deepEqual([...back!.sets[0]!.other], [...other]);
  assert.deepEqual(back?.sets[0]?.runs, set.runs);
  assert.deepEqual(back?.sets[0]?.zeros, set.zeros);
});

test('malformed hints give an error that names the field', () => {
  const truncated = encodeRuns([{ target: 1, source: 2, length: 300 }]).subarray(0, 2);
  assert.throws(() => decodeRuns(truncated, 'info.x-isosync.hints.sets[0].runs'), (e: unknown) => e instanceof IsosyncError && /sets\[0\]\.runs ends inside a number/.test(e.message));
  assert.throws(() => decodeHints({ v: 1, sets: [{ from: new Uint8Array(19), runs: new Uint8Array() }] }), /from has length 19, expected 20/);
  assert.throws(() => decodeHints({ v: 1, sets: [{ runs: new Uint8Array() }] }), /neither "from" nor "to"/);
  assert.equal(decodeHints({ v: 99 }), undefined, 'an unknown hint version is ignored, not an error');
});

test('fitBudget drops the shortest runs first until the hints fit', () => {
  const runs = Array.from({ length: 500 }, (_, i) => ({ target: i * 10_000, source: i * 10_000 + 7, length: i % 10 === 0 ? 9000 : 600 }));
  const [fitted] = fitBudget([{ direction: "from", other, runs, zeros: [] }], 600);
  assert.ok(fitted);
  assert.ok(fitted.runs.length > 0 && fitted.runs.length < runs.length);
  assert.ok(fitted.runs.every((r) => r.length === 9000), 'only the long runs remain');
  assert.ok(encodeRuns(fitted.runs).length + 44 <= 600);
});

test('the example of docs/HINTS.md section 4 encodes to the bytes the specification gives, and back', () => {
  const runs = [{ target: 0, source: 2048, length: 4096 }, { target: 8192, source: 0, length: 100 }];
  const bytes = encodeRuns(runs);
  assert.equal(Buffer.from(bytes).toString('hex'), '00802080208020ff5f64');
  assert.deepEqual(decodeRuns(bytes, 'runs'), runs);
});
