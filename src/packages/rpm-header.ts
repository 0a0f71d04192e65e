/**
 * Reads the identity of an RPM package file (name, epoch, version, release,
 * architecture) from its headers, through a ByteSource.
 *
 * Layout (RPM file format 3.0, rpm's docs/manual/format.md; limits and checks
 * from rpm's lib/header.c and lib/header_internal.h):
 *
 *   Lead       96 bytes (struct rpmlead): magic ed ab ee db, major, minor,
 *              type (0 binary, 1 source), archnum, name[66], osnum,
 *              signature_type (5: header-style signature), reserved[16].
 *   Signature  a header structure, padded with zeros to a multiple of 8 bytes.
 *   Header     a header structure: the package's tags.
 *   Payload    the compressed cpio archive: never read here.
 *
 * A header structure (all integers big-endian):
 *   intro  16 bytes: magic 8e ad e8, version 01, 4 reserved bytes,
 *          int32 index entry count (il), int32 data store size (dl).
 *   index  il entries of 16 bytes: int32 tag, int32 type, int32 offset into
 *          the store, int32 count.
 *   store  dl bytes: strings NUL-terminated, INT32 aligned to 4, INT64 to 8.
 *
 * Reading is strict and bounded: il and dl are capped as rpm caps them, every
 * index entry's type and offset is checked against the store, and only the
 * lead, the intros, the indexes and the few values wanted are read (a few KB).
 * Every defect is one IsosyncError('BAD_PACKAGE') line naming the field.
 */
import { IsosyncError, quote } from '../errors.js';
import { MemorySource, type ByteSource } from '../store/byte-source.js';
import { formatRpmEvr } from './rpm-version.js';

/** struct rpmlead (format.md "Lead"): byte offsets and sizes. */
const LEAD = {
  size: 96,
  magic: { at: 0, bytes: [0xed, 0xab, 0xee, 0xdb] },
  major: 4,
  type: 6, // int16: 0 binary, 1 source (not consulted: the header's SOURCERPM decides)
  signatureType: 78, // int16: 5 = header-style signature (RPMSIGTYPE_HEADERSIG)
} as const;
const HEADER_SIGNATURE_TYPE = 5;

/** Header structure intro (format.md "The Header Structure"). */
const INTRO = {
  size: 16,
  magic: { at: 0, bytes: [0x8e, 0xad, 0xe8, 0x01] },
  indexCount: 8, // int32 il
  dataSize: 12, // int32 dl
} as const;
/** One index entry: tag, type, offset, count (int32 each). */
const ENTRY = { size: 16, tag: 0, type: 4, offset: 8, count: 12 } as const;

/** rpm's HEADER_TAGS_MAX (lib/header_internal.h): at most 0xffff index entries. */
export const MAX_INDEX_COUNT = 0xffff;
/** rpm's HEADER_DATA_MAX (lib/header_internal.h): a data store of at most 256 MiB. */
export const MAX_DATA_BYTES = 0x0fffffff;
/** Names, versions, releases and source file names are short; a string longer than this is refused. */
export const MAX_STRING_BYTES = 4096;
/** The signature section is padded to this alignment (format.md "Signature"). */
const SIGNATURE_ALIGN = 8;

/** Data types of index entries (format.md; RPM_MIN_TYPE..RPM_MAX_TYPE). */
const TYPE = { INT32: 4, INT64: 5, STRING: 6, MAX: 9 } as const;
/** Byte alignment of the integer types in the store (lib/header.c typeAlign). */
const ALIGN: Record<number, number> = { 3: 2, 4: 4, 5: 8 };

/** Tags read from the main header (rpm's include/rpm/rpmtag.h). */
export const RPMTAG = { NAME: 1000, VERSION: 1001, RELEASE: 1002, EPOCH: 1003, SIZE: 1009, ARCH: 1022, SOURCERPM: 1044 } as const;
/** Signature tags (lib/rpmtag.h RPMSIGTAG_*): the byte size of header + payload. */
const SIGTAG = { SIZE: 1000, LONGSIZE: 270 } as const;

