/**
 * The swarm's pure cores as tables, with a fake clock where time matters:
 * availability, the upload queue (rarest sent first, share first), BEP 16
 * super-seed offers, duplicate connections and redials. No sockets.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pieceIndex } from '../../src/core/ids.js';
import { Availability } from '../../src/swarm/availability.js';
import { MAX_PIPELINE_BLOCKS, MAX_PIPELINE_DEPTH, PIPELINE_BYTES, PIPELINE_DEPTH, PIPELINE_SECONDS, pipelineCapacity, pipelineDepth } from '../../src/swarm/bt-peer.js';
import { NO_CAPACITY } from '../../src/engine/handle.js';
import { dialWays, duplicateToDrop, MAX_REDIALS, refusedBeforeHandshake, shouldRedial, type DialWay } from '../../src/swarm/peer-set.js';
import { SUPER_SEED_PATIENCE_MS, SuperSeed } from '../../src/swarm/super-seed.js';
import { SHARE_MEMORY_MS, UNANNOUNCED_WAIT_FACTOR, UploadQueue } from '../../src/swarm/upload-queue.js';
import { Rng } from '../helpers/random.js';

const P = pieceIndex;
/** "#.#." -> has(i) per piece. */
const mask = (m: string) => (i: number) => m[i] === '#';

describe('availability', () => {
  it('counts each peer once per piece; a peer with every piece counts in all of them', () => {
    const a = new Availability<string>(4);
    a.bitfield('A', mask('##..'), false);
    a.bitfield('B', mask('.#..'), false);
    a.bitfield('S', mask('....'), true);
    assert.deepEqual([0, 1, 2, 3].map((p) => a.count(P(p))), [2, 3, 1, 1]);
    assert.equal(a.isComplete('S'), true);
  });
  it('the first piece a peer has and we lack is looked for from a given piece on, around to it', () => {
    const a = new Availability<string>(5);
    a.bitfield('A', mask('#.##.'), false);
    a.bitfield('S', mask('.....'), true);
    const have = (m: string) => [...m].map((c) => c === '#');
    const cases: [peer: string, ours: string, from: number, found: number, why: string][] = [
      ['A', '.....', 0, 0, 'from piece 0'],
      ['A', '.....', 1, 2, 'skips a piece the peer lacks'],
      ['A', '.....', 4, 0, 'wraps around past the last piece'],
      ['A', '#.#..', 1, 3, 'skips pieces we have'],
      ['A', '#.##.', 2, -1, 'none: we have all it has'],
      ['S', '##.##', 3, 2, 'a peer with every piece: the first we lack from there'],
      ['S', '#####', 0, -1, 'none: we have every piece'],
      ['B', '.....', 0, -1, 'a peer that announced nothing'],
    ];
    for (const [peer, ours, from, found, why] of cases) assert.equal(a.firstLacked(peer, have(ours), from), found, why);
  });
  it('a have is new once; the last missing piece makes the peer complete', () => {
    const a = new Availability<string>(2);
    assert.equal(a.have('A', P(0)), 'new');
    assert.equal(a.have('A', P(0)), 'known');
    assert.equal(a.have('A', P(1)), 'complete');
    assert.deepEqual([a.count(P(0)), a.count(P(1))], [1, 1]);
  });
  it('a full bitfield is a complete peer; a peer that leaves is uncounted', () => {
    const a = new Availability<string>(3);
    a.bitfield('A', mask('###'), false);
    a.have('B', P(2));
    a.remove('A');
    assert.deepEqual([0, 1, 2].map((p) => a.count(P(p))), [0, 0, 1]);
    assert.equal(a.has('A', P(0)), false);
  });
});

describe('availability reports what changed', () => {
  it('every change of a piece\'s leecher count is reported; a peer that completes is uncounted per piece and counted as a seed', () => {
    const changed: number[] = [];
    const a = new Availability<string>(3, (p) => changed.push(p));
    a.bitfield('A', mask('#.#'), false);
    assert.deepEqual(changed.splice(0), [0, 2]);
    a.have('A', P(1));
    assert.deepEqual(changed.splice(0).sort(), [0, 1, 1, 2], 'piece 1 counted, then all three uncounted: A is a seed now');
    assert.equal(a.seeds, 1);
    assert.deepEqual([0, 1, 2].map((p) => a.count(P(p))), [1, 1, 1]);
    a.have('B', P(2));
    a.remove('B');
    assert.deepEqual(changed.splice(0), [2, 2]);
    a.remove('A');
    assert.deepEqual([a.seeds, changed.length], [0, 0], 'a seed leaving changes no leecher count');
  });
});

