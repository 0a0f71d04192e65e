/**
 * The tracker's memory: which peers announced which torrent, and until when
 * they count. Shared by the HTTP and UDP front ends of `Tracker`, which turn
 * their requests into one `announce()` call (as webtorrent's tracker does).
 *
 * Invariants:
 *   - a peer is keyed by its address and port ("ip:port", the address taken
 *     from the socket), so one host cannot register the same port twice
 *     under different peer ids, and `stopped` from that address removes it;
 *   - seeders + leechers of a swarm always equal its peer count (kept as
 *     counters so that scrape and /status are O(1) per torrent);
 *   - memory is bounded: at most `maxTorrents` swarms and `maxPeersPerTorrent`
 *     peers in each; beyond that new entries are refused (announces are still
 *     answered with the peers already known);
 *   - a peer that has not announced for `peerTtl` seconds is gone: expired
 *     lazily when its swarm is touched and by `sweep()`, which the Tracker
 *     calls on a timer.
 *
 * Time comes in as an argument (milliseconds), so tests drive it. Pure: no I/O.
 */
import { encodeCompactV4, encodeCompactV6, isIPv4 } from './compact-peers.js';
import type { AnnounceEvent } from './udp-wire.js';

export interface StoredPeer {
  readonly key: string;
  peerId: Uint8Array;
  readonly host: string;
  readonly port: number;
  /** Compact form: 6 bytes for IPv4, 18 for IPv6. */
  readonly compact: Uint8Array;
  readonly family: 4 | 6;
  seeder: boolean;
  expires: number;
}

interface Swarm {
  /** Dense array for O(1) random sampling; `index` maps key -> position (swap-remove keeps it dense). */
  readonly list: StoredPeer[];
  readonly index: Map<string, number>;
  seeders: number;
  completed: number;
  /** When the swarm was last swept for expired peers (ms). */
  sweptAt: number;
}

export interface SwarmLimits {
  readonly maxTorrents: number;
  readonly maxPeersPerTorrent: number;
  /** Peers over all swarms. */
  readonly maxPeers: number;
  /** Seconds a peer counts after its last announce. */
  readonly peerTtl: number;
}

export interface AnnounceInput {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  /** Normalised address (IPv4-mapped IPv6 already made plain IPv4). */
  readonly host: string;
  readonly port: number;
  readonly left: number;
  readonly event: AnnounceEvent;
  /** Already capped by the caller. */
  readonly numwant: number;
}

export interface AnnounceOutput {
  readonly seeders: number;
  readonly leechers: number;
  /** Other peers of the swarm, at most numwant, in random order; a seeder gets only leechers. */
  readonly peers: readonly StoredPeer[];
  /** Set when the announce could not be stored (table full); the peers are still given. */
  readonly notStored?: string;
}

export interface SwarmStats {
  readonly infoHash: string;
  readonly seeders: number;
  readonly leechers: number;
  readonly completed: number;
}

/** A swarm's key: the infohash's 20 bytes as a latin1 string (no copy, half the length of hex). */
function hashKey(h: Uint8Array): string {
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('latin1');
}

export class SwarmTable {
  private readonly swarms = new Map<string, Swarm>();
  private total = 0;

  constructor(private readonly limits: SwarmLimits) {}

  get torrentCount(): number {
    return this.swarms.size;
  }

  get peerCount(): number {
    return this.total;
  }

