/**
 * The engine's other pure cores as tables: blocks, the request book, the
 * piece picker, strikes and timeouts (with a fake clock), look-ahead, and the
 * plan's sure bytes. No sockets, no files, no timers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pieceIndex, type PieceIndex } from '../../src/core/ids.js';
import { alignedBlockOf, BLOCK_BYTES, isAlignedBlock, keyOf, requestsFor } from '../../src/engine/block.js';
import { CHOKE_GRACE_MS, freshHealth, lateAsks, MAX_TIMEOUTS, onBlock, onConviction, onTimeouts, overdue, REQUEST_TIMEOUT_MS } from '../../src/engine/health.js';
import { AHEAD_BATCH_BYTES, aheadRoom, leftToPeers, LOOK_AHEAD_BYTES, LOOK_AHEAD_PIECES, SEED_AHEAD_SECONDS, SEED_PROBE_BYTES, seedAheadBytes, takeAhead } from '../../src/engine/look-ahead.js';
import { freshMeter, onBytes, RATE_MEASURE_MS, RATE_WINDOW_MS, rateOf, setBusy } from '../../src/engine/rate.js';
import { pickPiece, PiecePicker } from '../../src/engine/piece-picker.js';
import { Rng } from '../helpers/random.js';
import { RequestBook } from '../../src/engine/request-book.js';
import { buildPlan, ZERO_SOURCE, type LocalSegment } from '../../src/delta/plan.js';
import { pieceNeeds, surelyFetched } from '../../src/delta/sure-bytes.js';
import { isError } from '../helpers/errors.js';
import { block } from './shorthand.js';
import { SenderLog } from '../../src/engine/range-port.js';
import { MAX_PEER_WINDOW_PIECES, MIN_PEER_WINDOW_PIECES, pieceWindow } from '../../src/engine/piece-window.js';

const P = (n: number): PieceIndex => pieceIndex(n);

/** Availability shorthand: "2030" -> piece 0 held by 2 peers, piece 1 by none, ... */
function facts(avail: string, missing: number[] = [], webSeeds = false, peers = true) {
  return { availability: (p: PieceIndex) => Number(avail[p]), missingBytes: (p: PieceIndex) => missing[p] ?? 1 << 20, webSeeds, peers };
}
const pieces = (n: number) => Array.from({ length: n }, (_, i) => P(i));

describe('piece picker', () => {
  const rows: [string, string, number[], boolean, boolean, number][] = [
    ['takes the rarest piece some peer has', '3120', [], false, true, 1],
    ['puts pieces nobody has last', '02', [], false, true, 1],
    ['a piece only web seeds have comes after the pieces peers have', '01', [], true, true, 1],
    ['with a web seed and no peers, takes pieces in order', '00', [500, 100], true, false, 0],
    ['among equally rare pieces, takes the one with the fewest bytes missing (partial first)', '111', [9000, 2048, 5000], false, true, 1],
  ];
  for (const [name, avail, missing, web, peers, want] of rows) {
    it(name, () => assert.equal(pickPiece(pieces(avail.length), facts(avail, missing, web, peers), () => 0), want));
  }
  it('breaks remaining ties at random when peers are there, so leechers spread out', () => {
    const seen = new Set<number>();
    for (const r of [0.1, 0.9]) {
      let calls = 0;
      seen.add(pickPiece(pieces(2), facts('11', [1, 1]), () => (calls++ === 0 ? r : 1 - r)));
    }
    assert.deepEqual([...seen].sort(), [0, 1]);
  });
  it('returns -1 when nothing remains', () => assert.equal(pickPiece([], facts(''), () => 0), -1));
});

/**
 * Incremental picker scenarios. `levels` shorthand: "2013" -> piece 0 held
 * by 2 leechers, piece 1 by none, ...; `missing` per piece (default equal);
 * ranks (the random tie-break) are drawn in piece order from `ranks`.
 */
