/**
 * The reading context shared by every parser of one image: the ByteSource,
 * the name used in error messages, and the bounds that keep a crafted image
 * from hanging the reader or exhausting memory.
 *
 * Every failure is an IsosyncError('BAD_ISO') with one line that leads with
 * `Cannot read ISO "<name>":` and says what is wrong and where (a byte
 * offset), e.g. `directory record at byte 40960 has length 3, below the
 * minimum 34`.
 */
import { IsosyncError, quote } from '../errors.js';
import type { ByteSource } from '../store/byte-source.js';

/** ECMA-119 §6.1.2: a logical sector is 2048 bytes, whatever the block size. */
export const SECTOR_BYTES = 2048;
/** ECMA-119 §6.2.1: sectors 0-15 are the system area; descriptors start at sector 16. */
export const SYSTEM_AREA_SECTORS = 16;

/** Bounds on the work a single image may ask for. */
export const LIMITS = {
  /** Volume descriptors before a terminator; real images have 3-5 (a crafted set of thousands would otherwise be read). */
  descriptors: 256,
  /** Entries (files, directories, symlinks) in one tree; 50,000-file DVDs are the largest real case by far. */
  entries: 2_000_000,
  /** Directory nesting; Rock Ridge trees may be deeper than ISO's 8 levels, Linux paths end at 4096 bytes. */
  depth: 1024,
  /** Continuation areas (SUSP CE) chained from one directory record; real records need 0-3. */
  continuations: 64,
  /** Bytes of one directory extent; 50,000 entries with Rock Ridge take ~15 MiB. */
  directoryBytes: 256 * 1024 * 1024,
  /** Bytes of one path table; it lists directories only. */
  pathTableBytes: 64 * 1024 * 1024,
  /** Bytes of one SUSP continuation area (one sector is the norm). */
  continuationBytes: 64 * 1024,
  /** Entries of the El Torito boot catalog read before giving up (the catalog is normally one sector: 64 entries). */
  bootEntries: 1024,
} as const;

export class IsoContext {
  readonly size: number;

  constructor(readonly src: ByteSource, readonly name: string) {
    this.size = src.size;
  }

  /** Throws the one-line BAD_ISO error for this image. */
  fail(problem: string, details: Record<string, unknown> = {}): never {
    throw new IsosyncError('BAD_ISO', `Cannot read ISO ${quote(this.name)}: ${problem}`, { image: this.name, ...details });
  }

  /**
   * Reads `length` bytes at `offset` for the structure `what`; a range
   * outside the image is an image defect, reported with its position.
   */
  async read(offset: number, length: number, what: string): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      this.fail(`${what} at byte ${offset} (${length} bytes) lies beyond the end of the image (${this.size} bytes)`, { offset, length });
    }
    return this.src.read(offset, length);
  }
}
