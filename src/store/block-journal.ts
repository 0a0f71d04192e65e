/**
 * The received-block journal beside a `.part` (`NAME.part.blocks`): which
 * byte ranges of pieces not yet verified were written into the .part, so a
 * run that is killed keeps every block it received, not only its verified
 * pieces. Pure: encoding and decoding only (part-file.ts does the I/O).
 *
 * Layout (all integers little-endian):
 *   header  16 bytes  MAGIC (8 bytes), then the first 8 bytes of the SHA-1 of
 *                     the torrent's piece hashes: a journal of another target
 *                     is not read
 *   record  16 bytes  offset (u64), length (u32), CRC-32 of the 12 bytes before
 *
 * A record is appended only after its bytes were written to the .part, so
 * after a kill every record names bytes that are there. Decoding stops at the
 * first record that is short or whose CRC fails (a torn append). Nothing here
 * is trusted: a piece is still verified by its hash before it counts, and a
 * wrong range costs a refetch of its piece only.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { mergeSpans, type Span } from '../core/span.js';

export const JOURNAL_MAGIC = Buffer.from('isoblk01', 'latin1');
export const HEADER_BYTES = 16;
export const RECORD_BYTES = 16;
/** Records read at most (a hostile or corrupt file stops here): 2^22 records of 16 KiB blocks is 64 GiB. */
export const MAX_RECORDS = 1 << 22;

/** The header of a journal for the target whose expected hashes are `pieces` (its PieceCheck fingerprint: the SHA-1 pieces of a v1 torrent). */
export function journalHeader(pieces: Uint8Array): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  JOURNAL_MAGIC.copy(h, 0);
  createHash('sha1').update(pieces).digest().copy(h, 8, 0, 8);
  return h;
}

/** Records for `spans`, one after another. */
export function encodeRecords(spans: readonly Span[]): Buffer {
  const out = Buffer.alloc(spans.length * RECORD_BYTES);
  spans.forEach((s, i) => {
    const at = i * RECORD_BYTES;
    out.writeBigUInt64LE(BigInt(s.start), at);
    out.writeUInt32LE(s.end - s.start, at + 8);
    out.writeUInt32LE(crc32(out.subarray(at, at + 12)), at + 12);
  });
  return out;
}

/**
 * The ranges a journal names, merged, inside [0, length); empty when the
 * header is not this target's. Stops at the first bad record.
 */
export function decodeJournal(bytes: Uint8Array, pieces: Uint8Array, length: number): Span[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER_BYTES || !buf.subarray(0, HEADER_BYTES).equals(journalHeader(pieces))) return [];
  const out: Span[] = [];
  const n = Math.min(MAX_RECORDS, Math.floor((buf.length - HEADER_BYTES) / RECORD_BYTES));
  for (let i = 0; i < n; i++) {
    const at = HEADER_BYTES + i * RECORD_BYTES;
    if (buf.readUInt32LE(at + 12) !== crc32(buf.subarray(at, at + 12))) break;
    const start = Number(buf.readBigUInt64LE(at));
    const end = start + buf.readUInt32LE(at + 8);
    if (end > length || end <= start) break;
    out.push({ start, end });
  }
  return mergeSpans(out);
}
