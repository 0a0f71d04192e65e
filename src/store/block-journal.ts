/**
 * The received-block journal beside a `.part` (`NAME.part.blocks`): the
 * blocks received for pieces not verified yet, so a run that is killed keeps
 * every block it received, not only its verified pieces. Pure: encoding and
 * decoding only (part-file.ts and journal-file.ts do the I/O).
 *
 * Layout (all integers little-endian):
 *   header  16 bytes  MAGIC (8 bytes), then the first 8 bytes of the SHA-1 of
 *                     the torrent's piece hashes: a journal of another target
 *                     is not read
 *   record  16 bytes  offset (u64), length (u32; its top bit set: the bytes
 *                     follow), CRC-32 of the 12 bytes before and of the bytes
 *                     that follow
 *           length    with the top bit: the received bytes themselves (a data
 *                     record); without it they are in the .part at `offset`
 *                     already (an in-place record)
 *
 * Received blocks go into the journal as data records, many in one
 * sequential append, and into the .part only once their piece verifies: a
 * block is not written at its place first and again with its piece. A resume
 * copies them to their place (journal-file.ts) and keeps in-place records.
 * A record is appended only after the bytes an in-place record names were
 * written to the .part. Decoding stops at the first record that is short or
 * whose CRC fails (a torn append). Nothing here is trusted: a piece is still
 * verified by its hash before it counts, and a wrong range costs a refetch of
 * its piece only.
 */
import { createHash } from 'node:crypto';
import { lateZlib } from '../core/late-builtins.js';
import type { Span } from '../core/span.js';

export const JOURNAL_MAGIC = Buffer.from('isoblk02', 'latin1');
export const HEADER_BYTES = 16;
export const RECORD_BYTES = 16;
/** Records read at most (a hostile or corrupt file stops here): 2^22 records of 16 KiB blocks is 64 GiB. */
export const MAX_RECORDS = 1 << 22;
/** Bytes one data record may carry: a block is at most 16 KiB; the bound stops a hostile length (1 MiB). */
export const MAX_DATA_BYTES = 1 << 20;
const DATA_FLAG = 0x80000000;
const U32 = 0x1_0000_0000;

/** A decoded record: `data` holds the bytes of a data record; without it they are in the .part. */
export interface JournalRecord extends Span {
  readonly data?: Uint8Array;
}

/** A received block to journal: its absolute offset and bytes. */
export interface JournalBlock {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/** The header of a journal for the target whose expected hashes are `pieces` (its PieceCheck fingerprint: the SHA-1 pieces of a v1 torrent). */
export function journalHeader(pieces: Uint8Array): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  JOURNAL_MAGIC.copy(h, 0);
  createHash('sha1').update(pieces).digest().copy(h, 8, 0, 8);
  return h;
}

function writeHead(out: Buffer, at: number, offset: number, length: number, data: Uint8Array | undefined): void {
  out.writeUInt32LE(offset % U32, at);
  out.writeUInt32LE(Math.floor(offset / U32), at + 4);
  out.writeUInt32LE(data ? (length | DATA_FLAG) >>> 0 : length, at + 8);
  const { crc32 } = lateZlib();
  const head = crc32(out.subarray(at, at + 12));
  out.writeUInt32LE(data ? crc32(data, head) : head, at + 12);
}

/** In-place records for `spans` (their bytes are in the .part), one after another. */
export function encodeRecords(spans: readonly Span[]): Buffer {
  const out = Buffer.allocUnsafe(spans.length * RECORD_BYTES);
  spans.forEach((s, i) => writeHead(out, i * RECORD_BYTES, s.start, s.end - s.start, undefined));
  return out;
}

/** Blocks shorter than this are copied into the buffer of heads: a view each cost ~100 bytes of heap, more than such a block (a nested image's inode, fetched while planning). */
const COPY_BELOW = 4096;

/**
 * Data records for `blocks` (each at most MAX_DATA_BYTES), as the buffers of
 * one vectored append: each record's head, then the block's bytes; the bytes
 * of a block of COPY_BELOW or more are not copied (a buffer of their own),
 * the heads and small blocks in between are one buffer.
 */
export function encodeBlocks(blocks: readonly JournalBlock[]): Uint8Array[] {
  let size = blocks.length * RECORD_BYTES;
  for (const b of blocks) if (b.bytes.length < COPY_BELOW) size += b.bytes.length;
  const heads = Buffer.allocUnsafe(size);
  const out: Uint8Array[] = [];
  let at = 0;
  let from = 0;
  for (const b of blocks) {
    writeHead(heads, at, b.offset, b.bytes.length, b.bytes);
    at += RECORD_BYTES;
    if (b.bytes.length < COPY_BELOW) {
      heads.set(b.bytes, at);
      at += b.bytes.length;
    } else {
      out.push(heads.subarray(from, at), b.bytes);
      from = at;
    }
  }
  if (at > from) out.push(heads.subarray(from, at));
  return out;
}

/** One step of decoding: a record and where the next starts, more bytes needed ('short'), or a bad record. */
export type Step = { readonly record: JournalRecord; readonly next: number } | 'short' | 'bad';

/** Decodes the record at `at` of `buf` for a target of `length` bytes. */
export function decodeRecord(buf: Buffer, at: number, length: number): Step {
  if (buf.length - at < RECORD_BYTES) return 'short';
  const word = buf.readUInt32LE(at + 8);
  const hasData = word >= DATA_FLAG;
  const size = hasData ? word - DATA_FLAG : word;
  const start = buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * U32;
  const end = start + size;
  if (end > length || end <= start || (hasData && size > MAX_DATA_BYTES)) return 'bad';
  const next = at + RECORD_BYTES + (hasData ? size : 0);
  if (next > buf.length) return 'short';
  const { crc32 } = lateZlib();
  const head = crc32(buf.subarray(at, at + 12));
  const data = hasData ? buf.subarray(at + RECORD_BYTES, next) : undefined;
  if (buf.readUInt32LE(at + 12) !== (data ? crc32(data, head) : head)) return 'bad';
  return { record: data ? { start, end, data } : { start, end }, next };
}

/**
 * The records of a whole journal held in memory, in order; empty when the
 * header is not this target's. Stops at the first short or bad record.
 */
export function decodeJournal(bytes: Uint8Array, pieces: Uint8Array, length: number): JournalRecord[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER_BYTES || !buf.subarray(0, HEADER_BYTES).equals(journalHeader(pieces))) return [];
  const out: JournalRecord[] = [];
  for (let at = HEADER_BYTES; out.length < MAX_RECORDS; ) {
    const step = decodeRecord(buf, at, length);
    if (typeof step === 'string') break;
    out.push(step.record);
    at = step.next;
  }
  return out;
}

/** A received block waiting to be journaled (writeBlock). */
export interface DeferredBlock {
  readonly offset: number;
  readonly bytes: Uint8Array;
}
