/**
 * The bencoded reply to an HTTP announce in the compact model (BEP 23
 * `peers`, BEP 7 `peers6`), written straight into one buffer from the
 * swarm table's packed peer lists: the tracker answers thousands of these a
 * second, and the general encoder's per-value allocations and key sorting
 * were a large share of each.
 *
 * Keys are written in the canonical order BEP 3 asks for (raw byte order):
 * complete, incomplete, interval, min interval, peers, peers6, warning
 * message. `peers6` is left out when there is no IPv6 peer, `warning
 * message` when there is no warning. Pure: no I/O.
 */
import { COMPACT_V4_BYTES, COMPACT_V6_BYTES } from './compact-peers.js';
import type { Picked } from './swarm-table.js';

export interface CompactReplyFields {
  readonly complete: number;
  readonly incomplete: number;
  readonly interval: number;
  readonly minInterval: number;
  readonly peers: Picked;
  readonly warning?: string | undefined;
}

export function encodeCompactReply(f: CompactReplyFields): Buffer {
  const { v4, v6 } = f.peers;
  const head =
    `d8:completei${f.complete}e10:incompletei${f.incomplete}e8:intervali${f.interval}e12:min intervali${f.minInterval}e` +
    `5:peers${v4 * COMPACT_V4_BYTES}:`;
  const mid = v6 > 0 ? `6:peers6${v6 * COMPACT_V6_BYTES}:` : '';
  const tail = f.warning !== undefined ? `15:warning message${Buffer.byteLength(f.warning)}:${f.warning}e` : 'e';
  const out = Buffer.allocUnsafe(head.length + v4 * COMPACT_V4_BYTES + mid.length + v6 * COMPACT_V6_BYTES + Buffer.byteLength(tail));
  let at = out.write(head, 0, 'latin1');
  at = f.peers.copy(COMPACT_V4_BYTES, out, at);
  if (v6 > 0) {
    at += out.write(mid, at, 'latin1');
    at = f.peers.copy(COMPACT_V6_BYTES, out, at);
  }
  out.write(tail, at, 'utf8');
  return out;
}