function picker(levels: string, missing: number[] = [], ranks: number[] = []) {
  const level = Array.from(levels, Number);
  let r = 0;
  const pk = new PiecePicker(pieces(level.length), { level: (p) => level[p]!, missingBytes: (p) => missing[p] ?? 1 << 18 }, () => ranks[r++] ?? 0);
  const drain = (peers: boolean, seeds: boolean) => {
    const out: number[] = [];
    for (let p = pk.next(peers, seeds); p !== undefined; p = pk.next(peers, seeds)) out.push(p);
    return out;
  };
  return { pk, level, drain };
}

describe('incremental piece picker', () => {
  it('rarest first; a piece no leecher has comes last, or first when a seed is connected', () => {
    assert.deepEqual(picker('2013').drain(true, false), [2, 0, 3, 1]);
    assert.deepEqual(picker('2013').drain(true, true), [1, 2, 0, 3]);
  });
  it('with a seed connected, every other pick is the rarest piece some leecher has', () => {
    const rows: [string, string, number[]][] = [
      ['pieces only the seed has alternate with the rarest a leecher has', '002103', [0, 3, 1, 2, 4, 5]],
      ['no leecher has any piece: only the seed can give them, in turn', '0000', [0, 1, 2, 3]],
      ['every piece is at a leecher: rarest first, as without the alternation', '2131', [1, 3, 0, 2]],
      ['the leechers run out first: the seed-only pieces follow', '0010', [0, 2, 1, 3]],
    ];
    for (const [name, levels, want] of rows) assert.deepEqual(picker(levels).drain(true, true), want, name);
  });
  it('among equally rare pieces, fewest bytes missing first, then the random rank', () => {
    assert.deepEqual(picker('1111', [500, 100, 500, 100], [0.9, 0.7, 0.1, 0.2]).drain(true, false), [3, 1, 2, 0]);
  });
  it('without peers, in piece order, skipping what look-ahead took', () => {
    const { pk, drain } = picker('0000', [9, 1, 9, 1]);
    assert.equal(pk.take(pieceIndex(1)), true);
    assert.equal(pk.take(pieceIndex(1)), false, 'taken once');
    assert.deepEqual(drain(false, false), [0, 2, 3]);
    assert.equal(pk.size, 0);
  });
  it('follows availability as it changes between picks', () => {
    const { pk, level } = picker('1122');
    assert.equal(pk.next(true, false), 0);
    level[1] = 3;
    pk.changed(pieceIndex(1));
    level[3] = 1;
    pk.changed(pieceIndex(3));
    assert.equal(pk.next(true, false), 3, 'piece 3 became the rarest');
    assert.equal(pk.next(true, false), 2);
    assert.equal(pk.next(true, false), 1);
    assert.equal(pk.next(true, false), undefined);
  });
  it('hands out the same pieces in the same order as pickPiece (with a seed, every other pick among the pieces leechers have), over random scenarios with changes, take-aheads and switches between modes', () => {
    const rng = new Rng(12);
    for (let round = 0; round < 40; round++) {
      const n = 1 + rng.int(60);
      const level = Array.from({ length: n }, () => rng.int(4));
      const missing = Array.from({ length: n }, () => (1 + rng.int(3)) * 1000);
      const ranks = Array.from({ length: n }, () => rng.int(1000) / 1000);
      let r = 0;
      const pk = new PiecePicker(pieces(n), { level: (p) => level[p]!, missingBytes: (p) => missing[p]! }, () => ranks[r++]!);
      let remaining = pieces(n);
      let seedPicks = 0;
      while (remaining.length > 0) {
        const peers = rng.int(5) > 0;
        const seeds = rng.int(3) === 0;
        const web = rng.int(2) === 0;
        if (rng.int(4) === 0) {
          const p = pieceIndex(rng.int(n));
          level[p] = rng.int(4);
          pk.changed(p);
        }
        if (rng.int(6) === 0) {
          const p = remaining[rng.int(remaining.length)]!;
          assert.equal(pk.take(p), true);
          remaining = remaining.filter((x) => x !== p);
          continue;
        }
        // With a seed, every other pick is among the pieces some leecher has (when there are any).
        const held = remaining.filter((p) => level[p]! > 0);
        const among = peers && seeds && seedPicks++ % 2 === 1 && held.length > 0 ? held : remaining;
        let k = 0;
        const want = pickPiece(among, {
          availability: (p) => (peers ? level[p]! + Number(seeds) : 0),
          missingBytes: (p) => missing[p]!,
          webSeeds: web,
          peers,
        }, () => ranks[among[k++]!]!);
        const got = pk.next(peers, peers && seeds);
        assert.equal(got, among[want], `round ${round}`);
        remaining = remaining.filter((x) => x !== got);
      }
      assert.equal(pk.next(true, false), undefined);
    }
  });
});

