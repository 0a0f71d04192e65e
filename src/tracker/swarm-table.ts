/**
 * The tracker's memory: which peers announced which torrent, and until when
 * they count. Shared by the HTTP and UDP front ends of `Tracker`, which turn
 * their requests into one `announce()` call (as webtorrent's tracker does).
 *
 * A swarm keeps its peers in four packed lists (peer-list.ts): IPv4
 * leechers, IPv4 seeders, IPv6 leechers, IPv6 seeders; an index maps each
 * peer's key (its compact address and port) to its list and slot. Replies
 * are written straight from the lists' bytes (`Picked.copy`), so an
 * announce allocates no object per peer.
 *
 * Invariants:
 *   - a peer is keyed by its address and port (the address taken from the
 *     socket), so one host cannot register the same port twice under
 *     different peer ids, and `stopped` from that address removes it;
 *   - a peer is in exactly one list, the one of its family and kind; a
 *     leecher that reports left=0 moves to the seeders' list;
 *   - memory is bounded: at most `maxTorrents` swarms, `maxPeersPerTorrent`
 *     peers in each and `maxPeers` in all; beyond that new entries are
 *     refused (announces are still answered with the peers already known);
 *   - a peer that has not announced for `peerTtl` seconds is gone: expired
 *     lazily when its swarm is touched and by `sweep()`, which the Tracker
 *     calls on a timer.
 *
 * Peer selection: a walk over the candidates (one virtual array of the lists
 * the announcer may get) from a random start with a random stride coprime
 * with their number, so each candidate is equally likely, no candidate comes
 * twice, the announcer is skipped, and a pick costs O(numwant) whatever the
 * swarm's size. A seeder gets only leechers (BEP 3 leaves it to the tracker;
 * seeders have nothing to trade with each other).
 *
 * Time and randomness come in as arguments, so tests drive them. Pure: no I/O.
 */
import { decodeCompactPeers, type PeerAddress } from './compact-peers.js';
import { PEER_ID_BYTES, PeerList, peerKey, type PeerKey } from './peer-list.js';
import type { AnnounceEvent } from './udp-wire.js';

/** List numbers: family base (IPv4 0, IPv6 2) + 1 for seeders. */
const SEEDER = 1;
const V6 = 2;
const LISTS = 4;
/** An index entry is slot * LISTS + list. */
const SLOT_SHIFT = 2;

interface Swarm {
  readonly lists: PeerList[];
  readonly index: Map<PeerKey, number>;
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
  /** The announcer's compact entry: 4-byte IPv4 address + port (6 bytes) or 16-byte IPv6 + port (18 bytes). */
  readonly compact: Uint8Array;
  readonly left: number;
  readonly event: AnnounceEvent;
  /** Already capped by the caller. */
  readonly numwant: number;
  /** The families the reply can carry: both (HTTP: peers and peers6), or only 4 or 6 (BEP 15: the request's own). */
  readonly families: 'both' | 4 | 6;
}

export interface AnnounceOutput {
  readonly seeders: number;
  readonly leechers: number;
  /** Set when the announce could not be stored (table full); the peers are still given. */
  readonly notStored?: string;
}

export interface SwarmStats {
  readonly infoHash: string;
  readonly seeders: number;
  readonly leechers: number;
  readonly completed: number;
}

/** A peer as the dictionary model (BEP 3) and tests see it. */
export interface PickedPeer extends PeerAddress {
  readonly peerId: Uint8Array;
  readonly family: 4 | 6;
}

/**
 * The peers chosen by the last announce, as (list, slot) pairs: valid until the table's next
 * announce, read straight into a reply.
 */
export class Picked {
  count = 0;
  /** How many of the picks are IPv4 and IPv6. */
  v4 = 0;
  v6 = 0;
  private readonly lists: PeerList[] = [];
  private readonly slots: number[] = [];

  clear(): void {
    this.count = this.v4 = this.v6 = 0;
  }

  push(list: PeerList, slot: number): void {
    this.lists[this.count] = list;
    this.slots[this.count++] = slot;
    if (list.entry === 6) this.v4++;
    else this.v6++;
  }

