/** The tracker's peer table: counts, events, expiry, numwant, memory caps (time and randomness driven by the test). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeCompactV4, encodeCompactV6 } from '../../src/tracker/compact-peers.js';
import { SwarmTable as Table, type AnnounceInput, type AnnounceOutput, type PickedPeer, type SwarmLimits } from '../../src/tracker/swarm-table.js';

const IH = new Uint8Array(20).fill(1);
const IH2 = new Uint8Array(20).fill(2);
const id = (n: number): Uint8Array => new Uint8Array(20).fill(n);
const limits = { maxTorrents: 10, maxPeersPerTorrent: 100, maxPeers: 1000, peerTtl: 60 };

/** A seeded generator (mulberry32), so a failing sample is reproducible. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Input = Omit<AnnounceInput, 'compact' | 'families'> & { host: string; port: number; families?: AnnounceInput['families'] };

/** The table under test, announcing by host and port and returning the picked peers as objects. */
class SwarmTable {
  readonly t: Table;
  constructor(l: SwarmLimits, seed = 1) {
    this.t = new Table(l, seeded(seed));
  }
  get torrentCount(): number {
    return this.t.torrentCount;
  }
  get peerCount(): number {
    return this.t.peerCount;
  }
  announce(i: Input, now: number): AnnounceOutput & { peers: PickedPeer[] } {
    const compact = encodeCompactV4(i.host, i.port) ?? encodeCompactV6(i.host, i.port)!;
    const out = this.t.announce({ ...i, compact, families: i.families ?? 'both' }, now);
    return { ...out, peers: this.t.picked.peers() };
  }
  counts(h: Uint8Array, now: number): ReturnType<Table['counts']> {
    return this.t.counts(h, now);
  }
  stats(): ReturnType<Table['stats']> {
    return this.t.stats();
  }
  sweep(now: number): void {
    this.t.sweep(now);
  }
}

function a(port: number, over: Partial<Input> = {}): Input {
  return { infoHash: IH, peerId: id(port & 0xff), host: '10.0.0.1', port, left: 100, event: 'started', numwant: 50, ...over };
}

test('swarm table: seeders and leechers counted, the announcer never gets itself, a seeder gets only leechers', () => {
  const t = new SwarmTable(limits);
  assert.deepEqual(t.announce(a(1), 0).peers, []);
  const r2 = t.announce(a(2), 0);
  assert.deepEqual(r2.peers.map((p) => p.port), [1]);
  const r3 = t.announce(a(3, { left: 0 }), 0);
  assert.equal(r3.seeders, 1);
  assert.equal(r3.leechers, 2);
  assert.deepEqual(r3.peers.map((p) => p.port).sort(), [1, 2]);
  t.announce(a(4, { left: 0 }), 0);
  const seederView = t.announce(a(3, { left: 0, event: '' }), 0).peers.map((p) => p.port).sort();
  assert.deepEqual(seederView, [1, 2], 'seeder 4 is not given to seeder 3');
  // Leecher 2 finishes: completed counted once, becomes a seeder.
  const done = t.announce(a(2, { left: 0, event: 'completed' }), 0);
  assert.equal(done.seeders, 3);
  assert.equal(done.leechers, 1);
  assert.deepEqual(t.counts(IH, 0), { seeders: 3, leechers: 1, completed: 1 });
});

test('swarm table: stopped removes the peer; a torrent with no peers and no completions disappears', () => {
  const t = new SwarmTable(limits);
  t.announce(a(1), 0);
  t.announce(a(2), 0);
  t.announce(a(2, { event: 'stopped' }), 0);
  assert.deepEqual(t.counts(IH, 0), { seeders: 0, leechers: 1, completed: 0 });
  assert.equal(t.peerCount, 1);
  t.announce(a(1, { event: 'stopped' }), 0);
  assert.equal(t.torrentCount, 0);
  assert.deepEqual(t.stats(), []);
});

test('swarm table: peers expire after the TTL, lazily and by sweep, and a re-announce refreshes them', () => {
  const t = new SwarmTable(limits);
  t.announce(a(1), 0);
  t.announce(a(2), 0);
  t.announce(a(2, { event: '' }), 50_000);
  t.announce({ ...a(9), infoHash: IH2 }, 0);
  // 61 s: peer 1 (last seen at 0) is gone, peer 2 (seen at 50 s) stays.
  const r = t.announce(a(3), 61_000);
  assert.deepEqual(r.peers.map((p) => p.port).sort(), [2]);
  t.sweep(61_000);
  assert.equal(t.torrentCount, 1, 'the other torrent had only an expired peer');
  t.sweep(200_000);
  assert.equal(t.peerCount, 0);
  assert.equal(t.torrentCount, 0);
});

test('swarm table: numwant bounds the list and the list is a random sample of a large swarm', () => {
  const t = new SwarmTable({ ...limits, maxPeersPerTorrent: 1000 });
  for (let p = 1; p <= 500; p++) t.announce(a(p), 0);
  const seen = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const r = t.announce(a(1000, { event: '' }), 0);
    assert.equal(r.peers.length, 50);
    assert.equal(new Set(r.peers.map((p) => p.port)).size, 50, 'no duplicates');
    assert.ok(!r.peers.some((p) => p.port === 1000));
    for (const p of r.peers) seen.add(p.port);
  }
  assert.ok(seen.size > 300, `20 samples of 50 from 500 cover most of them (${seen.size})`);
  assert.equal(t.announce(a(1000, { numwant: 0 }), 0).peers.length, 0);
});

test('swarm table: caps on torrents, peers per torrent and peers in all; a refused announce still gets peers', () => {
  const t = new SwarmTable({ maxTorrents: 2, maxPeersPerTorrent: 3, maxPeers: 4, peerTtl: 60 });
  for (let p = 1; p <= 3; p++) t.announce(a(p), 0);
  const full = t.announce(a(4), 0);
  assert.match(full.notStored!, /maximum of 3 peers/);
  assert.equal(full.peers.length, 3);
  t.announce({ ...a(5), infoHash: IH2 }, 0);
  const overall = t.announce({ ...a(6), infoHash: IH2 }, 0);
  assert.match(overall.notStored!, /maximum of 4 peers/);
  const third = t.announce({ ...a(7), infoHash: new Uint8Array(20).fill(3) }, 0);
  assert.match(third.notStored!, /maximum of 2 torrents/);
  assert.equal(t.torrentCount, 2);
  assert.equal(t.peerCount, 4);
});

test('swarm table: IPv6 peers are stored with 18-byte compact entries', () => {
  const t = new SwarmTable(limits);
  t.announce(a(1, { host: '2001:db8::1' }), 0);
  const r = t.announce(a(2), 0);
  assert.equal(r.peers[0]!.family, 6);
  assert.equal(r.peers[0]!.host, '2001:db8::1');
  assert.deepEqual(r.peers[0]!.peerId, id(1));
});