describe('blocks', () => {
  it('asks exactly the missing bytes, cut at 16 KiB boundaries, the last piece short', () => {
    const size = 3 * BLOCK_BYTES + 100;
    const b = requestsFor(P(7), size, [{ start: 10, end: 20 }, { start: BLOCK_BYTES - 5, end: 2 * BLOCK_BYTES + 7 }, { start: 3 * BLOCK_BYTES + 5, end: size }]);
    // Each block carries its key, the one keyOf makes of its fields.
    for (const x of b) assert.equal(x.key, keyOf({ piece: x.piece, offset: x.offset, length: x.length }));
    assert.deepEqual(b.map(({ piece, offset, length }) => ({ piece, offset, length })), [
      { piece: 7, offset: 10, length: 10 },
      { piece: 7, offset: BLOCK_BYTES - 5, length: 5 },
      { piece: 7, offset: BLOCK_BYTES, length: BLOCK_BYTES },
      { piece: 7, offset: 2 * BLOCK_BYTES, length: 7 },
      { piece: 7, offset: 3 * BLOCK_BYTES + 5, length: 95 },
    ]);
  });
  it('asks two ranges of one 16 KiB block separately, not the bytes between them', () => {
    assert.equal(requestsFor(P(0), BLOCK_BYTES, [{ start: 0, end: 10 }, { start: 100, end: 200 }]).reduce((n, x) => n + x.length, 0), 110);
  });
  it('names the aligned block holding a request, for peers that serve only those', () => {
    const size = 2 * BLOCK_BYTES + 100;
    assert.deepEqual(alignedBlockOf({ piece: P(3), offset: BLOCK_BYTES + 7, length: 9 }, size), { piece: 3, offset: BLOCK_BYTES, length: BLOCK_BYTES });
    assert.deepEqual(alignedBlockOf({ piece: P(3), offset: 2 * BLOCK_BYTES + 50, length: 50 }, size), { piece: 3, offset: 2 * BLOCK_BYTES, length: 100 });
    assert.equal(isAlignedBlock({ piece: P(3), offset: 2 * BLOCK_BYTES, length: 100 }, size), true);
    assert.equal(isAlignedBlock({ piece: P(3), offset: 0, length: 100 }, size), false);
  });
  it('refuses a range outside the piece', () => {
    assert.throws(() => requestsFor(P(0), 100, [{ start: 50, end: 101 }]), isError('INTERNAL', { piece: 0 }));
  });
});

