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
import { type Field, shortDate, u32At } from './fields.js';

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

/** DIR_RECORD's offsets that RecordCursor reads from every record (u8 or the LE half of u32both: see u32At). */
const LENGTH_AT = DIR_RECORD.length.at;
const EXT_ATTR_AT = DIR_RECORD.extAttrLength.at;
const EXTENT_AT = DIR_RECORD.extentLba.at;
const DATA_LENGTH_AT = DIR_RECORD.dataLength.at;
const FLAGS_AT = DIR_RECORD.fileFlags.at;
const ID_LENGTH_AT = DIR_RECORD.identifierLength.at;
const ID_AT = DIR_RECORD.identifier.at;

const EMPTY = new Uint8Array(0);
/** Bytes of a directory read at once: whole sectors, bounded memory. */
export const CHUNK_BYTES = 64 * SECTOR_BYTES;

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

/**
 * One directory record read in place: the walk steps a cursor through a
 * chunk instead of making a DirRecord (and two views) per record. Its
 * fields are those of DirRecord, the identifier and system use area as
 * ranges of `bytes`; valid until the next call of `next`.
 */
export class RecordCursor {
  bytes: Uint8Array = EMPTY;
  /** Where the record starts in `bytes`. */
  pos = 0;
  offset = 0;
  extentLba = 0;
  extAttrLength = 0;
  dataLength = 0;
  flags = 0;
  idStart = 0;
  idLength = 0;
  suStart = 0;
  suEnd = 0;
  private base = 0;
  private n = 0;
  private lastChunk = false;
  private sectorEnd = 0;
  private limitWhat = 'sector';

  constructor(private readonly ctx: IsoContext) {}

  /** Starts on `n` bytes of `b`, image byte `base` at b[0]; `lastChunk`: they end the directory extent. */
  reset(b: Uint8Array, base: number, n: number, lastChunk: boolean): void {
    this.bytes = b;
    this.base = base;
    this.n = n;
    this.lastChunk = lastChunk;
    this.pos = 0;
    this.sectorEnd = -1;
  }

  /** Moves to the next record (skipping the zero padding at a sector's end); false past the chunk. */
  next(): boolean {
    const b = this.bytes;
    let pos = 0;
    if (this.sectorEnd >= 0) {
      pos = this.pos + b[this.pos]!;
      if (pos < this.sectorEnd && b[pos] !== 0) {
        this.read(pos);
        return true;
      }
      pos = this.sectorEnd; // zero padding to the end of the sector
    }
    for (; pos < this.n; pos = this.sectorEnd) {
      this.sectorEnd = Math.min(pos + SECTOR_BYTES, this.n);
      this.limitWhat = this.sectorEnd === this.n && this.lastChunk && this.n - pos < SECTOR_BYTES ? 'directory extent' : 'sector';
      if (b[pos] !== 0) {
        this.read(pos);
        return true;
      }
    }
    this.n = 0; // past the chunk: every later call returns false
    this.pos = 0;
    this.sectorEnd = 0;
    return false;
  }

  /** Reads and checks the record at `pos` (ECMA-119 §9.1). */
  at(b: Uint8Array, pos: number, base: number, limit: number, limitWhat: string): void {
    this.bytes = b;
    this.base = base;
    this.sectorEnd = limit;
    this.limitWhat = limitWhat;
    this.read(pos);
  }

  private read(pos: number): void {
    const { ctx, bytes: b } = this;
    const limit = this.sectorEnd;
    const offset = this.base + pos;
    const len = b[pos + LENGTH_AT]!;
    if (len < MIN_RECORD_BYTES) {
      ctx.fail(`directory record at byte ${offset} has length ${len}, below the minimum ${MIN_RECORD_BYTES}`, { offset });
    }
    if (pos + len > limit) {
      ctx.fail(`directory record at byte ${offset} has length ${len}, running past the end of its ${this.limitWhat} at byte ${this.base + limit}`, { offset });
    }
    const idLen = b[pos + ID_LENGTH_AT]!;
    const idStart = pos + ID_AT;
    if (idLen === 0 || idStart + idLen > pos + len) {
      ctx.fail(`directory record at byte ${offset} has an identifier of ${idLen} bytes, which does not fit its length ${len}`, { offset });
    }
    const suStart = idStart + idLen + (idLen % 2 === 0 ? 1 : 0);
    this.pos = pos;
    this.offset = offset;
    this.extentLba = u32At(b, pos + EXTENT_AT);
    this.extAttrLength = b[pos + EXT_ATTR_AT]!;
    this.dataLength = u32At(b, pos + DATA_LENGTH_AT);
    this.flags = b[pos + FLAGS_AT]!;
    this.idStart = idStart;
    this.idLength = idLen;
    this.suStart = Math.min(suStart, pos + len);
    this.suEnd = pos + len;
  }