describe('peer pipeline room', () => {
  const F = 16384;
  const free = (blocks: number, bytes: number) => ({ blocks, bytes, runs: Infinity });
  const rows: [string, number, number, unknown, ReturnType<typeof pipelineCapacity>][] = [
    ['an idle peer that says no reqq is asked a full pipeline', 0, 0, undefined, free(PIPELINE_DEPTH, PIPELINE_BYTES)],
    ["never deeper than the peer's reqq", 0, 0, 16, free(16, PIPELINE_BYTES)],
    ['a peer whose reqq takes them is asked up to MAX_PIPELINE_BLOCKS small blocks, the bytes of a full pipeline', 0, 0, 2000, free(MAX_PIPELINE_BLOCKS, PIPELINE_BYTES)],
    ['a reqq that is not a positive whole number is ignored', 0, 0, -5, free(PIPELINE_DEPTH, PIPELINE_BYTES)],
    ['while asks are out, less than a quarter of the asks free waits', PIPELINE_DEPTH - 15, (PIPELINE_DEPTH - 15) * F, undefined, NO_CAPACITY],
    ['a quarter of the asks free is asked at once', PIPELINE_DEPTH - 16, (PIPELINE_DEPTH - 16) * F, undefined, free(16, 16 * F)],
    ['small blocks: less than a quarter of the bytes free waits, whatever the asks', 100, PIPELINE_BYTES - PIPELINE_BYTES / 4 + 1, 2000, NO_CAPACITY],
    ['small blocks: a quarter of the bytes free is asked at once', 100, (PIPELINE_BYTES * 3) / 4, 2000, free(MAX_PIPELINE_BLOCKS - 100, PIPELINE_BYTES / 4)],
    ['more asked than the depth (a reqq that shrank): nothing', PIPELINE_DEPTH + 10, 0, undefined, NO_CAPACITY],
  ];
  for (const [name, asked, bytes, reqq, want] of rows) it(name, () => assert.deepEqual(pipelineCapacity(asked, bytes, reqq), want));
  const deep: [string, number, unknown, number, number][] = [
    ['a deeper pipeline is asked in full when idle', 0, undefined, 256, 256],
    ["a deep pipeline still stops at the peer's reqq", 0, 100, 256, 100],
    ['a deep pipeline refills by a quarter of itself', 256 - 63, undefined, 256, 0],
    ['a quarter of a deep pipeline free is asked at once', 256 - 64, undefined, 256, 64],
    ['a quarter of the reqq, when it is the limit', 100 - 25, 100, 256, 25],
  ];
  for (const [name, asked, reqq, depth, want] of deep) it(name, () => assert.equal(pipelineCapacity(asked, asked * F, reqq, depth).blocks, want));
});

describe('peer pipeline depth by rate', () => {
  const MB = 1e6;
  const rows: [string, number, number][] = [
    ['no rate measured yet: the minimum', 0, PIPELINE_DEPTH],
    ['a slow peer (100 KB/s): the minimum', 0.1 * MB, PIPELINE_DEPTH],
    ['a peer whose seconds of rate fill more than the minimum: that many blocks', 0.5 * MB, Math.ceil((0.5 * MB * PIPELINE_SECONDS) / 16384)],
    ['a loopback peer (20 MB/s): the maximum', 20 * MB, MAX_PIPELINE_DEPTH],
    ['a rate that is not a number: the minimum', Number.NaN, PIPELINE_DEPTH],
  ];
  for (const [name, rate, want] of rows) it(name, () => assert.equal(pipelineDepth(rate), want));
  it('the minimum is below the maximum, and a depth-bound peer grows: depth / round trip over PIPELINE_SECONDS', () => {
    assert.ok(PIPELINE_DEPTH < MAX_PIPELINE_DEPTH);
    // 64 blocks per 0.3 s round trip (a loaded loopback) asks for more than 64.
    assert.ok(pipelineDepth((PIPELINE_DEPTH * 16384) / 0.3) > PIPELINE_DEPTH);
  });
});