describe('request book', () => {
  it('keeps unasked blocks oldest first, and a block handed back goes to the end', () => {
    const b = new RequestBook<string>();
    for (const x of ['0.0', '0.1', '1.0']) b.want(block(x));
    b.asked(block('0.0'), 'A', 0);
    assert.deepEqual([...b.unasked()].map((x) => `${x.piece}.${x.offset / BLOCK_BYTES}`), ['0.1', '1.0']);
    b.release(block('0.0'), 'A');
    assert.deepEqual([...b.unasked()].map((x) => `${x.piece}.${x.offset / BLOCK_BYTES}`), ['0.1', '1.0', '0.0']);
  });
  it('a block arriving names every source it was asked of (to cancel the others)', () => {
    const b = new RequestBook<string>();
    b.want(block('0.0'));
    b.asked(block('0.0'), 'A', 0);
    b.asked(block('0.0'), 'B', 1);
    assert.deepEqual([...b.drop(block('0.0'))].sort(), ['A', 'B']);
    assert.equal(b.size, 0);
    assert.equal(b.askedCount('A'), 0);
  });
  it("askedFor names a piece's wanted blocks with who was asked, in the order wanted, and forgets dropped ones", () => {
    const b = new RequestBook<string>();
    for (const k of ['0.0', '1.0', '0.1', '1.1', '0.2']) b.want(block(k));
    b.asked(block('0.1'), 'A', 0);
    b.asked(block('1.0'), 'B', 0);
    b.drop(block('0.0'));
    assert.deepEqual(
      b.askedFor(pieceIndex(0)).map(([x, hs]) => [keyOf(x), hs]),
      [
        [keyOf(block('0.1')), ['A']],
        [keyOf(block('0.2')), []],
      ],
    );
    b.drop(block('1.0'));
    b.drop(block('1.1'));
    assert.deepEqual(b.askedFor(pieceIndex(1)), []);
  });
  it('a source that leaves gives back every ask at once, and only blocks nobody else was asked become unasked', () => {
    const b = new RequestBook<string>();
    for (const x of ['0.0', '0.1']) b.want(block(x));
    b.asked(block('0.0'), 'A', 0);
    b.asked(block('0.1'), 'A', 0);
    b.asked(block('0.1'), 'B', 0);
    assert.equal(b.releaseHandle('A').length, 2);
    assert.equal(b.unaskedCount, 1);
    assert.equal(b.askedCount('B'), 1);
  });
  it('counts the unasked blocks wanted ahead, and the unasked bytes, through asks, releases and drops', () => {
    const b = new RequestBook<string>();
    const short = { piece: P(1), offset: 0, length: 100 };
    b.want(block('0.0'), true);
    b.want(block('0.1'), true);
    b.want(short);
    b.want(block('0.0')); // wanted already: its lane stays
    const counts = () => [b.unaskedCount, b.unaskedAheadCount, b.unaskedBytes];
    assert.deepEqual(counts(), [3, 2, 2 * BLOCK_BYTES + 100]);
    b.asked(block('0.0'), 'A', 0);
    b.asked(short, 'A', 0);
    assert.deepEqual(counts(), [1, 1, BLOCK_BYTES]);
    b.asked(block('0.0'), 'B', 0);
    b.release(block('0.0'), 'A');
    assert.deepEqual(counts(), [1, 1, BLOCK_BYTES], 'still asked of B');
    b.release(block('0.0'), 'B');
    assert.deepEqual(counts(), [2, 2, 2 * BLOCK_BYTES], 'unasked again');
    b.drop(block('0.1'));
    b.releaseHandle('A');
    assert.deepEqual(counts(), [2, 1, BLOCK_BYTES + 100]);
    b.drop(block('0.0'));
    b.drop(short);
    assert.deepEqual(counts(), [0, 0, 0]);
  });
  it('lists asks older than a time', () => {
    const b = new RequestBook<string>();
    b.want(block('0.0'));
    b.asked(block('0.0'), 'slow', 0);
    assert.deepEqual(b.expired(1000), [[block('0.0'), 'slow']]);
    assert.deepEqual(b.expired(0), []);
  });
});

