/** What the tests of the plan's evidence (changed blocks, in-place changes, local piece checks) share. */
import { createHash } from 'node:crypto';
import type { RangeFetcher } from '../../src/core/ports.js';
import type { Span } from '../../src/core/span.js';

/** `n` deterministic pseudo-random bytes named by `seed`. */
export function noise(seed: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, k = 0; i < n; i += 32, k++) out.set(createHash('sha256').update(`${seed}:${k}`).digest().subarray(0, Math.min(32, n - i)), i);
  return out;
}

/** The target's bytes over the range port, counting the requests and the bytes asked. */
export function rangeServer(truth: Uint8Array): RangeFetcher & { requests: number; asked: number } {
  const s = {
    requests: 0,
    asked: 0,
    fetchRange: async (start: number, end: number) => (await s.fetchRanges([{ start, end }]))[0]!,
    fetchRanges: async (ranges: readonly Span[]) => {
      s.requests++;
      for (const r of ranges) s.asked += r.end - r.start;
      return ranges.map((r) => truth.slice(r.start, r.end));
    },
  };
  return s;
}
