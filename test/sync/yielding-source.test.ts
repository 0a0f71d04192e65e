/**
 * A source's nested walk gives the event loop turns (sync/yielding-source.ts): its reads are synchronous page-cache
 * reads, so without turns nothing queued on the event loop (the target's network replies) runs until the walk ends.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySource } from '../../src/store/byte-source.js';
import type { Span } from '../../src/core/span.js';
import { YieldingSource } from '../../src/sync/yielding-source.js';

/** Reads `reads` bytes one after the other through `src`; how many of them ran before a setImmediate queued first. */
async function readsBeforeATurn(src: { read(o: number, n: number): Promise<Uint8Array> }, reads: number): Promise<number> {
  let done = 0;
  let seenAt: number | undefined;
  setImmediate(() => (seenAt = done));
  for (let i = 0; i < reads; i++) {
    await src.read(i, 1);
    done++;
  }
  await new Promise<void>((r) => setImmediate(r));
  return seenAt ?? reads;
}

describe('a source that gives the event loop turns', () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);

  it('without it, a walk of synchronous reads runs to its end before anything queued', async () => {
    assert.equal(await readsBeforeATurn(new MemorySource(bytes), 200), 200);
  });

  it('with it, what was queued runs once the slice is used up, and the bytes are the same', async () => {
    const y = new YieldingSource(new MemorySource(bytes), 0);
    assert.ok((await readsBeforeATurn(y, 200)) < 200);
    assert.deepEqual([...(await y.read(10, 3))], [10, 11, 12]);
    const into = new Uint8Array(4);
    await y.readInto(into, 1, 254, 2);
    assert.deepEqual([...into], [0, 254, 255, 0]);
    assert.equal(y.size, 256);
  });

  it('a long slice gives no turn; prefetch and cheapReads pass through, and only where the source has them', async () => {
    const asked: Span[][] = [];
    const inner = Object.assign(new MemorySource(bytes), { cheapReads: true, prefetch: async (r: readonly Span[]) => void asked.push([...r]) });
    const y = new YieldingSource(inner, 60_000);
    assert.equal(await readsBeforeATurn(y, 200), 200);
    await y.prefetch!([{ start: 0, end: 10 }]);
    assert.deepEqual(asked, [[{ start: 0, end: 10 }]]);
    assert.equal(y.cheapReads, true);
    const plain = new YieldingSource(new MemorySource(bytes), 0);
    assert.equal(plain.prefetch, undefined);
    assert.equal(plain.prefetchBounds, undefined);
  });
});
