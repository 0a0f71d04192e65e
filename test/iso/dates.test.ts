/**
 * The reader's dates (fields.ts utcMs, shortDate) agree with Date.UTC, which
 * they replace on the hot path: every month, day, hour, minute and second a
 * directory record can hold (each byte 0-255, out-of-range values carrying
 * as Date.UTC carries them), over the 256 years a record can name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shortDate, utcMs } from '../../src/iso/fields.js';

test('utcMs equals Date.UTC over the range of a directory record', () => {
  for (let y = 1900; y < 2156; y += 1) {
    for (const mo of [1, 2, 3, 12, 13, 14, 25, 255]) {
      for (const d of [1, 28, 29, 31, 32, 255]) {
        for (const [h, mi, s] of [[0, 0, 0], [23, 59, 59], [255, 255, 255]] as const) {
          assert.equal(utcMs(y, mo, d, h, mi, s), Date.UTC(y, mo - 1, d, h, mi, s), `${y}-${mo}-${d} ${h}:${mi}:${s}`);
        }
      }
    }
  }
});

test('shortDate: unset month or day, and the GMT offset in 15-minute units', () => {
  assert.equal(shortDate(Uint8Array.of(126, 0, 5, 1, 2, 3, 0), 0), undefined);
  assert.equal(shortDate(Uint8Array.of(126, 5, 0, 1, 2, 3, 0), 0), undefined);
  assert.equal(shortDate(Uint8Array.of(126, 2, 29, 23, 59, 58, 8), 0), Date.UTC(2026, 1, 29, 23, 59, 58) - 8 * 15 * 60_000);
  assert.equal(shortDate(Uint8Array.of(0, 1, 1, 0, 0, 0, 0xfc), 0), Date.UTC(1900, 0, 1) + 4 * 15 * 60_000);
});
