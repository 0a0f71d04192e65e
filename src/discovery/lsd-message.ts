/**
 * Local Service Discovery messages (BEP 14): an HTTP-like announce sent by
 * UDP multicast to 239.192.152.143:6771 (IPv4) or [ff15::efc0:988f]:6771.
 *
 *   BT-SEARCH * HTTP/1.1\r\n
 *   Host: 239.192.152.143:6771\r\n
 *   Port: <TCP port of the announcer>\r\n
 *   Infohash: <40 hex>\r\n          (one line per torrent)
 *   cookie: <opaque>\r\n            (optional: lets a client ignore its own)
 *   \r\n\r\n
 *
 * Parsing is bounded (one datagram, at most MAX_LSD_BYTES, at most
 * MAX_INFOHASHES infohashes) and order-free (headers are matched by name,
 * case-insensitively), and a malformed datagram is `undefined`, never a
 * throw: anyone on the LAN can send one. (bittorrent-lsd reads headers by
 * line position and throws on a short datagram; see docs/LIBRARIES.md.)
 *
 * Pure: no I/O.
 */
import { parseInfoHash, type InfoHash } from '../torrent/info-hash.js';

export const LSD_MULTICAST_V4 = '239.192.152.143';
export const LSD_PORT = 6771;
/** A datagram larger than this is not an announce (a real one is under 300 bytes). */
export const MAX_LSD_BYTES = 1400;
export const MAX_INFOHASHES = 20;

export interface LsdAnnounce {
  readonly port: number;
  readonly infoHashes: readonly InfoHash[];
  readonly cookie?: string;
}

export function formatLsdAnnounce(a: LsdAnnounce, host = `${LSD_MULTICAST_V4}:${LSD_PORT}`): string {
  const lines = ['BT-SEARCH * HTTP/1.1', `Host: ${host}`, `Port: ${a.port}`, ...a.infoHashes.map((h) => `Infohash: ${h}`)];
  if (a.cookie !== undefined) lines.push(`cookie: ${a.cookie}`);
  return `${lines.join('\r\n')}\r\n\r\n\r\n`;
}

export function parseLsdAnnounce(datagram: Uint8Array): LsdAnnounce | undefined {
  if (datagram.length > MAX_LSD_BYTES) return undefined;
  const text = Buffer.from(datagram).toString('latin1');
  const lines = text.split('\r\n');
  if (lines[0] !== 'BT-SEARCH * HTTP/1.1') return undefined;
  let port: number | undefined;
  let cookie: string | undefined;
  const infoHashes: InfoHash[] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'port') {
      if (!/^\d{1,5}$/.test(value)) return undefined;
      port = Number(value);
    } else if (name === 'infohash') {
      const h = parseInfoHash(value);
      if (h && !infoHashes.includes(h)) infoHashes.push(h);
      if (infoHashes.length > MAX_INFOHASHES) return undefined;
    } else if (name === 'cookie') {
      cookie = value;
    }
  }
  if (port === undefined || port < 1 || port > 65535 || infoHashes.length === 0) return undefined;
  return { port, infoHashes, ...(cookie !== undefined ? { cookie } : {}) };
}
