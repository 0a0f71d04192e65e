/**
 * Writing one directory extent (ECMA-119 §9.1, §6.8.1.1): "." and "..",
 * then one record per child (several for a multi-extent file, each with the
 * same identifier and system use, the multi-extent flag on all but the
 * last, §9.1.6 bit 7), packed so that no record crosses a logical block.
 * System use that does not fit a record goes to continuation areas packed
 * into the directory's own continuation blocks, shared by the records of one
 * multi-extent file.
 *
 * `sizeDirectory` needs only identifiers, system use entries and extent
 * counts, so the layout can be planned before any block is chosen;
 * `encodeDirectory` then writes the bytes once every location is known. Pure.
 */
import { SECTOR_BYTES } from './context.js';
import { putBytes, putNum, putShortDate } from './encode.js';
import { DIR_RECORD, FILE_FLAG } from './records.js';
import { AREA_BYTES, ceEntry, planSystemUse, type SystemUsePlan } from './susp-write.js';
import { IsosyncError } from '../errors.js';

/** ECMA-119 §9.1.1: the record length is one byte; keep it even. */
const MAX_RECORD = 254;

export interface Extent {
  readonly lba: number;
  readonly size: number;
}

export interface RecordSpec {
  /** Identifier bytes ([0] for ".", [1] for ".."). */
  readonly id: Uint8Array;
  readonly directory: boolean;
  readonly mtimeMs: number;
  /** System use entries (none for Joliet). */
  readonly su: readonly Uint8Array[];
  /** Directory records this child needs: its extent count (1 for a directory, symlink or empty file). */
  readonly records: number;
}

interface Placed {
  readonly spec: RecordSpec;
  readonly plan: SystemUsePlan;
  readonly length: number;
  /** Byte offset of each of its records in the directory extent. */
  readonly offsets: number[];
  /** Byte offset of each continuation area in the continuation blocks. */
  readonly areaOffsets: number[];
}

export interface DirectorySize {
  /** Bytes of the directory extent (whole blocks). */
  readonly bytes: number;
  /** Bytes of its continuation blocks (whole blocks, 0 when none). */
  readonly ceBytes: number;
  readonly placed: readonly Placed[];
}

function fixedBytes(idLen: number): number {
  return DIR_RECORD.identifier.at + idLen + (idLen % 2 === 0 ? 1 : 0);
}

/** Lays out the records and continuation areas of one directory (`specs` starts with "." and ".."). */
export function sizeDirectory(specs: readonly RecordSpec[]): DirectorySize {
  const placed: Placed[] = [];
  let pos = 0, ce = 0;
  for (const spec of specs) {
    const fixed = fixedBytes(spec.id.length);
    const plan = planSystemUse(spec.su, MAX_RECORD - fixed);
    const raw = fixed + plan.inlineBytes;
    const length = raw + (raw % 2);
    const offsets: number[] = [];
    for (let k = 0; k < spec.records; k++) {
      if ((pos % SECTOR_BYTES) + length > SECTOR_BYTES) pos = Math.ceil(pos / SECTOR_BYTES) * SECTOR_BYTES;
      offsets.push(pos);
      pos += length;
    }
    const areaOffsets: number[] = [];
    for (const bytes of plan.areaBytes) {
      if ((ce % AREA_BYTES) + bytes > AREA_BYTES) ce = Math.ceil(ce / AREA_BYTES) * AREA_BYTES;
      areaOffsets.push(ce);
      ce += bytes;
    }
    placed.push({ spec, plan, length, offsets, areaOffsets });
  }
  const up = (n: number) => Math.ceil(n / SECTOR_BYTES) * SECTOR_BYTES;
  return { bytes: Math.max(SECTOR_BYTES, up(pos)), ceBytes: up(ce), placed };
}

/**
 * Writes the directory laid out by `size` at block `lba`, its continuation
 * blocks at `ceLba`; `extents(i)` gives the extents of spec i (for "." the
 * directory itself, for ".." its parent).
 */
export function encodeDirectory(size: DirectorySize, lba: number, ceLba: number, extents: (i: number) => readonly Extent[]): { dir: Uint8Array; ce: Uint8Array } {
  const dir = new Uint8Array(size.bytes);
  const ce = new Uint8Array(size.ceBytes);
  size.placed.forEach((p, i) => {
    const xs = extents(i);
    if (xs.length !== p.offsets.length) throw new IsosyncError('INTERNAL', `Cannot write a directory: record ${i} has ${xs.length} extents, planned ${p.offsets.length}`);
    // Continuation areas, each but the last ending with a CE to the next.
    p.plan.areas.forEach((area, a) => {
      let o = p.areaOffsets[a]!;
      for (const e of area) {
        ce.set(e, o);
        o += e.length;
      }
      if (a + 1 < p.plan.areas.length) {
        const next = p.areaOffsets[a + 1]!;
        ce.set(ceEntry(ceLba + Math.floor(next / SECTOR_BYTES), next % SECTOR_BYTES, p.plan.areaBytes[a + 1]!), o);
      }
    });
    p.offsets.forEach((at, k) => {
      const x = xs[k]!;
      const s = p.spec;
      let flags = s.directory ? FILE_FLAG.directory : 0;
      if (k + 1 < p.offsets.length) flags |= FILE_FLAG.multiExtent;
      putNum(dir, at, DIR_RECORD.length, p.length);
      putNum(dir, at, DIR_RECORD.extAttrLength, 0);
      putNum(dir, at, DIR_RECORD.extentLba, x.lba);
      putNum(dir, at, DIR_RECORD.dataLength, x.size);
      putShortDate(dir, at + DIR_RECORD.recordingDate.at, s.mtimeMs);
      putNum(dir, at, DIR_RECORD.fileFlags, flags);
      putNum(dir, at, DIR_RECORD.volumeSequenceNumber, 1);
      putNum(dir, at, DIR_RECORD.identifierLength, s.id.length);
      putBytes(dir, at, DIR_RECORD.identifier, s.id);
      let o = at + fixedBytes(s.id.length);
      for (const e of p.plan.inline) {
        dir.set(e, o);
        o += e.length;
      }
      if (p.plan.areas.length > 0) {
        const first = p.areaOffsets[0]!;
        dir.set(ceEntry(ceLba + Math.floor(first / SECTOR_BYTES), first % SECTOR_BYTES, p.plan.areaBytes[0]!), o);
      }
    });
  });
  return { dir, ce };
}

/** The 34-byte root record of a volume descriptor (ECMA-119 §8.4.18). */
export function rootRecord(lba: number, bytes: number, mtimeMs: number): Uint8Array {
  const r = new Uint8Array(34);
  putNum(r, 0, DIR_RECORD.length, 34);
  putNum(r, 0, DIR_RECORD.extentLba, lba);
  putNum(r, 0, DIR_RECORD.dataLength, bytes);
  putShortDate(r, DIR_RECORD.recordingDate.at, mtimeMs);
  putNum(r, 0, DIR_RECORD.fileFlags, FILE_FLAG.directory);
  putNum(r, 0, DIR_RECORD.volumeSequenceNumber, 1);
  putNum(r, 0, DIR_RECORD.identifierLength, 1);
  return r;
}