  announce(a: AnnounceInput, now: number): AnnounceOutput {
    const ih = hashKey(a.infoHash);
    const key = `${a.host}:${a.port}`;
    let swarm = this.swarms.get(ih);
    if (swarm) this.expire(swarm, now, false);
    if (a.event === 'stopped') {
      if (swarm) {
        this.remove(swarm, key);
        if (swarm.list.length === 0 && swarm.completed === 0) this.swarms.delete(ih);
      }
      return { seeders: swarm?.seeders ?? 0, leechers: swarm ? swarm.list.length - swarm.seeders : 0, peers: [] };
    }
    let notStored: string | undefined;
    if (!swarm) {
      if (this.swarms.size >= this.limits.maxTorrents) {
        notStored = `tracker holds its maximum of ${this.limits.maxTorrents} torrents`;
      } else {
        swarm = { list: [], index: new Map(), seeders: 0, completed: 0, sweptAt: now };
        this.swarms.set(ih, swarm);
      }
    }
    if (!swarm) return { seeders: 0, leechers: 0, peers: [], notStored: notStored! };
    const seeder = a.left === 0;
    const at = swarm.index.get(key);
    const expires = now + this.limits.peerTtl * 1000;
    let self: StoredPeer | undefined;
    if (at !== undefined) {
      self = swarm.list[at]!;
      if (self.seeder !== seeder) swarm.seeders += seeder ? 1 : -1;
      self.seeder = seeder;
      self.peerId = a.peerId;
      self.expires = expires;
    } else if (swarm.list.length >= this.limits.maxPeersPerTorrent) {
      notStored = `torrent holds its maximum of ${this.limits.maxPeersPerTorrent} peers`;
    } else if (this.total >= this.limits.maxPeers) {
      notStored = `tracker holds its maximum of ${this.limits.maxPeers} peers`;
    } else {
      const family = isIPv4(a.host) ? 4 : 6;
      const compact = (family === 4 ? encodeCompactV4(a.host, a.port) : encodeCompactV6(a.host, a.port))!;
      self = { key, peerId: a.peerId, host: a.host, port: a.port, compact, family, seeder, expires };
      swarm.index.set(key, swarm.list.length);
      swarm.list.push(self);
      this.total++;
      if (seeder) swarm.seeders++;
    }
    if (a.event === 'completed' && self) swarm.completed++;
    const peers = this.sample(swarm, a.numwant, key, seeder);
    const out = { seeders: swarm.seeders, leechers: swarm.list.length - swarm.seeders, peers };
    return notStored ? { ...out, notStored } : out;
  }

  /** Counts of one torrent (scrape), zeros when unknown. */
  counts(infoHash: Uint8Array, now: number): { seeders: number; leechers: number; completed: number } {
    const swarm = this.swarms.get(hashKey(infoHash));
    if (!swarm) return { seeders: 0, leechers: 0, completed: 0 };
    this.expire(swarm, now, false);
    return { seeders: swarm.seeders, leechers: swarm.list.length - swarm.seeders, completed: swarm.completed };
  }

  stats(): SwarmStats[] {
    return [...this.swarms].map(([key, s]) => ({ infoHash: Buffer.from(key, 'latin1').toString('hex'), seeders: s.seeders, leechers: s.list.length - s.seeders, completed: s.completed }));
  }

  /** Drops every expired peer, and swarms left with no peer and no completed count. */
  sweep(now: number): void {
    for (const [ih, s] of this.swarms) {
      this.expire(s, now, true);
      if (s.list.length === 0 && s.completed === 0) this.swarms.delete(ih);
    }
  }

  /** A full scan of a swarm costs O(peers), so a lazy sweep runs at most once per tenth of the TTL. */
  private expire(s: Swarm, now: number, force: boolean): void {
    if (!force && now - s.sweptAt < (this.limits.peerTtl * 1000) / 10) return;
    s.sweptAt = now;
    for (let i = s.list.length - 1; i >= 0; i--) {
      const p = s.list[i]!;
      if (p.expires <= now) this.remove(s, p.key);
    }
  }

  private remove(s: Swarm, key: string): void {
    const at = s.index.get(key);
    if (at === undefined) return;
    const p = s.list[at]!;
    const last = s.list.pop()!;
    if (last !== p) {
      s.list[at] = last;
      s.index.set(last.key, at);
    }
    s.index.delete(key);
    this.total--;
    if (p.seeder) s.seeders--;
  }

  private sample(s: Swarm, numwant: number, selfKey: string, seeder: boolean): StoredPeer[] {
    const want = (p: StoredPeer): boolean => p.key !== selfKey && !(seeder && p.seeder);
    const n = s.list.length;
    if (numwant <= 0 || n === 0) return [];
    if (n <= numwant * 2) {
      // Small swarm: a Fisher-Yates shuffle of everyone, stopped once numwant are drawn.
      const all = s.list.filter(want);
      const k = Math.min(numwant, all.length);
      for (let i = 0; i < k; i++) {
        const j = i + Math.floor(Math.random() * (all.length - i));
        const t = all[i]!;
        all[i] = all[j]!;
        all[j] = t;
      }
      all.length = k;
      return all;
    }
    // Large swarm: random probes; bounded so a swarm of seeders asked by a seeder cannot loop long.
    const picked = new Set<number>();
    const out: StoredPeer[] = [];
    for (let tries = 0; out.length < numwant && tries < numwant * 4; tries++) {
      const i = Math.floor(Math.random() * n);
      if (picked.has(i)) continue;
      picked.add(i);
      const p = s.list[i]!;
      if (want(p)) out.push(p);
    }
    return out;
  }
}
