/**
 * A swarm announced where others look (tracker, LSD): look-ahead waits a
 * moment for its first peer (src/sync/trading-swarm.ts, hooked in
 * peers-on-need.ts). Tables with an injected clock, and what PeersOnNeed
 * hands the engine, with a stand-in swarm and engine.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pieceIndex } from '../../src/core/ids.js';
import type { Engine, PeerFacts } from '../../src/engine/engine.js';
import { leftToPeers } from '../../src/engine/look-ahead.js';
import { PeersOnNeed } from '../../src/sync/peers-on-need.js';
import type { StartReason } from '../../src/sync/swarm-start.js';
import { awaitingFirstPeer, expectsPeers, FIRST_PEER_WAIT_MS } from '../../src/sync/trading-swarm.js';
import type { EnginePort } from '../../src/swarm/swarm-options.js';
import type { SyncPeers } from '../../src/swarm/sync-peers.js';

const P0 = pieceIndex(0);

/** A swarm whose state the test sets: `connected` peers, `seeds` of them seeds, discovery on or off. */
function swarmState() {
  const st = { connected: 0, seeds: 0, discovering: true };
  const facts: PeerFacts = {
    availability: () => st.seeds,
    get seeds() {
      return st.seeds;
    },
    get connected() {
      return st.connected;
    },
    discovering: () => st.discovering,
  };
  return { st, facts };
}

/** Whether look-ahead leaves piece 0 to the peers, as the engine decides it with this view. */
const left = (f: PeerFacts) => leftToPeers(f.availability(P0), f.seeds, f.connected);

describe('look-ahead waits for the first peer of an announced swarm', () => {
  test('which start reasons wait', () => {
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
    for (const [reason, want] of rows) assert.equal(expectsPeers(reason), want, String(reason));
  });

  test('steps: [ms since the first look, connected, seeds, discovering] -> left to the peers', () => {
    const rows: { name: string; steps: [number, number, number, boolean, boolean][] }[] = [
      { name: 'no peer yet: waits, then the wait ends', steps: [[0, 0, 0, true, true], [FIRST_PEER_WAIT_MS - 1, 0, 0, true, true], [FIRST_PEER_WAIT_MS, 0, 0, true, false], [FIRST_PEER_WAIT_MS + 5, 0, 0, true, false]] },
      { name: 'the seed connects: seeds only, look-ahead takes its pieces again', steps: [[0, 0, 0, true, true], [300, 1, 1, true, false]] },
      { name: 'leechers connect first, holding nothing: the wait goes on until the seed', steps: [[0, 0, 0, true, true], [300, 3, 0, true, true], [400, 4, 1, true, true], [500, 0, 0, true, false]] },
      { name: 'discovery ends with nobody: no wait', steps: [[0, 0, 0, false, false], [10, 0, 0, true, false]] },
      { name: 'a seed and a leecher: the seed\'s pieces are the swarm\'s', steps: [[0, 2, 1, true, true]] },
    ];
    for (const r of rows) {
      const { st, facts } = swarmState();
      let t = 1000;
      const view = awaitingFirstPeer(facts, () => t);
      for (const [at, connected, seeds, discovering, want] of r.steps) {
        t = 1000 + at;
        Object.assign(st, { connected, seeds, discovering });
        assert.equal(left(view), want, `${r.name} @${at}`);
      }
    }
  });

  test('the view passes the rest through', () => {
    const { st, facts } = swarmState();
    Object.assign(st, { connected: 3, seeds: 1, discovering: false });
    const v = awaitingFirstPeer({ ...facts, availability: (p) => p, unreachable: () => ['x:1'] }, () => 0);
    assert.equal(v.availability(pieceIndex(7)), 7);
    assert.equal(v.connected, 3);
    assert.equal(v.seeds, 1);
    assert.equal(v.discovering(), false);
    assert.deepEqual(v.unreachable?.(), ['x:1']);
  });

  for (const [reason, want] of [
    ['trackers', true],
    ['web-seed-stalled', false],
  ] as const) {
    test(`PeersOnNeed started for ${reason}: before any peer, look-ahead ${want ? 'waits' : 'takes the piece'}`, async () => {
      const seen: PeerFacts[] = [];
      const { facts } = swarmState();
      const engine = { attachPeers: (f: PeerFacts) => seen.push(f), add: () => {}, announced: () => {}, availabilityChanged: () => {} } as unknown as Engine;
      const swarm = { attach: (e: EnginePort) => e.attachPeers(facts), pieceVerified: () => {}, close: async () => {} } as unknown as SyncPeers;
      const on = new PeersOnNeed(
        async () => swarm,
        () => {},
        () => {},
        () => 5,
      );
      await on.start(reason);
      on.attach(engine, []);
      await on.close();
      assert.equal(left(seen.at(-1)!), want);
    });
  }
});
