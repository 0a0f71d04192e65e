/**
 * The download engine with in-memory sources (no sockets, no files): assembly
 * through it from web seeds only, peers only and both, look-ahead, sources
 * that fail, lie or leave. Each source serves from the target's bytes and
 * records what it served.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { pieceIndex } from '../../src/core/ids.js';
import { assemble } from '../../src/delta/assemble.js';
import { buildPlan, type LocalSegment } from '../../src/delta/plan.js';
import { pieceNeeds, surelyFetched } from '../../src/delta/sure-bytes.js';
import { Engine, type PeerFacts } from '../../src/engine/engine.js';
import { keyOf, type Block } from '../../src/engine/block.js';
import { NO_CAPACITY, type Capacity, type HandleSink, type PeerHandle } from '../../src/engine/handle.js';
import type { Warning } from '../../src/core/warnings.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { IsosyncError } from '../../src/errors.js';
import { Rng } from '../helpers/random.js';
import { pieceCheckOf } from '../../src/torrent/piece-check.js';

interface FakeOptions {
  /** Pieces it has (default: all). */
  readonly has?: readonly number[];
  /** Flips a byte of every block it sends. */
  readonly corrupt?: boolean;
  /** Its first request fails (a web seed is then dropped). */
  readonly failFirst?: boolean;
  /** Answers this many blocks, then holds every ask (until it leaves). */
  readonly answerBlocks?: number;
  /** A web seed's queue (Capacity.queue): bytes asked and not answered at most (default: a request's 4 MiB per free slot). */
  readonly queueBytes?: number;
}

/** A source over the target's bytes: a web seed or a peer, answering on the next turn. */
class FakeSource implements PeerHandle {
  requests = 0;
  /** Keys of the blocks it sent. */
  readonly served = new Set<string>();
  private sink: HandleSink | undefined;
  private alive = true;
  private inFlight = 0;
  private outstanding = 0;
  private readonly held: Block[] = [];
  private answered = 0;

  constructor(
    readonly id: string,
    readonly kind: 'peer' | 'web',
    private readonly target: Uint8Array,
    private readonly pieceLength: number,
    private readonly o: FakeOptions = {},
  ) {}

  attach(sink: HandleSink): void {
    this.sink = sink;
  }
  get complete(): boolean {
    return this.o.has === undefined;
  }
  get ready(): boolean {
    return this.alive;
  }
  has(p: number): boolean {
    return this.alive && (this.o.has === undefined || this.o.has.includes(p));
  }
  capacity(asked: number): Capacity {
    if (!this.alive) return NO_CAPACITY;
    if (this.kind === 'web') {
      const queue = Math.max(0, (this.o.queueBytes ?? 16 * 1024 * 1024) - this.outstanding);
      return this.inFlight < 4 && queue > 0 ? { blocks: Infinity, bytes: Math.min(4 * 1024 * 1024, queue), runs: 48, queue } : { ...NO_CAPACITY, queue };
    }
    return { blocks: 64 - asked, bytes: Infinity, runs: Infinity };
  }
  request(blocks: readonly Block[]): void {
    this.requests++;
    if (this.o.answerBlocks !== undefined) {
      const answer = Math.max(0, this.o.answerBlocks - this.answered);
      this.held.push(...blocks.slice(answer));
      blocks = blocks.slice(0, answer);
      this.answered += blocks.length;
    }
    this.inFlight++;
    const n = this.requests;
    const bytes = blocks.reduce((x, b) => x + b.length, 0);
    this.outstanding += bytes;
    setImmediate(() => {
      this.inFlight--;
      this.outstanding -= bytes;
      if (!this.alive) return;
      if (this.o.failFirst && n === 1) return this.drop('failed');
      for (const b of blocks) {
        const at = b.piece * this.pieceLength + b.offset;
        const bytes = this.target.slice(at, at + b.length);
        if (this.o.corrupt) bytes[0] = bytes[0]! ^ 0xff;
        this.served.add(keyOf(b));
        this.sink?.block(this, b, bytes);
      }
      this.sink?.changed(this);
    });
  }
  cancel(): void {}
  drop(reason: string): void {
    if (!this.alive) return;
    this.alive = false;
    this.sink?.closed(this, reason);
  }
  /** Leaves with asks still held (a seeder that goes away mid-transfer). */
  leave(): void {
    this.drop('connection closed');
  }
  get holding(): number {
    return this.held.length;
  }
}