describe('upload queue (fake clock)', () => {
  const req = (peer: string, piece: number, seq: number, at = 0) => ({ peer, piece, offset: 0, length: 16384, seq, at });
  const live = () => true;
  it('serves the piece sent to the fewest other peers first, then the oldest', () => {
    const q = new UploadQueue<string>(0);
    q.sent('X', 0);
    q.push(req('A', 0, 0));
    q.push(req('A', 1, 1));
    assert.equal(q.next(0, live, live)?.piece, 1, 'piece 1 went to nobody yet');
    assert.equal(q.next(0, live, live)?.piece, 0);
  });
  it('share first: a piece another connected peer got waits shareWaitMs after a peer announced it', () => {
    const q = new UploadQueue<string>(1500);
    q.sent('X', 0);
    q.push(req('A', 0, 0, 1000));
    assert.equal(q.next(2000, live, live), undefined);
    q.announced(0, 2200);
    assert.equal(q.nextWake(), 3700, 'counted from the announcement, not the ask');
    assert.equal(q.next(3699, live, live), undefined);
    assert.equal(q.next(3700, live, live)?.piece, 0);
  });
  it('share first: a piece announced before the ask waits shareWaitMs from the ask', () => {
    const q = new UploadQueue<string>(1500);
    q.sent('X', 0);
    q.announced(0, 500);
    q.push(req('A', 0, 0, 1000));
    assert.equal(q.next(2499, live, live), undefined);
    assert.equal(q.next(2500, live, live)?.piece, 0);
  });
  it('share first: a piece nobody announced yet waits UNANNOUNCED_WAIT_FACTOR times as long after the ask', () => {
    const q = new UploadQueue<string>(1500);
    q.sent('X', 0);
    q.push(req('A', 0, 0, 1000));
    const due = 1000 + 1500 * UNANNOUNCED_WAIT_FACTOR;
    assert.equal(q.nextWake(), due);
    assert.equal(q.next(due - 1, live, live), undefined, 'X may still be verifying it');
    assert.equal(q.next(due, live, live)?.piece, 0);
  });
  it('without share first an announcement changes nothing', () => {
    const q = new UploadQueue<string>(0);
    q.sent('X', 0);
    q.announced(0, 0);
    q.push(req('A', 0, 0, 1000));
    assert.equal(q.next(1000, live, live)?.piece, 0);
  });
  it('a peer that left complete still counts as a holder for SHARE_MEMORY_MS, then is forgotten', () => {
    const q = new UploadQueue<string>(1500);
    q.sent('X', 0);
    q.left('X', true, 0);
    q.push(req('A', 0, 0, 0));
    const gone = (p: string) => p !== 'X';
    assert.equal(q.next(100, live, gone), undefined, 'X left, but as a seed');
    q.expire(SHARE_MEMORY_MS);
    assert.equal(q.next(100, live, gone)?.piece, 0);
  });
  it('drops requests of peers that no longer take them, and a cancel drops one', () => {
    const q = new UploadQueue<string>(0);
    q.push(req('A', 0, 0));
    q.push(req('B', 1, 1));
    q.push(req('B', 2, 2));
    q.cancel('B', 1, 0, 16384);
    assert.equal(q.next(0, (p) => p !== 'A', live)?.piece, 2);
    assert.equal(q.size, 0);
  });
});

describe('upload queue: takeReady takes what repeated next() calls would, in one pass', () => {
  it('over random scenarios of holders, announcements, asks and clocks, the same requests go, in the same order, and the same stay', () => {
    const rng = new Rng(7);
    for (let round = 0; round < 200; round++) {
      const peers = ['A', 'B', 'C', 'D', 'X'];
      const wait = rng.int(2) === 0 ? 0 : 1500;
      const build = () => new UploadQueue<string>(wait);
      const [a, b] = [build(), build()];
      const pieces = 1 + rng.int(4);
      const script: ((q: UploadQueue<string>) => void)[] = [];
      for (let i = 0; i < 12; i++) {
        const peer = peers[rng.int(peers.length)]!, piece = rng.int(pieces), at = rng.int(8000);
        const what = rng.int(4);
        if (what === 0) script.push((q) => q.sent(peer, piece));
        else if (what === 1) script.push((q) => q.announced(piece, at));
        else script.push((q) => q.push({ peer, piece, offset: 0, length: 16384, seq: i, at }));
      }
      for (const step of script) (step(a), step(b));
      const now = rng.int(12000);
      const live = (p: string) => p !== 'D';
      const connected = (p: string) => p !== 'C';
      const viaNext: number[] = [];
      for (let u = a.next(now, live, connected); u; u = a.next(now, live, connected)) viaNext.push(u.seq);
      const viaTake = b.takeReady(now, live, connected).map((u) => u.seq);
      assert.deepEqual(viaTake, viaNext, `round ${round}`);
      assert.equal(b.size, a.size, `round ${round}: the same requests stay queued`);
    }
  });
});

describe('super-seed offers (fake clock)', () => {
  it('offers each peer the least-offered piece it lacks, one at a time', () => {
    const s = new SuperSeed<string>(3);
    const none = () => 0;
    assert.equal(s.offer('A', () => true, none, 0), 0);
    assert.equal(s.offer('B', () => true, none, 0), 1);
    assert.equal(s.offer('C', (p) => p !== 2, none, 0), 0, 'piece 2 is not lacked; 0 and 1 were offered once, 0 first');
  });
  it('a piece seen at another peer was passed on: its first holder may get the next', () => {
    const s = new SuperSeed<string>(2);
    s.offer('A', () => true, () => 0, 0);
    assert.deepEqual(s.passedOn('B', 0, false), ['A']);
    assert.deepEqual(s.passedOn('A', 0, false), [], 'its own have does not count');
    assert.deepEqual(s.passedOn('A', 0, true), ['A'], 'unless it is alone');
  });
  it('after SUPER_SEED_PATIENCE_MS with no sign, the peer is offered another', () => {
    const s = new SuperSeed<string>(2);
    s.offer('A', () => true, () => 0, 1000);
    assert.deepEqual(s.due(1000 + SUPER_SEED_PATIENCE_MS), []);
    assert.deepEqual(s.due(1001 + SUPER_SEED_PATIENCE_MS), ['A']);
  });
});

