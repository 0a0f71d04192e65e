/**
 * One swarm's peers of one address family and one kind (seeders or
 * leechers), packed: the compact entries (BEP 23: 4-byte address + 2-byte
 * port, big-endian; BEP 7: 16 + 2) side by side in one growable byte array,
 * the 20-byte peer ids in another, the expiry times in a Float64Array. An
 * announce reply copies its peers straight out of `bytes`, and a swarm
 * costs a few arrays instead of an object per peer.
 *
 * Invariants: slots 0..count-1 are live and dense; `removeAt` moves the
 * last entry into the freed slot (swap-remove) and says which key moved, so
 * the owner's index stays right; capacity only grows (doubling from
 * INITIAL_SLOTS) while the list is in use and halves when a quarter full,
 * so a swarm that shrank gives its memory back.
 *
 * Pure: no I/O, no clock (times come in as arguments).
 */

/** A peer's identity in its swarm: its compact address and port (v4 as a number, v6 as a latin1 string). */
export type PeerKey = number | string;

/** BEP 20: peer ids are 20 bytes. */
export const PEER_ID_BYTES = 20;
/** A new list's room, in peers: most swarms hold a handful. */
const INITIAL_SLOTS = 4;

export class PeerList {
  count = 0;
  /** count * entry bytes of compact entries (beyond: stale). */
  bytes: Uint8Array;
  ids: Uint8Array;
  expires: Float64Array;
  private keys: PeerKey[] = [];

  /** `entry`: 6 (IPv4) or 18 (IPv6) bytes per peer. */
  constructor(readonly entry: number) {
    this.bytes = new Uint8Array(INITIAL_SLOTS * entry);
    this.ids = new Uint8Array(INITIAL_SLOTS * PEER_ID_BYTES);
    this.expires = new Float64Array(INITIAL_SLOTS);
  }

  /** Appends a peer (compact entry from `src` at `at`, its id, its expiry); returns its slot. */
  add(key: PeerKey, src: Uint8Array, at: number, peerId: Uint8Array, expires: number): number {
    if (this.count === this.expires.length) this.resize(this.count * 2);
    const slot = this.count++;
    this.keys[slot] = key;
    const b = this.bytes;
    const o = slot * this.entry;
    for (let i = 0; i < this.entry; i++) b[o + i] = src[at + i]!;
    this.setId(slot, peerId);
    this.expires[slot] = expires;
    return slot;
  }

  setId(slot: number, peerId: Uint8Array): void {
    const o = slot * PEER_ID_BYTES;
    const ids = this.ids;
    for (let i = 0; i < PEER_ID_BYTES; i++) ids[o + i] = peerId[i] ?? 0;
  }

  keyAt(slot: number): PeerKey {
    return this.keys[slot]!;
  }

  /** Removes the peer in `slot`; returns the key of the peer moved into it, or undefined when it was the last. */
  removeAt(slot: number): PeerKey | undefined {
    const last = --this.count;
    let moved: PeerKey | undefined;
    if (slot !== last) {
      moved = this.keys[last]!;
      this.keys[slot] = moved;
      this.bytes.copyWithin(slot * this.entry, last * this.entry, (last + 1) * this.entry);
      this.ids.copyWithin(slot * PEER_ID_BYTES, last * PEER_ID_BYTES, (last + 1) * PEER_ID_BYTES);
      this.expires[slot] = this.expires[last]!;
    }
    this.keys.length = last;
    if (last >= INITIAL_SLOTS && last * 4 <= this.expires.length) this.resize(this.expires.length / 2);
    return moved;
  }

  /** Copies the compact entry of `slot` to `out` at `at`; returns the offset after it. */
  copyEntry(slot: number, out: Uint8Array, at: number): number {
    const n = this.entry;
    const b = this.bytes;
    const from = slot * n;
    // Byte by byte: six or eighteen bytes go faster by hand than through a typed-array call each.
    for (let i = 0; i < n; i++) out[at + i] = b[from + i]!;
    return at + n;
  }

  private resize(slots: number): void {
    const bytes = new Uint8Array(slots * this.entry);
    bytes.set(this.bytes.subarray(0, this.count * this.entry));
    const ids = new Uint8Array(slots * PEER_ID_BYTES);
    ids.set(this.ids.subarray(0, this.count * PEER_ID_BYTES));
    const expires = new Float64Array(slots);
    expires.set(this.expires.subarray(0, this.count));
    this.bytes = bytes;
    this.ids = ids;
    this.expires = expires;
  }
}

/**
 * The key of a compact entry (address then port, 6 or 18 bytes at `at`): IPv4 as the number
 * address * 65536 + port (48 bits, exact in a double, no allocation), IPv6 as a latin1 string.
 */
export function peerKey(compact: Uint8Array, at: number, entry: number): PeerKey {
  if (entry === 6) return (((compact[at]! << 24) | (compact[at + 1]! << 16) | (compact[at + 2]! << 8) | compact[at + 3]!) >>> 0) * 65536 + ((compact[at + 4]! << 8) | compact[at + 5]!);
  let s = '';
  for (let i = 0; i < entry; i++) s += String.fromCharCode(compact[at + i]!);
  return s;
}

/**
 * A dotted-quad IPv4 address (each part 0-255, no leading zeros) written as 4 bytes into `out` at
 * `at`; false, with `out` partly written, for anything else. No regular expression, no allocation:
 * it runs on every UDP packet.
 */
export function writeIPv4(host: string, out: Uint8Array, at: number): boolean {
  let part = 0;
  let digits = 0;
  let n = 0;
  for (let i = 0; i <= host.length; i++) {
    const c = i < host.length ? host.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || n > 3) return false;
      out[at + n++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && part === 0) return false;
      part = part * 10 + (c - 0x30);
      if (++digits > 3 || part > 255) return false;
    } else return false;
  }
  return n === 4;
}
