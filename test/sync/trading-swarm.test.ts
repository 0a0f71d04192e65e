/**
 * A swarm announced where others look (tracker, LSD) expects leechers: the
 * engine's look-ahead leaves the seed's pieces to the swarm from the first
 * turn (src/sync/trading-swarm.ts, hooked in peers-on-need.ts). Tables, and
 * what PeersOnNeed hands the engine, with a stand-in swarm and engine.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine, PeerFacts } from '../../src/engine/engine.js';
import { leftToPeers } from '../../src/engine/look-ahead.js';
import { pieceIndex } from '../../src/core/ids.js';
import { PeersOnNeed } from '../../src/sync/peers-on-need.js';
import type { StartReason } from '../../src/sync/swarm-start.js';
import { expectsLeechers, withExpectedLeecher } from '../../src/sync/trading-swarm.js';
import type { EnginePort } from '../../src/swarm/swarm-options.js';
import type { SyncPeers } from '../../src/swarm/sync-peers.js';

/** The swarm's own view: `seeds` seeds and `leechers` leechers connected, every seed's pieces counted. */
function facts(seeds: number, leechers: number): PeerFacts {
  return { availability: () => seeds, seeds, connected: seeds + leechers, discovering: () => true };
}

describe('trading swarm', () => {
  test('which start reasons expect leechers', () => {
    const rows: [StartReason | undefined, boolean][] = [
      ['trackers', true],
      ['lsd', true],
      ['no-web-seed', false],
      ['magnet', false],
      ['seeding', false],
      ['web-seed-dropped', false],
      ['web-seed-stalled', false],
      ['web-seed-slow', false],
      [undefined, false],
    ];
    for (const [reason, want] of rows) assert.equal(expectsLeechers(reason), want, String(reason));
  });

  test('connected counts one leecher beside the seeds until one connects', () => {
    // [seeds, leechers connected] -> connected as the engine sees it
    const rows: [number, number, number][] = [
      [0, 0, 1],
      [1, 0, 2],
      [2, 0, 3],
      [1, 1, 2],
      [1, 5, 6],
      [0, 3, 3],
    ];
    for (const [s, l, want] of rows) assert.equal(withExpectedLeecher(facts(s, l)).connected, want, `${s} seeds, ${l} leechers`);
  });

  test("look-ahead leaves a seed's piece to the swarm with only the seed connected", () => {
    const own = facts(1, 0);
    assert.equal(leftToPeers(own.availability(pieceIndex(0)), own.seeds, own.connected), false, 'the swarm as it is: taken for the web seed');
    const seen = withExpectedLeecher(own);
    assert.equal(leftToPeers(seen.availability(pieceIndex(0)), seen.seeds, seen.connected), true);
  });

  test('the view follows the swarm', () => {
    let seeds = 0;
    let connected = 0;
    const live: PeerFacts = {
      availability: (p) => p,
      get seeds() {
        return seeds;
      },
      get connected() {
        return connected;
      },
      discovering: () => false,
      unreachable: () => ['x:1'],
    };
    const v = withExpectedLeecher(live);
    assert.equal(v.connected, 1);
    seeds = 1;
    connected = 4;
    assert.equal(v.seeds, 1);
    assert.equal(v.connected, 4);
    assert.equal(v.availability(pieceIndex(7)), 7);
    assert.equal(v.discovering(), false);
    assert.deepEqual(v.unreachable?.(), ['x:1']);
  });

  for (const [reason, want] of [
    ['trackers', 2],
    ['web-seed-stalled', 1],
  ] as const) {
    test(`PeersOnNeed started for ${reason}: the engine sees ${want} connected with one seed`, async () => {
      const seen: PeerFacts[] = [];
      const engine = { attachPeers: (f: PeerFacts) => seen.push(f), add: () => {}, announced: () => {}, availabilityChanged: () => {} } as unknown as Engine;
      const swarm = { attach: (e: EnginePort) => e.attachPeers(facts(1, 0)), pieceVerified: () => {}, close: async () => {} } as unknown as SyncPeers;
      const on = new PeersOnNeed(
        async () => swarm,
        () => {},
        () => {},
      );
      await on.start(reason);
      on.attach(engine, []);
      await on.close();
      assert.equal(seen.at(-1)?.connected, want);
    });
  }
});
