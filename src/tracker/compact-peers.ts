/**
 * Peer addresses as trackers write them.
 *
 * BEP 23 (compact IPv4): 6 bytes per peer, the address then the port, both
 * big-endian. BEP 7 (compact IPv6, `peers6`): 18 bytes per peer, 16 of
 * address then 2 of port. BEP 15 uses the same layouts inside UDP replies.
 *
 * Pure: no I/O.
 */
import { IsosyncError } from '../errors.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** BEP 23 §compact: 4-byte IPv4 address + 2-byte port. */
export const COMPACT_V4_BYTES = 6;
/** BEP 7: 16-byte IPv6 address + 2-byte port. */
export const COMPACT_V6_BYTES = 18;

/**
 * Decodes a compact peer string. Throws BAD_REPLY (the caller names the
 * tracker) when the length is not a whole number of entries. Entries with
 * port 0 are skipped: nobody can connect to them.
 */
export function decodeCompactPeers(bytes: Uint8Array, family: 4 | 6): PeerAddress[] {
  const size = family === 4 ? COMPACT_V4_BYTES : COMPACT_V6_BYTES;
  if (bytes.length % size !== 0) {
    const field = family === 4 ? 'peers' : 'peers6';
    throw new IsosyncError('BAD_REPLY', `Cannot read the tracker's reply: compact ${field} has ${bytes.length} bytes, not a multiple of ${size}`, { field, bytes: bytes.length });
  }
  const out: PeerAddress[] = [];
  for (let off = 0; off < bytes.length; off += size) {
    const port = (bytes[off + size - 2]! << 8) | bytes[off + size - 1]!;
    if (port === 0) continue;
    out.push({ host: family === 4 ? ipv4ToString(bytes, off) : ipv6ToString(bytes, off), port });
  }
  return out;
}

function ipv4ToString(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function ipv6ToString(b: Uint8Array, off: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[off + i]! << 8) | b[off + i + 1]!).toString(16));
  // Shorten the longest run of zero groups (RFC 5952), so addresses compare equal to node's spelling.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** The 6-byte compact form of an IPv4 peer, or undefined when host is not IPv4. */
export function encodeCompactV4(host: string, port: number): Uint8Array | undefined {
  if (!isIPv4(host)) return undefined;
  const out = new Uint8Array(COMPACT_V4_BYTES);
  const parts = host.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  out[4] = port >> 8;
  out[5] = port & 0xff;
  return out;
}

/** The 18-byte compact form of an IPv6 peer, or undefined when host is not IPv6. */
export function encodeCompactV6(host: string, port: number): Uint8Array | undefined {
  if (!isIPv6(host)) return undefined;
  const out = new Uint8Array(COMPACT_V6_BYTES);
  const addr = ipv6ToBytes(host);
  out.set(addr, 0);
  out[16] = port >> 8;
  out[17] = port & 0xff;
  return out;
}

function ipv6ToBytes(host: string): Uint8Array {
  const out = new Uint8Array(16);
  let text = host;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const p = v4[1]!.split('.').map(Number);
    text = `${text.slice(0, v4.index)}${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  for (let i = 0; i < 8; i++) {
    const g = parseInt(groups[i] ?? '0', 16);
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  }
  return out;
}

/**
 * The address a socket reports, in the form peers are stored and compared:
 * an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, from a dual-stack socket)
 * becomes plain IPv4.
 */
export function normalizeAddress(host: string): string {
  // Runs on every packet: plain IPv4, the common case, skips the expression.
  if (host.charCodeAt(0) !== 0x3a) return host;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return m ? m[1]! : host;
}

/** A dotted-quad IPv4 address, each part 0-255 (no DNS names, no shorthand). */
export function isIPv4(host: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m !== null && m.slice(1).every((p) => Number(p) <= 255 && (p === '0' || !p.startsWith('0')));
}

/** An IPv6 address in text form (RFC 4291 §2.2), optionally with an IPv4 tail; no zone ids. */
export function isIPv6(host: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(host) || !host.includes(':')) return false;
  let text = host;
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let max = 8;
  if (v4) {
    if (!isIPv4(v4[1]!)) return false;
    text = text.slice(0, v4.index + 1) + '0';
    max = 7;
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? groups.length < max : groups.length === max;
}

/**
 * A host name as DNS allows it (RFC 1123 §2.1): dot-separated labels of
 * letters, digits and inner hyphens, each 1-63 characters, 253 in all, an
 * optional final dot. `../../etc`, `a b` or `x:y` are not.
 */
export function isHostName(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}

/** An address a peer may be dialled at: an IPv4 or IPv6 address, or a host name (looked up only then). */
export function isPeerHost(host: string): boolean {
  return isIPv4(host) || isIPv6(host) || (isHostName(host) && !/^[\d.]+$/.test(host));
}

/** Whether an address is loopback (127/8 or ::1). */
export function isLoopback(host: string): boolean {
  const h = normalizeAddress(host);
  return h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
