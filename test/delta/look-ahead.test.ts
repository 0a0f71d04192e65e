import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { assemble, type PieceFetcher } from '../../src/delta/assemble.js';
import { surelyFetched } from '../../src/delta/look-ahead.js';
import { buildPlan, ZERO_SOURCE, type LocalSegment } from '../../src/delta/plan.js';
import type { Span } from '../../src/core/span.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { Rng } from '../helpers/random.js';
import { pieceIndex } from '../../src/core/ids.js';

const seg = (start: number, end: number, source: number, sourceOffset: number, reason: LocalSegment['reason'] = 'hint'): LocalSegment => ({ start, end, source, sourceOffset, reason });

test('a piece surely fetches only the bytes that neither local bytes nor any guess layer cover', () => {
  const plan = buildPlan({ length: 100, pieceLength: 50 }, [[seg(0, 20, 0, 0)]], [[seg(30, 40, ZERO_SOURCE, 0, 'zero')], [seg(35, 45, 1, 35, 'same-offset')]]);
  assert.deepEqual(surelyFetched(plan, pieceIndex(0)), [{ start: 20, end: 30 }, { start: 45, end: 50 }]);
  assert.deepEqual(surelyFetched(plan, pieceIndex(1)), [{ start: 50, end: 100 }]);
  const local = buildPlan({ length: 100, pieceLength: 50 }, [[seg(0, 100, 0, 0)]]);
  assert.deepEqual(surelyFetched(local, pieceIndex(0)), []);
});

/** A web seed over the target bytes: counts requests, may corrupt or fail some, remembers convictions. */
class FakeSeeds implements PieceFetcher<string> {
  requests = 0;
  manyRequests = 0;
  convicted: string[] = [];
  constructor(
    private readonly target: Uint8Array,
    private readonly opts: { corruptMany?: boolean; failFirstMany?: boolean } = {},
  ) {}
  async fetch(start: number, end: number, avoid?: ReadonlySet<string>): Promise<{ bytes: Uint8Array; seed: string }> {
    this.requests++;
    const seed = avoid?.has('a') ? 'b' : 'a';
    return { bytes: this.target.slice(start, end), seed };
  }
  async fetchMany(ranges: readonly Span[]): Promise<{ parts: Uint8Array[]; seed: string }> {
    this.requests++;
    this.manyRequests++;
    if (this.opts.failFirstMany && this.manyRequests === 1) throw new Error('mirror gone');
    const parts = ranges.map((r) => this.target.slice(r.start, r.end));
    if (this.opts.corruptMany) for (const p of parts) p[0] = p[0]! ^ 0xff;
    return { parts, seed: 'a' };
  }
  convict(who: string): void {
    this.convicted.push(who);
  }
}

/** A target of `pieces` pieces, a source holding the same bytes, and a plan where every piece lacks a few short ranges. */
function scenario(seed: number, pieces: number, pieceLength: number) {
  const rng = new Rng(seed);
  const target = rng.bytes(pieces * pieceLength - 100);
  const local: LocalSegment[] = [];
  let at = 0;
  while (at < target.length) {
    const gap = 1 + rng.int(3000);
    const run = 1 + rng.int(40_000);
    const end = Math.min(target.length, at + gap + run);
    if (at + gap < end) local.push(seg(at + gap, end, 0, at + gap));
    at = end;
  }
  const plan = buildPlan({ length: target.length, pieceLength }, [local]);
  const hashes = new Uint8Array(plan.pieceCount * 20);
  for (let p = 0; p < plan.pieceCount; p++) {
    hashes.set(createHash('sha1').update(target.subarray(p * pieceLength, Math.min(target.length, (p + 1) * pieceLength))).digest(), p * 20);
  }
  return { target, plan, hashes };
}

async function run(s: ReturnType<typeof scenario>, seeds: FakeSeeds) {
  const out = new Uint8Array(s.target.length);
  const have = new Array<boolean>(s.plan.pieceCount).fill(false);
  const stats = await assemble({
    plan: s.plan,
    pieces: s.hashes,
    sources: [new MemorySource(s.target)],
    store: {
      have,
      releasesBytes: true,
      writePiece: async (p, offset, bytes) => {
        out.set(bytes, offset);
        have[p] = true;
      },
    },
    fetcher: seeds,
  });
  return { out, stats };
}

test('pieces taken in order receive the bytes fetched ahead for them: bit-identical, the planned bytes only, in far fewer requests than pieces', async () => {
  const s = scenario(3, 64, 16384);
  const seeds = new FakeSeeds(s.target);
  const { out, stats } = await run(s, seeds);
  assert.deepEqual(out, s.target);
  const needy = Array.from({ length: s.plan.pieceCount }, (_, p) => surelyFetched(s.plan, pieceIndex(p)).length > 0).filter(Boolean).length;
  assert.ok(needy > 30, `scenario has ${needy} pieces that need the network`);
  assert.ok(seeds.requests * 4 <= needy, `${seeds.requests} requests for ${needy} pieces`);
  // Nothing beyond the plan (and its bridged holes under 1 KiB each) was fetched, nothing wasted by a hash failure.
  const planned = s.plan.fetch.reduce((n, r) => n + r.end - r.start, 0);
  assert.ok(stats.fetchedBytes >= planned && stats.fetchedBytes - planned < 1024 * s.plan.fetch.length, `fetched ${stats.fetchedBytes} for ${planned} planned`);
  assert.equal(stats.piecesDone, s.plan.pieceCount);
});

test('when a request fetching ahead fails, the pieces it was for fetch their bytes themselves', async () => {
  const s = scenario(4, 40, 16384);
  const seeds = new FakeSeeds(s.target, { failFirstMany: true });
  const { out } = await run(s, seeds);
  assert.deepEqual(out, s.target);
});

test('bytes fetched ahead that fail the piece hash convict their sender, and the piece is fetched whole elsewhere', async () => {
  const s = scenario(5, 12, 16384);
  const seeds = new FakeSeeds(s.target, { corruptMany: true });
  const { out } = await run(s, seeds);
  assert.deepEqual(out, s.target);
  assert.ok(seeds.convicted.includes('a'));
});
