/**
 * The checks SafeWire (safe-wire.ts) makes of every message a peer sends,
 * before bittorrent-protocol or isosync sees it: pure, on the bytes alone.
 *
 * Message sizes (length prefix value; BEP 3 "peer messages", BEP 6, BEP 10):
 *   id  name            size
 *   0-3 choke..uninterested     1
 *   4   have            5       <index u32>
 *   5   bitfield        1 + ceil(pieceCount / 8)
 *   6   request         13      <index><begin><length>
 *   7   piece           9 + block (1 .. MAX_BLOCK_BYTES)
 *   8   cancel          13
 *   9   port            3
 *   13  suggest         5
 *   14  have-all        1
 *   15  have-none       1
 *   16  reject          13
 *   17  allowed-fast    5
 *   20  extended        >= 2
 *   21  hash request    49      BEP 52 (hash-messages.ts)
 *   22  hashes          >= 49
 *   23  hash reject     49
 */

/** Largest block isosync accepts in a piece message or request (libtorrent and aria2 ask 16 KiB; some old clients 128 KiB). */
export const MAX_BLOCK_BYTES = 128 * 1024;
/** Hard cap on any message: a larger length prefix is an attack or garbage. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/**
 * The piece count of a wire opened before the info dictionary is known (a
 * magnet's metadata fetch): a bitfield of any length up to the message cap
 * is accepted, and piece indexes are not range-checked (nothing is asked or
 * served on such a wire).
 */
export const PIECE_COUNT_UNKNOWN = Number.POSITIVE_INFINITY;

const FIXED_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 1, 3: 1, 4: 5, 6: 13, 8: 13, 9: 3, 13: 5, 14: 1, 15: 1, 16: 13, 17: 5, 21: 49, 23: 49 };

/** The largest message a peer of a torrent of `pieceCount` pieces may send. */
export function maxMessageBytes(pieceCount: number): number {
  return Math.min(MAX_MESSAGE_BYTES, Math.max(9 + MAX_BLOCK_BYTES, 1 + Math.ceil(pieceCount / 8)));
}

/**
 * What is wrong with the message of `size` bytes (after its length prefix)
 * at `at` in `buf`, for a torrent of `pieceCount` pieces; undefined if its
 * size and piece index are right. Extended messages' bencode is checked by
 * the caller, which knows the extensions.
 */
export function messageFault(buf: Uint8Array, at: number, size: number, pieceCount: number): string | undefined {
  const id = buf[at]!;
  if (id === 7) {
    if (size < 10 || size > 9 + MAX_BLOCK_BYTES) return `sent a piece message of ${size} bytes`;
    return pieceFault(buf, at, pieceCount);
  }
  const fixed = FIXED_SIZE[id];
  if (fixed !== undefined && size !== fixed) return `sent message ${id} of ${size} bytes (expected ${fixed})`;
  const known = pieceCount !== PIECE_COUNT_UNKNOWN;
  const bitfieldBytes = Math.ceil(pieceCount / 8);
  if (id === 5 && known && size !== 1 + bitfieldBytes) return `sent a bitfield of ${size - 1} bytes (expected ${bitfieldBytes})`;
  if (id === 20 && size < 2) return 'sent an empty extended message';
  if (id === 22 && size < 49) return `sent a hashes message of ${size} bytes`;
  if (id === 4 || id === 6 || id === 8 || id === 16) return pieceFault(buf, at, pieceCount);
  if (id === 5 && known && pieceCount % 8 !== 0 && (buf[at + size - 1]! & (0xff >> pieceCount % 8)) !== 0) return 'sent a bitfield with spare bits set';
  return undefined;
}

function pieceFault(buf: Uint8Array, at: number, pieceCount: number): string | undefined {
  const index = u32(buf, at + 1);
  return index >= pieceCount ? `named piece ${index} of a torrent of ${pieceCount} pieces` : undefined;
}

/** Big-endian u32 at `at` (no DataView per message: this runs for every message). */
export function u32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

/** Writes `v` big-endian at `at`. */
export function putU32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}

/** Wraps an event handler so that a throw drops the peer instead of crashing the process. */
export function guarded<A extends unknown[]>(wire: { violation(reason: string): void }, fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (e) {
      wire.violation(`caused an internal error (${(e as Error).message})`);
    }
  }
}