export interface RpmHeaderInfo {
  readonly name: string;
  /** Absent when the package has no EPOCH tag (rpm prints "(none)"). */
  readonly epoch?: number | undefined;
  readonly version: string;
  readonly release: string;
  /** The header's ARCH, or "src" for a source package (no SOURCERPM tag), as repodata lists it. */
  readonly arch: string;
  readonly sourcePackage: boolean;
  /**
   * `[epoch:]version-release` with the epoch omitted when absent or 0: the form
   * indexes.ts gives primary.xml entries (which always carry epoch="0"), so a
   * file and its index entry compare equal.
   */
  readonly evr: string;
  /** Installed size in bytes (SIZE tag), when present. */
  readonly installedSize?: number | undefined;
  /** Byte offset where the payload starts (end of the main header). */
  readonly payloadOffset: number;
}

interface IndexEntry {
  readonly tag: number;
  readonly type: number;
  readonly offset: number;
  readonly count: number;
}

interface HeaderStructure {
  /** Where the structure starts in the file. */
  readonly start: number;
  readonly entries: readonly IndexEntry[];
  /** File offset of the data store, and its size. */
  readonly storeAt: number;
  readonly storeSize: number;
  /** File offset just past the store. */
  readonly end: number;
}

const sameBytes = (b: Uint8Array, at: number, want: readonly number[]): boolean => want.every((x, i) => b[at + i] === x);
const hex = (b: Uint8Array, at: number, n: number): string => [...b.subarray(at, at + n)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Reads the lead and headers of the .rpm in `src` (or in `bytes`); `what` names it in errors. */
export async function readRpmHeader(src: ByteSource | Uint8Array, what: string): Promise<RpmHeaderInfo> {
  const source = src instanceof Uint8Array ? new MemorySource(src) : src;
  const fail = (why: string): never => {
    throw new IsosyncError('BAD_PACKAGE', `Cannot read RPM ${quote(what)}: ${why}`, { file: what });
  };
  const readAt = async (offset: number, length: number, field: string): Promise<Uint8Array> => {
    if (offset + length > source.size) fail(`${field} at byte ${offset} needs ${length} bytes, past the end of the file (${source.size} bytes)`);
    return source.read(offset, length);
  };

  // Lead.
  const lead = await readAt(0, LEAD.size, 'lead');
  if (!sameBytes(lead, LEAD.magic.at, LEAD.magic.bytes)) fail(`lead magic is ${hex(lead, 0, 4)}, not ed ab ee db`);
  const major = lead[LEAD.major]!;
  if (major < 3) fail(`lead format version ${major} is below 3, the oldest supported`);
  const sigType = view(lead).getUint16(LEAD.signatureType);
  if (sigType !== HEADER_SIGNATURE_TYPE) fail(`lead signature type ${sigType} is not ${HEADER_SIGNATURE_TYPE} (header-style signature)`);

  const readStructure = async (start: number, which: string): Promise<HeaderStructure> => {
    const intro = await readAt(start, INTRO.size, `${which} intro`);
    if (!sameBytes(intro, INTRO.magic.at, INTRO.magic.bytes)) fail(`${which} magic at byte ${start} is ${hex(intro, 0, 4)}, not 8e ad e8 01`);
    const il = view(intro).getUint32(INTRO.indexCount);
    const dl = view(intro).getUint32(INTRO.dataSize);
    if (il < 1) fail(`${which} index count is 0`);
    if (il > MAX_INDEX_COUNT) fail(`${which} index count ${il} is above the limit ${MAX_INDEX_COUNT}`);
    if (dl > MAX_DATA_BYTES) fail(`${which} data size ${dl} is above the limit ${MAX_DATA_BYTES}`);
    const indexAt = start + INTRO.size;
    const storeAt = indexAt + il * ENTRY.size;
    if (storeAt + dl > source.size) fail(`${which} at byte ${start} ends at byte ${storeAt + dl}, past the end of the file (${source.size} bytes)`);
    const index = view(await readAt(indexAt, il * ENTRY.size, `${which} index`));
    const entries: IndexEntry[] = [];
    for (let i = 0; i < il; i++) {
      const at = i * ENTRY.size;
      const e = { tag: index.getInt32(at + ENTRY.tag), type: index.getUint32(at + ENTRY.type), offset: index.getInt32(at + ENTRY.offset), count: index.getUint32(at + ENTRY.count) };
      const where = `${which} index entry ${i} (tag ${e.tag})`;
      if (e.type > TYPE.MAX) fail(`${where} has type ${e.type}, above ${TYPE.MAX}`);
      if (e.offset < 0 || e.offset > dl) fail(`${where} has offset ${e.offset}, outside its ${dl}-byte data store`);
      const align = ALIGN[e.type];
      if (align !== undefined && e.offset % align !== 0) fail(`${where} has offset ${e.offset}, not aligned to ${align} bytes`);
      entries.push(e);
    }
    return { start, entries, storeAt, storeSize: dl, end: storeAt + dl };
  };

  /** The value of `tag` in `h`: a string, an int32 or an int64; undefined when the tag is absent. */
  const value = async (h: HeaderStructure, which: string, tag: number, name: string, type: number): Promise<string | number | undefined> => {
    const e = h.entries.find((x) => x.tag === tag);
    if (!e) return undefined;
    const where = `${which} tag ${name} (${tag})`;
    if (e.type !== type) fail(`${where} has type ${e.type}, expected ${type}`);
    if (e.count !== 1) fail(`${where} has count ${e.count}, expected 1`);
    if (type === TYPE.STRING) {
      const n = Math.min(h.storeSize - e.offset, MAX_STRING_BYTES + 1);
      const bytes = await readAt(h.storeAt + e.offset, n, where);
      const nul = bytes.indexOf(0);
      if (nul < 0) fail(`${where} at store offset ${e.offset} has no terminating NUL within ${Math.min(n, MAX_STRING_BYTES)} bytes`);
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, nul));
      } catch {
        return fail(`${where} is not valid UTF-8`);
      }
    }
    const width = type === TYPE.INT64 ? 8 : 4;
    if (e.offset + width > h.storeSize) fail(`${where} at store offset ${e.offset} runs past its ${h.storeSize}-byte data store`);
    const v = view(await readAt(h.storeAt + e.offset, width, where));
    if (width === 4) return v.getUint32(0);
    const big = v.getBigUint64(0);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${where} value ${big} is too large`);
    return Number(big);
  };

  // Signature: its SIZE (or LONGSIZE) says how many bytes the header and payload take.
  const sig = await readStructure(LEAD.size, 'signature header');
  const headerAt = Math.ceil(sig.end / SIGNATURE_ALIGN) * SIGNATURE_ALIGN;
  const sigSize = (await value(sig, 'signature header', SIGTAG.LONGSIZE, 'LONGSIZE', TYPE.INT64)) ?? (await value(sig, 'signature header', SIGTAG.SIZE, 'SIZE', TYPE.INT32));
  if (typeof sigSize === 'number' && headerAt + sigSize !== source.size) {
    fail(`signature says header and payload take ${sigSize} bytes, but the file has ${source.size - headerAt} after the signature (truncated or padded)`);
  }

  // Main header.
  const h = await readStructure(headerAt, 'header');
  const str = async (tag: number, name: string, required: boolean): Promise<string | undefined> => {
    const v = (await value(h, 'header', tag, name, TYPE.STRING)) as string | undefined;
    if (required && (v === undefined || v === '')) fail(`header lacks the ${name} tag (${tag})`);
    return v;
  };
  const name = (await str(RPMTAG.NAME, 'NAME', true))!;
  const version = (await str(RPMTAG.VERSION, 'VERSION', true))!;
  const release = (await str(RPMTAG.RELEASE, 'RELEASE', true))!;
  const arch = (await str(RPMTAG.ARCH, 'ARCH', true))!;
  const epoch = (await value(h, 'header', RPMTAG.EPOCH, 'EPOCH', TYPE.INT32)) as number | undefined;
  const installedSize = (await value(h, 'header', RPMTAG.SIZE, 'SIZE', TYPE.INT32)) as number | undefined;
  const sourceRpm = await str(RPMTAG.SOURCERPM, 'SOURCERPM', false);
  // A binary package names the source package it came from; a source package has no SOURCERPM (rpm's headerIsSource).
  // The lead's type field is not consulted: rpm itself ignores the lead beyond its magic.
  const sourcePackage = sourceRpm === undefined;
  return {
    name,
    ...(epoch !== undefined ? { epoch } : {}),
    version,
    release,
    arch: sourcePackage ? 'src' : arch,
    sourcePackage,
    evr: formatRpmEvr({ version, release, ...(epoch !== undefined ? { epoch } : {}) }),
    ...(installedSize !== undefined ? { installedSize } : {}),
    payloadOffset: h.end,
  };
}