describe('strikes and timeouts (fake clock)', () => {
  it('late asks are grouped per source: timed out, or held while the source chokes us', () => {
    const A = { ready: true };
    const C = { ready: false };
    const entries = [
      { block: 'a', askedOf: new Map([[A, 0]]) },
      { block: 'b', askedOf: new Map([[A, REQUEST_TIMEOUT_MS], [C, REQUEST_TIMEOUT_MS - CHOKE_GRACE_MS]]) },
    ];
    const late = lateAsks(entries, REQUEST_TIMEOUT_MS + 1, REQUEST_TIMEOUT_MS);
    assert.deepEqual(late.get(A), { timedOut: ['a'], choked: [] });
    assert.deepEqual(late.get(C), { timedOut: [], choked: ['b'] });
    assert.equal(lateAsks(entries, CHOKE_GRACE_MS, REQUEST_TIMEOUT_MS).size, 0);
  });
  it('an ask is overdue after the request timeout, or after the choke grace while the source chokes us', () => {
    assert.equal(overdue(0, REQUEST_TIMEOUT_MS, true, REQUEST_TIMEOUT_MS), undefined);
    assert.equal(overdue(0, REQUEST_TIMEOUT_MS + 1, true, REQUEST_TIMEOUT_MS), 'timeout');
    assert.equal(overdue(0, CHOKE_GRACE_MS, false, REQUEST_TIMEOUT_MS), undefined);
    assert.equal(overdue(0, CHOKE_GRACE_MS + 1, false, REQUEST_TIMEOUT_MS), 'choked');
  });
  it('a source stalls after MAX_TIMEOUTS timeout turns with no block for the whole timeout; a block resets it', () => {
    const h = freshHealth(0);
    let now = REQUEST_TIMEOUT_MS + 1;
    for (let i = 1; i < MAX_TIMEOUTS; i++) assert.equal(onTimeouts(h, now, REQUEST_TIMEOUT_MS), 'patience');
    onBlock(h, now);
    assert.equal(onTimeouts(h, (now += 1000), REQUEST_TIMEOUT_MS), 'patience', 'a block came: the count starts again');
    now += REQUEST_TIMEOUT_MS + 1;
    assert.equal(onTimeouts(h, now, REQUEST_TIMEOUT_MS), MAX_TIMEOUTS === 2 ? 'stalled' : 'patience');
  });
  it('convictions: a web seed is dropped at once, a peer struck and then banned', () => {
    assert.equal(onConviction(freshHealth(0), 'web'), 'drop');
    const h = freshHealth(0);
    assert.deepEqual([onConviction(h, 'peer'), onConviction(h, 'peer')], ['strike', 'ban']);
  });
});

describe('look-ahead', () => {
  const sure = (n: number) => () => [{ start: 0, end: n }];
  it('takes the next pieces in order while they fit the room and the bounds, skipping pieces with nothing sure', () => {
    const next = pieces(6);
    const t = takeAhead({ next, sure: (p) => (p === 1 ? [] : [{ start: p * 1000, end: p * 1000 + 600 }]), heldPieces: 0, heldBytes: 0, room: 2000 });
    assert.deepEqual(t.map((x) => x.piece), [0, 2, 3]);
  });
  it('stops at the first piece that does not fit', () => {
    assert.deepEqual(takeAhead({ next: pieces(4), sure: sure(LOOK_AHEAD_BYTES / 2 + 1), heldPieces: 0, heldBytes: 0, room: Infinity }).length, 1);
  });
  it('holds at most LOOK_AHEAD_PIECES pieces and takes nothing without room', () => {
    assert.equal(takeAhead({ next: pieces(100), sure: sure(1), heldPieces: LOOK_AHEAD_PIECES - 2, heldBytes: 0, room: Infinity }).length, 2);
    assert.equal(takeAhead({ next: pieces(4), sure: sure(1), heldPieces: 0, heldBytes: 0, room: 0 }).length, 0);
  });
  it('with pieces held, waits until a full request of the window is free, then fills it in one go', () => {
    const kib64 = sure(64 * 1024);
    const held = (bytes: number) => takeAhead({ next: pieces(1000), sure: kib64, heldPieces: 4, heldBytes: bytes, room: Infinity });
    assert.equal(held(LOOK_AHEAD_BYTES - AHEAD_BATCH_BYTES + 1).length, 0, 'less than a batch free: nothing');
    assert.equal(held(LOOK_AHEAD_BYTES - AHEAD_BATCH_BYTES).length, AHEAD_BATCH_BYTES / (64 * 1024), 'a batch free: all of it');
    assert.equal(held(0).length, LOOK_AHEAD_BYTES / (64 * 1024), 'nothing held: the whole window');
    assert.equal(takeAhead({ next: pieces(1000), sure: sure(1), heldPieces: LOOK_AHEAD_PIECES / 2 + 1, heldBytes: 1, room: Infinity }).length, 0, 'half the pieces held: nothing');
  });
  const leftRows: [string, number, number, number, boolean][] = [
    ['no peer has the piece: taken ahead', 0, 0, 0, false],
    ['only a seed is connected and has it: taken ahead (a seed does not turn look-ahead off)', 1, 1, 1, false],
    ['two seeds, no leecher: taken ahead', 2, 2, 2, false],
    ['a leecher has it: left to the peers to trade', 1, 0, 1, true],
    ['a seed and a leecher have it: left to the peers', 2, 1, 2, true],
    ['a seed has it and a leecher without it is connected: left to the swarm, which shares one copy', 1, 1, 2, true],
    ['leechers connected, no peer has it: taken ahead', 0, 1, 3, false],
  ];
  for (const [name, availability, seeds, connected, left] of leftRows) it(`which pieces it leaves to the peers: ${name}`, () => assert.equal(leftToPeers(availability, seeds, connected), left));
});

