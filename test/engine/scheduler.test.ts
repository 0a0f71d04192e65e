/**
 * The scheduler as a table: a one-line scenario (shorthand.ts) in, the asks
 * and cancels of one turn out. No sockets, no files, no timers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pieceIndex } from '../../src/core/ids.js';
import { ENDGAME_CROSS_MS, scheduleTurn, WEB_REPEATS_HELD_MS, WEB_REPEATS_PEER_MS, type PieceRule } from '../../src/engine/scheduler.js';
import { block, book, PIECE, render, sources } from './shorthand.js';
import { BLOCK_BYTES } from '../../src/engine/block.js';

interface Row {
  readonly name: string;
  readonly sources: string;
  readonly wanted: string;
  readonly asked?: Record<string, string[]>;
  readonly endgame?: boolean;
  readonly now?: number;
  readonly rules?: [number, PieceRule<string>][];
  readonly reclaim?: number[];
  /** Blocks per peer left to the peers by web seeds (default PEER_BACKLOG_BLOCKS). */
  readonly backlog?: number;
  /** Pieces look-ahead took for the web seeds (default: every piece). */
  readonly ahead?: number[];
  /** Blocks of the web seeds' queues a seed peer with free slots may take beyond its share (default none here). */
  readonly probe?: number;
  /** The asks of the turn, rendered. */
  readonly asks: string;
  readonly cancels?: string;
}