describe('peer set rules', () => {
  it('of two connections to one peer, both sides keep the one dialed by the higher peer id, as libtorrent does', () => {
    assert.equal(duplicateToDrop('bb', 'aa', true), 'old', 'we are higher: keep our outgoing one');
    assert.equal(duplicateToDrop('bb', 'aa', false), 'new');
    assert.equal(duplicateToDrop('aa', 'bb', false), 'old', 'they are higher: keep their dial (incoming here)');
    assert.equal(duplicateToDrop('aa', 'bb', true), 'new');
    // Both ends of one pair agree: each keeps the same connection.
    for (const ourIsHigher of [true, false]) {
      const [us, them] = ourIsHigher ? ['bb', 'aa'] : ['aa', 'bb'];
      const weKeepOurDial = duplicateToDrop(us, them, true) === 'old';
      const theyKeepOurDial = duplicateToDrop(them, us, false) === 'old';
      assert.equal(weKeepOurDial, theyKeepOurDial);
    }
  });
  it('a peer is dialed plaintext then encrypted, each with both infohashes of a hybrid, then over uTP', () => {
    const show = (ways: readonly DialWay[]) => ways.map((w) => `${w.utp ? 'utp' : 'tcp'}-${w.encrypt ? 'mse' : 'plain'}-${w.alt ? 'alt' : 'primary'}`).join(' ');
    assert.equal(show(dialWays({ hybrid: false, encryption: 'prefer-plaintext', utp: false })), 'tcp-plain-primary tcp-mse-primary');
    assert.equal(show(dialWays({ hybrid: true, encryption: 'prefer-plaintext', utp: false })), 'tcp-plain-primary tcp-plain-alt tcp-mse-primary tcp-mse-alt');
    assert.equal(show(dialWays({ hybrid: true, encryption: 'require', utp: false })), 'tcp-mse-primary tcp-mse-alt', 'the v1 infohash keys an MSE/PE dial too');
    assert.equal(show(dialWays({ hybrid: false, encryption: 'require', utp: true })), 'tcp-mse-primary utp-mse-primary');
    assert.equal(dialWays({ hybrid: true, encryption: 'prefer-plaintext', utp: true }).length, 8);
  });
  it('a dial counts as refused when the peer hung up before its handshake: not a byte in plaintext, MSE/PE not through', () => {
    const link = { outgoing: true, handshaken: false, bytesIn: 0, encrypted: false, cryptoDone: false };
    assert.equal(refusedBeforeHandshake(link, 'connection closed'), true);
    assert.equal(refusedBeforeHandshake({ ...link, bytesIn: 68 }, 'connection closed'), false, 'it said something');
    assert.equal(refusedBeforeHandshake({ ...link, encrypted: true, bytesIn: 96 + 200 }, 'ECONNRESET'), true, 'its key, then a hang-up: it did not know the infohash that keys ours');
    assert.equal(refusedBeforeHandshake({ ...link, encrypted: true, cryptoDone: true, bytesIn: 400 }, 'connection closed'), false);
    assert.equal(refusedBeforeHandshake({ ...link, handshaken: true }, 'connection closed'), false);
    assert.equal(refusedBeforeHandshake({ ...link, outgoing: false }, 'connection closed'), false, 'we did not dial it');
    assert.equal(refusedBeforeHandshake(link, 'no handshake in time'), false, 'silence is not a refusal');
  });
  it('a dialed peer that hung up cleanly is dialed again, a few times; one that misbehaved is not', () => {
    assert.equal(shouldRedial('connection closed', true, 0), true);
    assert.equal(shouldRedial('ECONNRESET', true, MAX_REDIALS - 1), true);
    assert.equal(shouldRedial('ECONNRESET', true, MAX_REDIALS), false);
    assert.equal(shouldRedial('banned', true, 0), false);
    assert.equal(shouldRedial('connection closed', false, 0), false, 'we did not dial it');
    assert.equal(shouldRedial('UTP_ETIMEDOUT', true, 0), true, 'a loaded peer let its uTP link time out');
    assert.equal(shouldRedial('no handshake in time', true, MAX_REDIALS), false);
  });
});
