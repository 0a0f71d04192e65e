/**
 * BEP 15 connection ids, stateless in principle (BEP 15 leaves their making
 * to the tracker): the first 8 bytes of an HMAC-SHA1 of the client's address
 * and the minute ("slot"). Not of its port: libtorrent reuses one connection
 * id across the sockets it announces from. An id is accepted in its own slot
 * and the next, so it lives one to two minutes, as BEP 15 asks.
 *
 * The MAC was most of the cost of a UDP announce, and a client announces
 * with one id for a minute, so the ids of each address's current and
 * previous slot are remembered, as two 32-bit halves (no BigInt per
 * packet). At most `max` addresses are remembered; beyond that the memory
 * is dropped wholesale and ids are computed again.
 */
import { createHmac } from 'node:crypto';

interface Known {
  slot: number;
  hi: number;
  lo: number;
  prevHi: number;
  prevLo: number;
}

export class ConnectionIds {
  private readonly known = new Map<string, Known>();
  private readonly mac = Buffer.alloc(8);

  constructor(
    private readonly secret: Uint8Array,
    private readonly max: number,
  ) {}

  /** Writes the id of `host` in `slot` (8 bytes, big-endian) to `out` at `at`. */
  write(host: string, slot: number, out: Buffer, at: number): void {
    const k = this.entry(host, slot);
    out.writeUInt32BE(k.hi, at);
    out.writeUInt32BE(k.lo, at + 4);
  }

  /** Whether the id whose big-endian halves are hi and lo was given to `host` in `slot` or the slot before. */
  valid(host: string, slot: number, hi: number, lo: number): boolean {
    const k = this.entry(host, slot);
    return (hi === k.hi && lo === k.lo) || (hi === k.prevHi && lo === k.prevLo);
  }

  private entry(host: string, slot: number): Known {
    let k = this.known.get(host);
    if (k !== undefined && k.slot === slot) return k;
    if (k === undefined) {
      if (this.known.size >= this.max) this.known.clear();
      k = { slot: 0, hi: 0, lo: 0, prevHi: 0, prevLo: 0 };
      this.known.set(host, k);
    }
    if (k.slot === slot - 1) {
      k.prevHi = k.hi;
      k.prevLo = k.lo;
    } else {
      this.compute(host, slot - 1);
      k.prevHi = this.mac.readUInt32BE(0);
      k.prevLo = this.mac.readUInt32BE(4);
    }
    this.compute(host, slot);
    k.hi = this.mac.readUInt32BE(0);
    k.lo = this.mac.readUInt32BE(4);
    k.slot = slot;
    return k;
  }

  private compute(host: string, slot: number): void {
    createHmac('sha1', this.secret).update(`${host}|${slot}`).digest().copy(this.mac, 0, 0, 8);
  }
}