describe('measured rate (fake clock)', () => {
  it('counts bytes over busy time only, and is no measure before RATE_MEASURE_MS of it', () => {
    const m = freshMeter();
    setBusy(m, true, 0);
    onBytes(m, 100_000, 300);
    assert.equal(rateOf(m, 300), undefined);
    setBusy(m, false, 400);
    // Idle for 10 s: not slower for it.
    setBusy(m, true, 10_400);
    onBytes(m, 100_000, 10_500);
    assert.equal(rateOf(m, 10_500), 400_000);
    setBusy(m, false, 10_500);
    assert.equal(rateOf(m, 20_000), 400_000);
  });
  it('recent busy time counts most: a slow start fades once more than two windows passed', () => {
    const m = freshMeter();
    setBusy(m, true, 0);
    onBytes(m, 50_000, RATE_MEASURE_MS); // 100 KB/s at first (a cold start)
    let t = RATE_MEASURE_MS;
    while (t < RATE_MEASURE_MS + 3 * RATE_WINDOW_MS) onBytes(m, 1_000_000, (t += 100)); // then 10 MB/s
    const r = rateOf(m, t)!;
    assert.ok(r > 9_000_000 && r <= 10_000_000, `rate ${r}`);
  });
});

describe("look-ahead's room for a seed peer beside a web seed", () => {
  const rows: [string, number | undefined, number][] = [
    ['not measured yet: a probe', undefined, SEED_PROBE_BYTES],
    ['measured: SEED_AHEAD_SECONDS of its rate', 3_000_000, 3_000_000 * SEED_AHEAD_SECONDS],
    ['measured at 0 (it sent nothing while asked): nothing', 0, 0],
  ];
  for (const [name, rate, want] of rows) it(name, () => assert.equal(seedAheadBytes(rate), want));
  const rooms: [string, number[], (number | undefined)[], number, number][] = [
    ['no web seed: nothing (the peers have their deep window)', [], [1e6], 0, 0],
    ["a web seed's room, less what waits for a first ask", [1_000_000], [], 300_000, 700_000],
    ["beside a web seed with no room, a seed peer's still fills", [0], [1_000_000], 0, 1_000_000 * SEED_AHEAD_SECONDS],
    ['a seed peer not measured yet adds a probe', [100_000], [undefined], 0, 100_000 + SEED_PROBE_BYTES],
    ['more waiting than room: nothing', [100_000], [10_000], 500_000, 0],
  ];
  for (const [name, web, seeds, unasked, want] of rooms) it(`room: ${name}`, () => assert.equal(aheadRoom(web, seeds, unasked), want));
});

describe('sure bytes of the plan', () => {
  const seg = (start: number, end: number, source: number, sourceOffset: number, reason: LocalSegment['reason'] = 'hint'): LocalSegment => ({ start, end, source, sourceOffset, reason });
  it('a piece surely fetches only the bytes that neither local bytes nor any guess layer cover', () => {
    const plan = buildPlan({ length: 100, pieceLength: 50 }, [[seg(0, 20, 0, 0)]], [[seg(30, 40, ZERO_SOURCE, 0, 'zero')], [seg(35, 45, 1, 35, 'same-offset')]]);
    assert.deepEqual(surelyFetched(plan, P(0)), [{ start: 20, end: 30 }, { start: 45, end: 50 }]);
    assert.deepEqual(surelyFetched(plan, P(1)), [{ start: 50, end: 100 }]);
    assert.deepEqual(surelyFetched(buildPlan({ length: 100, pieceLength: 50 }, [[seg(0, 100, 0, 0)]]), P(0)), []);
  });
  it('the engine is told each piece\'s missing bytes and which pieces look-ahead may take, bridged like the piece\'s own fetch', () => {
    const plan = buildPlan({ length: 4096, pieceLength: 2048 }, [[seg(0, 100, 0, 0), seg(200, 2048, 0, 200), seg(2048, 4096, 0, 2048)]]);
    const n = pieceNeeds(plan, [false, false]);
    assert.equal(n.missingBytes(P(0)), 100);
    assert.deepEqual(n.aheadCandidates, [0]);
    assert.deepEqual(n.sure(P(0)), [{ start: 100, end: 200 }]);
    assert.deepEqual(pieceNeeds(plan, [true, false]).aheadCandidates, []);
  });
});