  /** Copies the compact entries of one size (6: IPv4, 18: IPv6) to `out` at `at`; returns the offset after them. */
  copy(entry: number, out: Uint8Array, at: number): number {
    for (let i = 0; i < this.count; i++) {
      const list = this.lists[i]!;
      if (list.entry === entry) at = list.copyEntry(this.slots[i]!, out, at);
    }
    return at;
  }

  /** The picks as objects (the dictionary model; tests). */
  peers(): PickedPeer[] {
    const out: PickedPeer[] = [];
    for (let i = 0; i < this.count; i++) {
      const list = this.lists[i]!;
      const slot = this.slots[i]!;
      const family = list.entry === 6 ? 4 : 6;
      const addr = decodeCompactPeers(list.bytes.subarray(slot * list.entry, (slot + 1) * list.entry), family)[0]!;
      out.push({ host: addr.host, port: addr.port, family, peerId: list.ids.slice(slot * PEER_ID_BYTES, (slot + 1) * PEER_ID_BYTES) });
    }
    return out;
  }
}

/** A swarm's key: the infohash's 20 bytes as a latin1 string (half the length of hex). */
function hashKey(h: Uint8Array): string {
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('latin1');
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const r = a % b;
    a = b;
    b = r;
  }
  return a;
}

export class SwarmTable {
  /** The peers chosen by the last announce; overwritten by the next. */
  readonly picked = new Picked();
  private readonly swarms = new Map<string, Swarm>();
  private total = 0;
  /** The candidate lists of the pick under way (at most four). */
  private readonly candidates: PeerList[] = [];
  /** A peer's compact entry while it moves between lists. */
  private readonly moving = new Uint8Array(18);

  /** `random` returns a number in [0, 1), as Math.random. */
  constructor(
    private readonly limits: SwarmLimits,
    private readonly random: () => number,
  ) {}

  get torrentCount(): number {
    return this.swarms.size;
  }

  get peerCount(): number {
    return this.total;
  }

  announce(a: AnnounceInput, now: number): AnnounceOutput {
    this.picked.clear();
    const ih = hashKey(a.infoHash);
    const entry = a.compact.length;
    const key = peerKey(a.compact, 0, entry);
    let swarm = this.swarms.get(ih);
    if (swarm) this.expire(swarm, now, false);
    if (a.event === 'stopped') {
      if (!swarm) return { seeders: 0, leechers: 0 };
      this.remove(swarm, key);
      const out = counted(swarm);
      if (out.seeders + out.leechers === 0 && swarm.completed === 0) this.swarms.delete(ih);
      return out;
    }
    if (!swarm) {
      if (this.swarms.size >= this.limits.maxTorrents) return { seeders: 0, leechers: 0, notStored: `tracker holds its maximum of ${this.limits.maxTorrents} torrents` };
      swarm = { lists: [new PeerList(6), new PeerList(6), new PeerList(18), new PeerList(18)], index: new Map(), completed: 0, sweptAt: now };
      this.swarms.set(ih, swarm);
    }
    const seeder = a.left === 0;
    const want = (entry === 6 ? 0 : V6) + (seeder ? SEEDER : 0);
    const expires = now + this.limits.peerTtl * 1000;
    let at = swarm.index.get(key);
    let notStored: string | undefined;
    if (at !== undefined) {
      const list = swarm.lists[at & (LISTS - 1)]!;
      const slot = at >>> SLOT_SHIFT;
      if ((at & (LISTS - 1)) === want) {
        list.setId(slot, a.peerId);
        list.expires[slot] = expires;
      } else {
        // Its kind changed: out of one list, into the other, same key.
        list.copyEntry(slot, this.moving, 0);
        this.remove(swarm, key);
        at = this.add(swarm, want, key, this.moving, a.peerId, expires);
      }
    } else if (this.listed(swarm) >= this.limits.maxPeersPerTorrent) {
      notStored = `torrent holds its maximum of ${this.limits.maxPeersPerTorrent} peers`;
    } else if (this.total >= this.limits.maxPeers) {
      notStored = `tracker holds its maximum of ${this.limits.maxPeers} peers`;
    } else at = this.add(swarm, want, key, a.compact, a.peerId, expires);
    if (a.event === 'completed' && at !== undefined) swarm.completed++;
    this.pick(swarm, a, seeder, at);
    const out = counted(swarm);
    return notStored ? { ...out, notStored } : out;
  }