const seg = (start: number, end: number, source: number, sourceOffset: number): LocalSegment => ({ start, end, source, sourceOffset, reason: 'hint' });

/** A target of `pieces` pieces, a local copy of it, and a plan where every piece lacks a few short ranges (or everything: `local` false). */
function scenario(seed: number, pieces: number, pieceLength: number, local = true) {
  const rng = new Rng(seed);
  const target = rng.bytes(pieces * pieceLength - 100);
  const segs: LocalSegment[] = [];
  for (let at = 0; local && at < target.length; ) {
    const gap = 1 + rng.int(3000);
    const run = 1 + rng.int(40_000);
    const end = Math.min(target.length, at + gap + run);
    if (at + gap < end) segs.push(seg(at + gap, end, 0, at + gap));
    at = end;
  }
  const plan = buildPlan({ length: target.length, pieceLength }, [segs]);
  const hashes = new Uint8Array(plan.pieceCount * 20);
  for (let p = 0; p < plan.pieceCount; p++) hashes.set(createHash('sha1').update(target.subarray(p * pieceLength, Math.min(target.length, (p + 1) * pieceLength))).digest(), p * 20);
  return { target, plan, hashes, pieceLength };
}

/** Timeouts far beyond any test: a sync that completes did not wait for one (what returns, returns at once). */
const NEVER_MS = 3_600_000;

async function sync(s: ReturnType<typeof scenario>, sources: FakeSource[], opts: { withPeers?: boolean; peers?: PeerFacts; afterPieces?: (n: number) => void } = {}) {
  const warnings: Warning[] = [];
  const engine = new Engine({ length: s.target.length, pieceLength: s.pieceLength, withPeers: opts.withPeers ?? false, requestTimeoutMs: NEVER_MS, noPeerMs: NEVER_MS, onWarning: (w) => warnings.push(w) });
  for (const x of sources) engine.add(x);
  if (opts.peers) engine.attachPeers(opts.peers);
  const have = new Array<boolean>(s.plan.pieceCount).fill(false);
  engine.planned(pieceNeeds(s.plan, have));
  const out = new Uint8Array(s.target.length);
  let done = 0;
  try {
    const stats = await assemble({
      plan: s.plan,
      check: pieceCheckOf({ length: s.target.length, pieceLength: s.pieceLength, pieces: s.hashes }),
      sources: [new MemorySource(s.target)],
      store: {
        have,
        releasesBytes: true,
        writePiece: async (p, offset, bytes) => {
          out.set(bytes, offset);
          have[p] = true;
          opts.afterPieces?.(++done);
        },
      },
      fetcher: engine,
    });
    return { out, stats, warnings };
  } finally {
    engine.close();
  }
}