describe('pieceWindow: a deep window only for peers without a web seed', () => {
  const KiB = 1024;
  const MiB = 1024 * KiB;
  const rows: [string, number, { peers: boolean; webSeeds: number }, number | undefined][] = [
    ['web seed alone: the default', 256 * KiB, { peers: false, webSeeds: 1 }, undefined],
    ['nothing attached: the default', 256 * KiB, { peers: false, webSeeds: 0 }, undefined],
    ['peers and a web seed: the default', 256 * KiB, { peers: true, webSeeds: 1 }, undefined],
    ['peers and two web seeds: the default', 16 * KiB, { peers: true, webSeeds: 2 }, undefined],
    ['peers alone, 256 KiB pieces: 4 MiB of pieces', 256 * KiB, { peers: true, webSeeds: 0 }, 16],
    ['peers alone, 2 MiB pieces: 4 MiB of pieces', 2 * MiB, { peers: true, webSeeds: 0 }, 2],
    ['peers alone, 4 MiB pieces: at least the minimum', 4 * MiB, { peers: true, webSeeds: 0 }, MIN_PEER_WINDOW_PIECES],
    ['peers alone, 16 MiB pieces: at least the minimum', 16 * MiB, { peers: true, webSeeds: 0 }, MIN_PEER_WINDOW_PIECES],
    ['peers alone, 16 KiB pieces: at most the maximum', 16 * KiB, { peers: true, webSeeds: 0 }, MAX_PEER_WINDOW_PIECES],
    ['peers alone, 1.5 MiB pieces: rounded up', 1.5 * MiB, { peers: true, webSeeds: 0 }, 3],
    ['peers alone, 768 KiB pieces: rounded up', 768 * KiB, { peers: true, webSeeds: 0 }, 6],
  ];
  for (const [name, pieceLength, sources, want] of rows) {
    it(name, () => assert.equal(pieceWindow(pieceLength, sources), want));
  }
});

describe('SenderLog: who sent which bytes, a range that continues the same sender\'s last one joined to it', () => {
  it('joins, keeps others apart and answers by overlap, in order', () => {
    const a = { name: 'a' };
    const b = { name: 'b' };
    const log = new SenderLog<{ name: string }>();
    log.add(0, 100, a);
    log.add(100, 200, a); // continues a's last range
    log.add(200, 300, b);
    log.add(300, 400, a); // a again, but b's range came between
    log.add(1000, 1100, b);
    log.add(1100, 1200, b);
    for (let i = 0; i < 200; i++) log.add(5000 + 10 * i, 5005 + 10 * i, i % 2 ? a : b); // past the first allocation
    assert.deepEqual(log.overlapping({ start: 150, end: 350 }), [
      { start: 0, end: 200, who: a },
      { start: 200, end: 300, who: b },
      { start: 300, end: 400, who: a },
    ]);
    assert.deepEqual(log.overlapping({ start: 1150, end: 1160 }), [{ start: 1000, end: 1200, who: b }]);
    assert.deepEqual(log.overlapping({ start: 400, end: 1000 }), []);
    assert.deepEqual(log.overlapping({ start: 5000 + 10 * 199, end: 6 ** 10 }), [{ start: 5000 + 10 * 199, end: 5005 + 10 * 199, who: a }]);
    assert.equal(log.overlapping({ start: 5000, end: 7000 }).length, 200);
  });
});