  /** The recording date (§9.1.5) in ms since the epoch, or undefined when unset. */
  mtimeMs(): number | undefined {
    return shortDate(this.bytes, this.pos + DIR_RECORD.recordingDate.at);
  }

  /** The identifier bytes (a view). */
  identifier(): Uint8Array {
    return this.bytes.subarray(this.idStart, this.idStart + this.idLength);
  }

  /** The identifier's only byte (0x00 ".", 0x01 ".."), else -1. */
  single(): number {
    return this.idLength === 1 ? this.bytes[this.idStart]! : -1;
  }

  /** The record as a DirRecord: its identifier and system use area as views of the chunk, or as copies (`copy`: kept beyond the chunk). */
  record(copy = false): DirRecord {
    const b = this.bytes;
    const identifier = this.identifier();
    const systemUse = this.suStart < this.suEnd ? b.subarray(this.suStart, this.suEnd) : EMPTY;
    return {
      offset: this.offset, extentLba: this.extentLba, extAttrLength: this.extAttrLength, dataLength: this.dataLength, flags: this.flags, mtimeMs: this.mtimeMs(),
      identifier: copy ? identifier.slice() : identifier,
      systemUse: copy && systemUse !== EMPTY ? systemUse.slice() : systemUse,
    };
  }

  /** Goes on over a copy of the chunk: its bytes were lent (a view that the next read may replace). */
  own(): void {
    this.bytes = this.bytes.slice(0, this.n);
  }
}

/** Parses the record that starts at `pos` of `b` (whose byte 0 is image byte `base`); `limit` is where it must end by. */
export function parseRecord(ctx: IsoContext, b: Uint8Array, pos: number, base: number, limit: number, limitWhat: string): DirRecord {
  const c = new RecordCursor(ctx);
  c.at(b, pos, base, limit, limitWhat);
  return c.record();
}

/**
 * Yields every record of the directory extent at `lba` (logical blocks of
 * `blockSize`) of `size` bytes, "." and ".." included, in order.
 */
export async function* readDirectory(ctx: IsoContext, lba: number, size: number, blockSize: number, path: string): AsyncGenerator<DirRecord> {
  const c = new RecordCursor(ctx);
  for await (const chunk of directoryChunks(ctx, lba, size, blockSize, path)) {
    c.reset(chunk.bytes, chunk.base, chunk.bytes.length, chunk.last);
    while (c.next()) yield c.record();
  }
}

/** A chunk of a directory extent: whole sectors, image byte `base` first. */
export interface DirChunk {
  readonly bytes: Uint8Array;
  readonly base: number;
  /** The chunk ends the extent. */
  readonly last: boolean;
}

/** The first byte of the directory extent at `lba` of `size` bytes, checked against the limits and the image's end. */
export function directoryStart(ctx: IsoContext, lba: number, size: number, blockSize: number, path: string): number {
  const start = lba * blockSize;
  if (size > LIMITS.directoryBytes) {
    ctx.fail(`directory ${JSON.stringify(path)} at byte ${start} claims ${size} bytes, more than the limit of ${LIMITS.directoryBytes}`, { offset: start });
  }
  if (start + size > ctx.size) {
    ctx.fail(`directory ${JSON.stringify(path)} has an extent at byte ${start} (${size} bytes) beyond the end of the image (${ctx.size} bytes)`, { offset: start });
  }
  return start;
}

/**
 * The directory extent at `lba` of `size` bytes, checked against the limits
 * and the image's end, read in chunks of whole sectors: a walk of a hundred
 * thousand records awaits once per chunk, not once per record.
 */
export async function* directoryChunks(ctx: IsoContext, lba: number, size: number, blockSize: number, path: string): AsyncGenerator<DirChunk> {
  const start = directoryStart(ctx, lba, size, blockSize, path);
  for (let done = 0; done < size; done += CHUNK_BYTES) {
    const n = Math.min(CHUNK_BYTES, size - done);
    const base = start + done;
    yield { bytes: await ctx.read(base, n, `directory ${JSON.stringify(path)}`), base, last: done + n === size };
  }
}
