/**
 * Directory records (ECMA-119 §9.1) of one directory extent.
 *
 * A directory extent is a run of logical sectors; records never cross a
 * sector boundary (§6.8.1.1), so a sector ends with zero padding when the
 * next record does not fit: a length byte of 0 means "go to the next
 * sector". The extent is read in bounded chunks of whole sectors, so a huge
 * directory never sits in memory at once.
 */
import { IsoContext, LIMITS, SECTOR_BYTES } from './context.js';
import { type Field, num, shortDate } from './fields.js';

/** ECMA-119 §9.1 directory record. */
export const DIR_RECORD = {
  length: { at: 0, kind: 'u8' },
  extAttrLength: { at: 1, kind: 'u8' },                // §9.1.2, in logical blocks before the data
  extentLba: { at: 2, kind: 'u32both' },
  dataLength: { at: 10, kind: 'u32both' },
  recordingDate: { at: 18, kind: 'bytes', len: 7 },    // §9.1.5
  fileFlags: { at: 25, kind: 'u8' },                   // §9.1.6
  fileUnitSize: { at: 26, kind: 'u8' },
  interleaveGap: { at: 27, kind: 'u8' },
  volumeSequenceNumber: { at: 28, kind: 'u16both' },
  identifierLength: { at: 32, kind: 'u8' },
  identifier: { at: 33, kind: 'bytes' },               // then one pad byte if the length is even (§9.1.12), then the system use area (§9.1.13)
} as const satisfies Record<string, Field>;

/** §9.1.1: a record holds at least its fixed part and one identifier byte. */
export const MIN_RECORD_BYTES = 34;

/** §9.1.6 file flags. */
export const FILE_FLAG = { hidden: 0x01, directory: 0x02, associated: 0x04, record: 0x08, protection: 0x10, multiExtent: 0x80 } as const;

const EMPTY = new Uint8Array(0);
/** Bytes of a directory read at once: whole sectors, bounded memory. */
const CHUNK_BYTES = 64 * SECTOR_BYTES;

export interface DirRecord {
  /** Byte offset of the record in the image. */
  readonly offset: number;
  readonly extentLba: number;
  readonly extAttrLength: number;
  readonly dataLength: number;
  readonly flags: number;
  readonly mtimeMs: number | undefined;
  /** Identifier bytes: 0x00 is ".", 0x01 is "..". */
  readonly identifier: Uint8Array;
  /** System use area (Rock Ridge lives here): a view of the bytes read, like `identifier`. */
  readonly systemUse: Uint8Array;
}

/** Parses the record that starts at `pos` of `b` (whose byte 0 is image byte `base`); `limit` is where it must end by. */
export function parseRecord(ctx: IsoContext, b: Uint8Array, pos: number, base: number, limit: number, limitWhat: string): DirRecord {
  const offset = base + pos;
  const len = num(b, pos, DIR_RECORD.length);
  if (len < MIN_RECORD_BYTES) {
    ctx.fail(`directory record at byte ${offset} has length ${len}, below the minimum ${MIN_RECORD_BYTES}`, { offset });
  }
  if (pos + len > limit) {
    ctx.fail(`directory record at byte ${offset} has length ${len}, running past the end of its ${limitWhat} at byte ${base + limit}`, { offset });
  }
  const idLen = num(b, pos, DIR_RECORD.identifierLength);
  const idStart = pos + DIR_RECORD.identifier.at;
  if (idLen === 0 || idStart + idLen > pos + len) {
    ctx.fail(`directory record at byte ${offset} has an identifier of ${idLen} bytes, which does not fit its length ${len}`, { offset });
  }
  const suStart = idStart + idLen + (idLen % 2 === 0 ? 1 : 0);
  return {
    offset,
    extentLba: num(b, pos, DIR_RECORD.extentLba),
    extAttrLength: num(b, pos, DIR_RECORD.extAttrLength),
    dataLength: num(b, pos, DIR_RECORD.dataLength),
    flags: num(b, pos, DIR_RECORD.fileFlags),
    mtimeMs: shortDate(b, pos + DIR_RECORD.recordingDate.at),
    identifier: b.subarray(idStart, idStart + idLen),
    systemUse: suStart < pos + len ? b.subarray(suStart, pos + len) : EMPTY,
  };
}

/**
 * Yields every record of the directory extent at `lba` (logical blocks of
 * `blockSize`) of `size` bytes, "." and ".." included, in order.
 */
export async function* readDirectory(ctx: IsoContext, lba: number, size: number, blockSize: number, path: string): AsyncGenerator<DirRecord> {
  for await (const batch of readDirectoryChunks(ctx, lba, size, blockSize, path)) yield* batch;
}

/**
 * The records of readDirectory, one array per chunk read: a walk of a
 * hundred thousand records then awaits once per chunk, not once per record.
 */
export async function* readDirectoryChunks(ctx: IsoContext, lba: number, size: number, blockSize: number, path: string): AsyncGenerator<DirRecord[]> {
  const start = lba * blockSize;
  if (size > LIMITS.directoryBytes) {
    ctx.fail(`directory ${JSON.stringify(path)} at byte ${start} claims ${size} bytes, more than the limit of ${LIMITS.directoryBytes}`, { offset: start });
  }
  if (start + size > ctx.size) {
    ctx.fail(`directory ${JSON.stringify(path)} has an extent at byte ${start} (${size} bytes) beyond the end of the image (${ctx.size} bytes)`, { offset: start });
  }
  for (let done = 0; done < size; done += CHUNK_BYTES) {
    const n = Math.min(CHUNK_BYTES, size - done);
    const base = start + done;
    const b = await ctx.read(base, n, `directory ${JSON.stringify(path)}`);
    const batch: DirRecord[] = [];
    for (let sec = 0; sec < n; sec += SECTOR_BYTES) {
      const secEnd = Math.min(sec + SECTOR_BYTES, n);
      const limitWhat = secEnd === n && done + n === size && n - sec < SECTOR_BYTES ? 'directory extent' : 'sector';
      let pos = sec;
      while (pos < secEnd) {
        if (b[pos] === 0) break; // zero padding to the end of the sector
        batch.push(parseRecord(ctx, b, pos, base, secEnd, limitWhat));
        pos += b[pos]!;
      }
    }
    yield batch;
  }
}