describe('the download engine', () => {
  it('web seeds only: pieces taken in order receive the bytes fetched ahead for them, bit-identical, the planned bytes only, in far fewer requests than pieces', async () => {
    const s = scenario(3, 64, 16384);
    const w = new FakeSource('web seed W', 'web', s.target, s.pieceLength);
    const { out, stats } = await sync(s, [w]);
    assert.deepEqual(out, s.target);
    const needy = Array.from({ length: s.plan.pieceCount }, (_, p) => surelyFetched(s.plan, pieceIndex(p)).length > 0).filter(Boolean).length;
    assert.ok(needy > 30, `scenario has ${needy} pieces that need the network`);
    assert.ok(w.requests * 4 <= needy, `${w.requests} requests for ${needy} pieces`);
    const planned = s.plan.fetch.reduce((n, r) => n + r.end - r.start, 0);
    assert.ok(stats.fetchedBytes >= planned && stats.fetchedBytes - planned < 1024 * s.plan.fetch.length, `fetched ${stats.fetchedBytes} for ${planned} planned`);
    assert.equal(stats.wastedBytes < 1024 * s.plan.fetch.length, true);
  });

  it('peers only: the same scheduler fetches a whole image from two peers that each have half', async () => {
    const s = scenario(4, 16, 65536, false);
    const a = new FakeSource('peer A', 'peer', s.target, s.pieceLength, { has: [0, 1, 2, 3, 4, 5, 6, 7] });
    const b = new FakeSource('peer B', 'peer', s.target, s.pieceLength, { has: [8, 9, 10, 11, 12, 13, 14, 15] });
    const { out } = await sync(s, [a, b], { withPeers: true });
    assert.deepEqual(out, s.target);
    assert.ok(a.served.size > 0 && b.served.size > 0);
  });

  it('a seed peer does not turn look-ahead off: before any piece starts, the sure bytes go to the web seed (and none to the seed, the queue holds them)', async () => {
    const s = scenario(3, 64, 16384);
    const w = new FakeSource('web seed W', 'web', s.target, s.pieceLength);
    const seed = new FakeSource('peer S', 'peer', s.target, s.pieceLength);
    const engine = new Engine({ length: s.target.length, pieceLength: s.pieceLength, withPeers: true, requestTimeoutMs: NEVER_MS, noPeerMs: NEVER_MS });
    try {
      engine.add(seed);
      engine.add(w);
      engine.attachPeers({ availability: () => 1, seeds: 1, connected: 1, discovering: () => false });
      engine.planned(pieceNeeds(s.plan, new Array<boolean>(s.plan.pieceCount).fill(false)));
      await new Promise((r) => setImmediate(r));
      assert.ok(w.requests > 0, 'the web seed was asked ahead');
      assert.equal(seed.requests, 0);
    } finally {
      engine.close();
    }
  });

  it('a seed peer and a web seed together: both are asked, for disjoint blocks (nothing fetched twice)', async () => {
    // More blocks wanted at once than the web seed's queue holds (scheduler.ts leftToWeb): the seed peer takes the rest.
    const s = scenario(5, 96, 65536, false);
    const peer = new FakeSource('peer A', 'peer', s.target, s.pieceLength);
    const web = new FakeSource('web seed W', 'web', s.target, s.pieceLength, { queueBytes: 256 * 1024 });
    const { out, stats } = await sync(s, [peer, web], { withPeers: true });
    assert.deepEqual(out, s.target);
    assert.ok(peer.served.size > 0 && web.served.size > 0, `peer ${peer.served.size} blocks, web ${web.served.size}`);
    for (const k of peer.served) assert.ok(!web.served.has(k), `block ${k} fetched from both`);
    assert.equal(stats.fetchedBytes, s.target.length);
  });

  it('a copy that comes after another source sent the block counts as late bytes (what endgame repeats cost)', async () => {
    const s = scenario(3, 64, 16384);
    const a = new FakeSource('peer A', 'peer', s.target, s.pieceLength);
    const b = new FakeSource('peer B', 'peer', s.target, s.pieceLength);
    const engine = new Engine({ length: s.target.length, pieceLength: s.pieceLength, withPeers: true, requestTimeoutMs: NEVER_MS, noPeerMs: NEVER_MS });
    try {
      engine.add(a);
      engine.add(b);
      const fetched = engine.fetch(pieceIndex(0), [{ start: 0, end: 1000 }]);
      const block = { piece: pieceIndex(0), offset: 0, length: 1000 };
      engine.block(a, block, s.target.slice(0, 1000));
      engine.block(b, block, s.target.slice(0, 1000));
      assert.deepEqual((await fetched).parts, [s.target.slice(0, 1000)]);
      assert.deepEqual([engine.downloaded, engine.lateBytes], [2000, 1000]);
    } finally {
      engine.close();
    }
  });

  it('a web seed whose request fails is dropped with a warning, and the other web seed fetches its blocks', async () => {
    const s = scenario(6, 40, 16384);
    const bad = new FakeSource('web seed bad', 'web', s.target, s.pieceLength, { failFirst: true });
    const good = new FakeSource('web seed good', 'web', s.target, s.pieceLength);
    const { out } = await sync(s, [bad, good]);
    assert.deepEqual(out, s.target);
    assert.ok(good.served.size > 0);
  });

  it('bytes that fail the piece hash convict their sender: a lying web seed is dropped and the piece comes whole from another', async () => {
    const s = scenario(7, 12, 16384);
    const liar = new FakeSource('web seed liar', 'web', s.target, s.pieceLength, { corrupt: true });
    const honest = new FakeSource('web seed honest', 'web', s.target, s.pieceLength);
    let dropped = '';
    const origDrop = liar.drop.bind(liar);
    liar.drop = (reason: string) => {
      dropped ||= reason;
      origDrop(reason);
    };
    const { out } = await sync(s, [liar, honest]);
    assert.deepEqual(out, s.target);
    assert.ok(dropped, 'the liar was dropped');
  });

  it('a peer that leaves while holding asks gives them back at once: a web seed fetches them, no piece is orphaned', async () => {
    const s = scenario(8, 24, 65536, false);
    const peer = new FakeSource('peer A', 'peer', s.target, s.pieceLength, { answerBlocks: 8 });
    const web = new FakeSource('web seed W', 'web', s.target, s.pieceLength, { queueBytes: 256 * 1024 });
    const { out } = await sync(s, [peer, web], { withPeers: true, afterPieces: (n) => n === 2 && peer.leave() });
    assert.deepEqual(out, s.target);
    assert.ok(peer.holding > 0, 'the peer held asks when it left');
    for (const k of peer.served) assert.ok(!web.served.has(k));
  });

  it('when no live source has a missing piece and none can come, the fetch fails at once, naming what it tried', async () => {
    const s = scenario(9, 4, 16384, false);
    // (A connected peer that lacks the piece could still get it, so the engine would wait for it: here only a web seed, which fails.)
    const gone = new FakeSource('web seed gone', 'web', s.target, s.pieceLength, { failFirst: true });
    await assert.rejects(sync(s, [gone]), (e: unknown) => e instanceof IsosyncError && e.code === 'NETWORK' && Array.isArray(e.fields['tried']) && (e.fields['tried'] as string[]).some((t) => t.startsWith('web seed gone')));
  });
});