  /** Counts of one torrent (scrape), zeros when unknown. */
  counts(infoHash: Uint8Array, now: number): { seeders: number; leechers: number; completed: number } {
    const swarm = this.swarms.get(hashKey(infoHash));
    if (!swarm) return { seeders: 0, leechers: 0, completed: 0 };
    this.expire(swarm, now, false);
    return { ...counted(swarm), completed: swarm.completed };
  }

  stats(): SwarmStats[] {
    return [...this.swarms].map(([key, s]) => ({ infoHash: Buffer.from(key, 'latin1').toString('hex'), ...counted(s), completed: s.completed }));
  }

  /** Drops every expired peer, and swarms left with no peer and no completed count. */
  sweep(now: number): void {
    for (const [ih, s] of this.swarms) {
      this.expire(s, now, true);
      if (this.listed(s) === 0 && s.completed === 0) this.swarms.delete(ih);
    }
  }

  private listed(s: Swarm): number {
    return s.lists[0]!.count + s.lists[1]!.count + s.lists[2]!.count + s.lists[3]!.count;
  }

  private add(s: Swarm, list: number, key: PeerKey, compact: Uint8Array, peerId: Uint8Array, expires: number): number {
    const at = s.lists[list]!.add(key, compact, 0, peerId, expires) * LISTS + list;
    s.index.set(key, at);
    this.total++;
    return at;
  }

  /** A full scan of a swarm costs O(peers), so a lazy sweep runs at most once per tenth of the TTL. */
  private expire(s: Swarm, now: number, force: boolean): void {
    if (!force && now - s.sweptAt < (this.limits.peerTtl * 1000) / 10) return;
    s.sweptAt = now;
    for (const list of s.lists) {
      // From the end: the entry a removal moves into slot i was checked already.
      for (let i = list.count - 1; i >= 0; i--) if (list.expires[i]! <= now) this.remove(s, list.keyAt(i));
    }
  }

  private remove(s: Swarm, key: PeerKey): void {
    const at = s.index.get(key);
    if (at === undefined) return;
    const n = at & (LISTS - 1);
    const slot = at >>> SLOT_SHIFT;
    const moved = s.lists[n]!.removeAt(slot);
    if (moved !== undefined) s.index.set(moved, slot * LISTS + n);
    s.index.delete(key);
    this.total--;
  }

  /** Fills `picked` for the announcer (index entry `self`, undefined when not stored). */
  private pick(s: Swarm, a: AnnounceInput, seeder: boolean, self: number | undefined): void {
    const c = this.candidates;
    c.length = 0;
    let n = 0;
    for (let i = 0; i < LISTS; i++) {
      const family = i < V6 ? 4 : 6;
      if ((a.families !== 'both' && a.families !== family) || (seeder && (i & SEEDER) !== 0)) continue;
      c.push(s.lists[i]!);
      n += s.lists[i]!.count;
    }
    const selfList = self === undefined ? undefined : s.lists[self & (LISTS - 1)];
    const selfSlot = self === undefined ? -1 : self >>> SLOT_SHIFT;
    if (a.numwant <= 0 || n === 0) return;
    let v = Math.floor(this.random() * n);
    let step = n === 1 ? 1 : 1 + Math.floor(this.random() * (n - 1));
    while (gcd(step, n) !== 1) step = (step % (n - 1)) + 1;
    for (let j = 0; j < n && this.picked.count < a.numwant; j++, v = (v + step) % n) {
      let slot = v;
      let k = 0;
      while (slot >= c[k]!.count) slot -= c[k++]!.count;
      if (c[k] === selfList && slot === selfSlot) continue;
      this.picked.push(c[k]!, slot);
    }
  }
}

function counted(s: Swarm): { seeders: number; leechers: number } {
  return { seeders: s.lists[SEEDER]!.count + s.lists[V6 + SEEDER]!.count, leechers: s.lists[0]!.count + s.lists[V6]!.count };
}