const rows: Row[] = [
  { name: 'a source gets the oldest unasked blocks of pieces it has, up to its free slots', sources: 'A=##../3', wanted: '2 2 2 2', asks: 'A:0.0,0.1,1.0' },
  { name: 'a source gets nothing of pieces it lacks', sources: 'A=..##', wanted: '2 2 0 0', asks: '' },
  { name: 'two peers with different pieces share the work', sources: 'A=##.. B=..##', wanted: '1 1 1 1', asks: 'A:0.0,1.0 B:2.0,3.0' },
  { name: 'a peer that chokes us is asked nothing', sources: 'A=####/c B=####', wanted: '1 1', asks: 'B:0.0,1.0' },
  { name: 'leechers before seeds: a seed is not asked for a piece a leecher that keeps up has', sources: 'S=#### L=#.../1', wanted: '2 1', asks: 'L:0.0 S:1.0' },
  { name: 'a leecher that does not keep up spares no seed', sources: 'S=#### L=#.../1k', wanted: '2 1', asks: 'L:0.0 S:0.1,1.0' },
  { name: "an idle seed measured faster than the leecher takes what the leecher's full pipeline left of its pieces", sources: 'S=####/r20 L=#.../1f8r5', wanted: '2 1', asks: 'L:0.0 S:0.1,1.0' },
  { name: 'a seed that would send the block no sooner than the leecher leaves it to the leecher', sources: 'S=####/r5f8 L=#.../1f8r5', wanted: '2 1', asks: 'L:0.0 S:1.0' },
  { name: 'an idle seed slower than an idle leecher (its upload shared by many) leaves it the piece', sources: 'S=####/r1 L=#.../1r5', wanted: '2 1', asks: 'L:0.0 S:1.0' },
  { name: 'an idle slow seed takes a block a leecher would send only after a deep queue', sources: 'S=####/r1 L=#.../1f64r5', wanted: '2 1', asks: 'L:0.0 S:0.1,1.0' },
  { name: "a seed takes blocks of a leecher's piece up to as deep a queue as the leecher's, no further", sources: 'S=####/8r5 L=##../0f4r5', wanted: '4 4', asks: 'S:0.0,0.1,0.2,0.3' },
  { name: 'beside a web seed a seed peer leaves a leecher its pieces, whatever the rates (a server that is both is not asked more)', sources: 'S=####/r20 L=#.../1f8r5 W=web/0', wanted: '2 1', asks: 'L:0.0 S:1.0' },
  { name: 'a seed not measured yet leaves the piece to the leecher', sources: 'S=#### L=#.../1f64r5', wanted: '2 1', asks: 'L:0.0 S:1.0' },
  { name: 'a leecher not measured yet spares the seed', sources: 'S=####/r20 L=#.../1f64', wanted: '2 1', asks: 'L:0.0 S:1.0' },
  { name: 'one leecher that would send the block as soon as the seed spares it', sources: 'S=####/r20 L=#.../0f64r5 M=#.../0r20', wanted: '2 1', asks: 'S:1.0' },
  { name: 'a leecher that chokes us spares no seed', sources: 'S=#### L=#.../c', wanted: '2', asks: 'S:0.0,0.1' },
  { name: 'a web seed takes what the peers cannot take soon (their free slots, then the backlog), as one request of at most its bytes', sources: 'A=#.../2 W=web/3', wanted: '4 4', backlog: 1, asks: 'A:0.0,0.1 W:0.3,1.0,1.1' },
  { name: 'mixed peers and web seeds are asked for disjoint blocks', sources: 'A=##../2 B=..##/2 W=web/8', wanted: '4 4 4 4', backlog: 1, asks: 'A:0.0,0.1 B:2.0,2.1 W:1.0,1.1,1.2,1.3,2.2,2.3,3.0,3.1' },
  { name: 'a web seed leaves the oldest blocks the peers have, the backlog per peer, to the peers', sources: 'A=#.../1 W=web/8', wanted: '4 1', backlog: 2, asks: 'A:0.0 W:0.3,1.0' },
  { name: 'by default the backlog is a pipeline per peer: a web seed takes only pieces no peer has', sources: 'A=#.../1 W=web/8', wanted: '4 1', asks: 'A:0.0 W:1.0' },
  { name: 'a peer that does not keep up leaves no backlog', sources: 'A=#.../1k W=web/8', wanted: '4 1', backlog: 2, asks: 'A:0.0 W:0.1,0.2,0.3,1.0' },
  { name: 'a piece pinned to a web seed is not left to the peers', sources: 'A=####/0 W=web/8', wanted: '2', backlog: 2, rules: [[0, { oneSource: true, pinned: 'W' }]], asks: 'W:0.0,0.1' },
  { name: 'web seeds with room share the unasked bytes evenly (each at least 256 KiB)', sources: 'W=web/64 V=web/64', wanted: '4 4 4 4 4 4 4 4', asks: 'W:0.0,0.1,0.2,0.3,1.0,1.1,1.2,1.3,2.0,2.1,2.2,2.3,3.0,3.1,3.2,3.3 V:4.0,4.1,4.2,4.3,5.0,5.1,5.2,5.3,6.0,6.1,6.2,6.3,7.0,7.1,7.2,7.3' },
  { name: 'sources with fewer strikes go first', sources: 'A=####/1s B=####/1', wanted: '1 1', asks: 'B:0.0 A:1.0' },
  { name: 'no endgame while some block waits for its first ask', sources: 'A=#.../0 B=##../4', wanted: '1 1', asked: { A: ['0.0'] }, endgame: true, asks: 'B:1.0' },
  { name: 'no endgame while pieces remain to start', sources: 'A=####/0 B=####', wanted: '1', asked: { A: ['0.0'] }, endgame: false, asks: '' },
  { name: 'endgame: an idle peer asks a block already asked of another peer', sources: 'A=####/0 B=####', wanted: '2', asked: { A: ['0.0', '0.1'] }, endgame: true, asks: 'B:0.0,0.1' },
  { name: 'endgame: at most two asks per block', sources: 'A=####/0 B=####/0 C=####', wanted: '1', asked: { A: ['0.0'], B: ['0.0'] }, endgame: true, asks: '' },
  { name: "endgame: a web seed never repeats another web seed's request", sources: 'W=web/0 V=web', wanted: '1', asked: { W: ['0.0'] }, endgame: true, asks: '' },
  { name: "endgame: an idle web seed repeats a peer's ask once it is WEB_REPEATS_PEER_MS old (a slow peer does not hold the last piece)", sources: 'V=web A=####/0', wanted: '1', asked: { A: ['0.0'] }, endgame: true, now: WEB_REPEATS_PEER_MS, asks: 'V:0.0' },
  { name: "endgame: but not a fresh one", sources: 'V=web A=####/0', wanted: '1', asked: { A: ['0.0'] }, endgame: true, now: WEB_REPEATS_PEER_MS - 1, asks: '' },
  { name: "endgame beside a leecher: an idle web seed leaves a seed peer's ask (it may hold it while a leecher passes the piece on) until WEB_REPEATS_HELD_MS", sources: 'V=web S=####/0 L=.#../0', wanted: '1', asked: { S: ['0.0'] }, endgame: true, now: WEB_REPEATS_HELD_MS - 1, asks: '' },
  { name: "endgame beside a leecher: then it repeats it", sources: 'V=web S=####/0 L=.#../0', wanted: '1', asked: { S: ['0.0'] }, endgame: true, now: WEB_REPEATS_HELD_MS, asks: 'V:0.0' },
  { name: "endgame beside a seed peer: a leecher's ask is repeated after WEB_REPEATS_PEER_MS", sources: 'V=web S=####/0 L=#.../0', wanted: '1', asked: { L: ['0.0'] }, endgame: true, now: WEB_REPEATS_PEER_MS, asks: 'V:0.0' },
  { name: "endgame: a peer repeats a web seed's ask only once it is ENDGAME_CROSS_MS old (a web request cannot be withdrawn)", sources: 'V=web/0 A=####', wanted: '1', asked: { V: ['0.0'] }, endgame: true, now: ENDGAME_CROSS_MS - 1, asks: '' },
  { name: "endgame: and then it does", sources: 'V=web/0 A=####', wanted: '1', asked: { V: ['0.0'] }, endgame: true, now: ENDGAME_CROSS_MS, asks: 'A:0.0' },
  { name: "a seed peer leaves the web seed's queue (what it sends soon) to it, and takes what lies beyond", sources: 'S=#### W=web/2q3', wanted: '4 2', asks: 'S:0.3,1.0,1.1 W:0.0,0.1' },
  { name: "a seed peer leaves only blocks look-ahead took to the web seed's queue: a started piece's blocks go to the first source", sources: 'S=####/3 W=web/2q4', wanted: '2 2', ahead: [1], asks: 'S:0.0,0.1 W:1.0,1.1' },
  { name: "an idle seed peer gets nothing when the web seed's queue holds every unasked block", sources: 'S=#### W=web/0q8', wanted: '2 2', asks: '' },
  { name: "but it takes a block look-ahead did not take, even when the queue's bytes would cover it", sources: 'S=#### W=web/0q8', wanted: '2 2 1', ahead: [0, 1], asks: 'S:2.0' },
  { name: 'an idle seed peer takes what lies beyond a queue that holds all but one block', sources: 'S=#### W=web/0q3', wanted: '2 2', asks: 'S:1.1' },
  { name: "two seed peers both leave the web seed's queue to it and share what lies beyond", sources: 'S=####/1 T=####/2 W=web/0q3', wanted: '4 2', asks: 'S:0.3 T:1.0,1.1' },
  { name: "a block a leecher took does not count in the web seed's queue", sources: 'L=#.../1 S=####/2 W=web/0q2', wanted: '3 2', asks: 'L:0.0 S:1.0,1.1' },
  { name: 'a web seed with no free request slot still keeps its queue from seed peers', sources: 'S=#### W=web/0q2', wanted: '2 1', asks: 'S:1.0' },
  { name: 'a web seed that does not keep up keeps no queue from seed peers', sources: 'S=#### W=web/0q2k', wanted: '2 1', asks: 'S:0.0,0.1,1.0' },
  { name: 'a web seed with no queue yet (no rate measured) leaves a seed peer its slots and its backlog', sources: 'S=####/1 W=web/8', wanted: '4 1', backlog: 2, asks: 'S:0.0 W:0.3,1.0' },
  { name: "a seed peer's backlog lies beyond the web seed's queue: the web seed takes its queue's blocks", sources: 'S=####/1 W=web/2q2', wanted: '4 2', backlog: 2, asks: 'S:0.2 W:0.0,0.1' },
  { name: 'a slow mirror holding 8 blocks of queue, a seed peer idle at 50 MiB/s: the peer takes the far end, the mirror keeps its oldest block', sources: 'S=####/8r50 W=web/0q8r2', wanted: '4 4', asks: 'S:0.1,0.2,0.3,1.0,1.1,1.2,1.3' },
  { name: 'a fast mirror keeps its queue from a seed peer 25 x slower', sources: 'S=####/8r2 W=web/0q8r50', wanted: '4 4', asks: '' },
  { name: 'equal rates split the queue in half, the seed peer the far half', sources: 'S=####/8r4 W=web/0q8r4', wanted: '4 4', asks: 'S:1.0,1.1,1.2,1.3' },
  { name: 'the mirror with room takes its share, the oldest; the seed peer the far end; its backlog lies beyond', sources: 'S=####/2r50 W=web/2q8r2', wanted: '4 4', backlog: 1, asks: 'S:0.1,0.2 W:0.0,1.0' },
  { name: 'a seed peer not measured yet takes a probe from the far end of the queue', sources: 'S=####/8 W=web/0q8r2', wanted: '4 4', probe: 2, asks: 'S:1.2,1.3' },
  { name: 'a seed peer measured slow still takes its probe beyond its share', sources: 'S=####/8r2 W=web/0q8r50', wanted: '4 4', probe: 2, asks: 'S:1.2,1.3' },
  { name: 'a busy seed peer counts by its rate only, a probe is for one with free slots', sources: 'S=####/0r2 T=####/8 W=web/0q8r2', wanted: '4 4', probe: 2, asks: 'T:0.2,0.3,1.0,1.1,1.2,1.3' },
  { name: 'a web seed not measured yet keeps its whole queue, whatever the seed peer', sources: 'S=####/8r50 W=web/0q8', wanted: '4 4', asks: '' },
  { name: 'two mirrors: the seed peer takes the far end of their summed queues by their summed rate', sources: 'S=####/8r4 W=web/0q4r2 V=web/0q4r2', wanted: '4 4', asks: 'S:1.0,1.1,1.2,1.3' },
  { name: "a seed peer takes a piece pinned to it even inside the web seed's queue", sources: 'S=####/2 W=web/0q8', wanted: '2', rules: [[0, { oneSource: true, pinned: 'S' }]], asks: 'S:0.0,0.1' },
  { name: 'a piece avoids a source that sent bad bytes when another has it', sources: 'A=#### B=####', wanted: '1', rules: [[0, { avoid: new Set(['A']) }]], asks: 'B:0.0' },
  { name: 'an avoided source is asked when it alone has the piece', sources: 'A=#### B=.###', wanted: '1', rules: [[0, { avoid: new Set(['A']) }]], asks: 'A:0.0' },
  { name: 'a one-source piece goes wholly to one source, fewest strikes first', sources: 'A=####/2s B=####/2', wanted: '3', rules: [[0, { oneSource: true }]], asks: 'B:0.0,0.1' },
  { name: 'a one-source piece stays with its pin', sources: 'A=####/2 B=####/2', wanted: '3', rules: [[0, { oneSource: true, pinned: 'A' }]], asks: 'A:0.0,0.1' },
  {
    name: 'reclaim: when a leecher announces a piece, its blocks asked only of seeds go to the leecher',
    sources: 'S=####/0 L=#...',
    wanted: '2',
    asked: { S: ['0.0', '0.1'] },
    reclaim: [0],
    asks: 'L:0.0,0.1',
    cancels: 'S:0.0,0.1',
  },
  { name: 'reclaim leaves the blocks with a seed that sends them sooner than the leecher would', sources: 'S=####/0r20f2 L=#.../r5', wanted: '2', asked: { S: ['0.0', '0.1'] }, reclaim: [0], asks: '', cancels: '' },
  { name: 'reclaim leaves a piece alone when no leecher that keeps up has it', sources: 'S=####/0 L=#.../k', wanted: '1', asked: { S: ['0.0'] }, reclaim: [0], asks: '', cancels: '' },
];

