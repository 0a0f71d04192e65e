import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Span } from '../../src/core/span.js';
import { fetchAll } from '../../src/sync/evidence-fetch.js';
import { noise } from './evidence-helpers.js';

test('the plan fetches its samples in requests of up to 48 ranges, all of them at once, and gives their bytes in order', async () => {
  const truth = noise('img', 64 * 1024);
  const spans: Span[] = Array.from({ length: 100 }, (_, i) => ({ start: i * 600, end: i * 600 + 1 + (i % 7) }));
  let inFlight = 0;
  let most = 0;
  const sizes: number[] = [];
  const fetcher = {
    fetchRange: () => Promise.reject(new Error('not used')),
    fetchRanges: async (ranges: readonly Span[]) => {
      sizes.push(ranges.length);
      most = Math.max(most, ++inFlight);
      // Replies come back in the reverse order of the requests.
      await new Promise((r) => setTimeout(r, 10 * (3 - sizes.length)));
      inFlight--;
      return ranges.map((r) => truth.slice(r.start, r.end));
    },
  };
  const got = await fetchAll(fetcher, spans);
  assert.deepEqual(sizes, [48, 48, 4]);
  assert.equal(most, 3, 'the requests of one round are on the wire together');
  assert.deepEqual(got, spans.map((s) => truth.slice(s.start, s.end)));
});

test('the plan keeps at most 4 requests on the wire, and stops asking after one fails', async () => {
  const spans: Span[] = Array.from({ length: 48 * 10 }, (_, i) => ({ start: i * 10, end: i * 10 + 1 }));
  let inFlight = 0;
  let most = 0;
  let asked = 0;
  const fetcher = {
    fetchRange: () => Promise.reject(new Error('not used')),
    fetchRanges: async (ranges: readonly Span[]) => {
      const mine = ++asked;
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      if (mine === 2) throw new Error('mirror went away');
      return ranges.map((r) => new Uint8Array(r.end - r.start));
    },
  };
  await assert.rejects(fetchAll(fetcher, spans), /mirror went away/);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(most, 4);
  assert.ok(asked < 10, `asked ${asked} of 10 requests after one failed`);
});