describe('verdicts on a source', () => {
  it('a peer convicted again while its drop is under way is banned once (one warning)', () => {
    const warnings: Warning[] = [];
    const engine = new Engine({ length: 4 * 16384, pieceLength: 16384, withPeers: true, requestTimeoutMs: NEVER_MS, noPeerMs: NEVER_MS, onWarning: (w) => warnings.push(w) });
    let drops = 0;
    const sink: { s?: HandleSink } = {};
    const peer: PeerHandle & { attach(s: HandleSink): void } = {
      id: 'peer 127.0.0.1:9',
      kind: 'peer',
      complete: true,
      ready: true,
      has: () => true,
      capacity: () => NO_CAPACITY,
      request: () => undefined,
      cancel: () => undefined,
      // Like a real connection, it reports closed later (after its socket closes).
      drop: (reason) => {
        drops++;
        setImmediate(() => sink.s?.closed(peer, reason));
      },
      attach: (s) => (sink.s = s),
    };
    try {
      engine.add(peer);
      for (let i = 0; i < 8; i++) engine.convict(peer, `sent bytes that failed the hash of piece ${i % 4}`);
      assert.equal(warnings.filter((w) => w.code === 'PEER_BANNED').length, 1, JSON.stringify(warnings));
      assert.equal(drops, 1);
    } finally {
      engine.close();
    }
  });
});