describe('scheduler', () => {
  for (const r of rows) {
    it(r.name, () => {
      const ahead = (p: number) => r.ahead?.includes(p) ?? true;
      const d = scheduleTurn({
        book: book(r.wanted, r.asked, ahead),
        sources: sources(r.sources),
        now: r.now ?? 0,
        endgame: r.endgame ?? false,
        rules: new Map((r.rules ?? []).map(([p, rule]) => [pieceIndex(p), rule])),
        reclaim: (r.reclaim ?? []).map(pieceIndex),
        pieceLength: PIECE,
        ...(r.backlog !== undefined ? { peerBacklog: r.backlog } : {}),
        ahead,
        probeBytes: (r.probe ?? 0) * BLOCK_BYTES,
      });
      assert.equal(render(d.asks), r.asks);
      if (r.cancels !== undefined) assert.equal(render(d.cancels), r.cancels);
    });
  }

  it('asks of one turn never name a block twice, whatever the mix (property)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      let x = seed;
      const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const mask = () => Array.from({ length: 6 }, () => (rnd() < 0.5 ? '#' : '.')).join('');
      const spec = `A=${mask()}/${1 + Math.floor(rnd() * 6)} B=${mask()}/${1 + Math.floor(rnd() * 6)} C=######/${Math.floor(rnd() * 4)} W=web/${1 + Math.floor(rnd() * 10)}`;
      const wanted = Array.from({ length: 6 }, () => String(Math.floor(rnd() * 4))).join(' ');
      const d = scheduleTurn({ book: book(wanted), sources: sources(spec), now: 0, endgame: false, rules: new Map(), reclaim: [], pieceLength: PIECE });
      const all = d.asks.flatMap((a) => a.blocks.map((b) => `${b.piece}:${b.offset}`));
      assert.equal(new Set(all).size, all.length, `${spec} | ${wanted}: ${render(d.asks)}`);
      for (const a of d.asks) for (const b of a.blocks) assert.ok(sources(spec).find((s) => s.handle === a.handle)!.has(b.piece), `${a.handle} has ${b.piece}`);
    }
  });

  it('the shorthand itself: blocks are 16 KiB from offset 0', () => {
    assert.deepEqual(block('2.3'), { piece: 2, offset: 3 * 16384, length: 16384 });
  });
});
