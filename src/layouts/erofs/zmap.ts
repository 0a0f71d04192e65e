/**
 * The cluster index of a compressed EROFS inode (the kernel's fs/erofs/zmap.c):
 * the file is cut into logical clusters (lclusters) of 2^lclusterbits bytes;
 * each lcluster is PLAIN or HEAD (a new extent starts in it, at `clusterofs`,
 * stored in physical cluster `pblk`) or NONHEAD (it continues the extent
 * started `delta[0]` lclusters back). Two encodings:
 *  - full ("legacy"): one 8-byte z_erofs_lcluster_index per lcluster;
 *  - compact: packs of 2 lclusters in 8 bytes (4B) or 16 in 32 bytes (2B),
 *    each pack ending with a 32-bit base block address; HEADs in a pack get
 *    consecutive blocks after it.
 * The result is each extent's logical start and its stored bytes: one block
 * per extent, or `compressedblks` blocks with big pclusters, or the inline
 * tail right after the index (ztailpacking).
 */
import { ADVISE, D0_CBLKCNT, FULL_INDEX_BYTES, LCLUSTER, MAP_HEADER, MAP_HEADER_BYTES, u16, u32 } from './format.js';

export interface ZMap {
  readonly algorithm: number;
  readonly lclusterBytes: number;
  /**
   * The extents as columns, not an object each (108,214 objects in the two walks of the live bench pair, ~30 MB
   * of short-lived heap with the pointers to them): each extent's first logical (uncompressed) byte, ...
   */
  readonly las: number[];
  /** ... its first stored byte and the byte after its stored bytes, as pairs (the inline tail's in the metadata: ztailpacking), ... */
  readonly bounds: number[];
  /** ... and the indexes of the extents stored uncompressed (PLAIN lclusters; few). */
  readonly raw: number[];
  /** Bytes of the index (map header and lcluster entries, inline tail included) from the header on. */
  readonly indexBytes: number;
}

/**
 * The lclusters of an index as columns (not an object each): the
 * type; for HEAD/PLAIN where the extent starts in the lcluster, for NONHEAD delta[0] (or the CBLKCNT-flagged block
 * count); the physical block.
 */
interface Lclusters {
  readonly type: Uint8Array;
  readonly lo: Uint16Array;
  readonly pblk: Float64Array;
}

/**
 * The columns of the index being decoded, shared by every readZMap call and grown as needed: three typed arrays a
 * file were a third of a cold walk's garbage. Safe to share: a call fills and reads them with no await in between.
 */
let shared: Lclusters = { type: new Uint8Array(1024), lo: new Uint16Array(1024), pblk: new Float64Array(1024) };

/** Lclusters the shared columns grow to at most (1 MB of them: a 256 MiB file); a longer index gets its own. */
const SHARED_MAX = 65536;

function lclusters(n: number): Lclusters {
  if (n > SHARED_MAX) return { type: new Uint8Array(n), lo: new Uint16Array(n), pblk: new Float64Array(n) };
  if (shared.type.length < n) {
    const size = Math.min(SHARED_MAX, Math.max(n, 2 * shared.type.length));
    shared = { type: new Uint8Array(size), lo: new Uint16Array(size), pblk: new Float64Array(size) };
  }
  return shared;
}

export interface ZInode {
  /** Byte offset of the map header (the inode end with its xattrs, 8-aligned). */
  readonly headerPos: number;
  readonly size: number;
  readonly compact: boolean;
  readonly blkszbits: number;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Where the lcluster entries lie, from the map header: [start, end) in the image, and the lcluster bits. */
export function indexSpan(z: ZInode, h: Uint8Array): { start: number; end: number; lclusterbits: number; total: number } {
  const advise = u16(h, MAP_HEADER.advise);
  const lclusterbits = z.blkszbits + (h[MAP_HEADER.clusterbits]! & 7);
  const total = Math.ceil(z.size / 2 ** lclusterbits);
  if (!z.compact) {
    // Z_EROFS_FULL_INDEX_ALIGN: the 8-byte map header, 8 reserved bytes, then one entry per lcluster.
    const start = z.headerPos + MAP_HEADER_BYTES + 8;
    return { start, end: start + total * FULL_INDEX_BYTES, lclusterbits, total };
  }
  const ebase = z.headerPos + MAP_HEADER_BYTES;
  let initial = (32 - (ebase % 32)) / 4;
  if (initial === 8) initial = 0;
  initial = Math.min(initial, total);
  const twoB = advise & ADVISE.COMPACTED_2B && initial < total && lclusterbits === 12 ? Math.floor((total - initial) / 16) * 16 : 0;
  const rest = total - initial - twoB;
  return { start: ebase, end: ebase + align(initial * 4 + twoB * 2 + rest * 4, 8) + 8, lclusterbits, total };
}

/** Decodes the index; `read(at, len)` reads the image, `fail` throws the reader's error. */
export async function readZMap(z: ZInode, read: (at: number, len: number) => Promise<Uint8Array> | Uint8Array, maxIndexBytes: number, fail: (p: string) => never): Promise<ZMap> {
  const h = await read(z.headerPos, MAP_HEADER_BYTES);
  const advise = u16(h, MAP_HEADER.advise);
  const algorithm = h[MAP_HEADER.algorithm]! & 0xf;
  const lclusterbits = z.blkszbits + (h[MAP_HEADER.clusterbits]! & 7);
  const idataSize = u16(h, MAP_HEADER.idataSize);
  if (advise & ADVISE.FRAGMENT_PCLUSTER) fail('fragment pclusters are not supported');
  if (lclusterbits > 14 && z.compact) fail(`compact index with lclusters of 2^${lclusterbits} bytes`);
  const lsz = 2 ** lclusterbits;
  const total = Math.ceil(z.size / lsz);
  const big = (advise & (ADVISE.BIG_PCLUSTER_1 | ADVISE.BIG_PCLUSTER_2)) !== 0;
  const blksz = 2 ** z.blkszbits;

  // Taken once the index's length is checked against the budget (a corrupt size would ask for any number of lclusters),
  // and after the index is read (the columns are shared: no await between filling them and reading them).
  let lc: Lclusters;
  /** Byte offset just after the pack (or entry) holding the last lcluster: where an inline tail starts. */
  let lastPackEnd = 0;
  let indexEnd: number;
  const where = indexSpan(z, h);
  if (!z.compact) {
    const base = where.start;
    const len = where.end - where.start;
    if (len > maxIndexBytes) fail(`cluster index of ${len} bytes is over the limit`);
    const b = await read(base, len);
    lc = lclusters(total);
    for (let i = 0; i < total; i++) {
      const at = i * FULL_INDEX_BYTES;
      const type = u16(b, at) & 3;
      lc.type[i] = type;
      lc.lo[i] = type === LCLUSTER.NONHEAD ? u16(b, at + 4) : u16(b, at + 2);
      lc.pblk[i] = u32(b, at + 4);
      lastPackEnd = base + at + FULL_INDEX_BYTES;
    }
    indexEnd = base + len;
  } else {
    const ebase = z.headerPos + MAP_HEADER_BYTES;
    let initial = (32 - (ebase % 32)) / 4;
    if (initial === 8) initial = 0;
    initial = Math.min(initial, total);
    const twoB = advise & ADVISE.COMPACTED_2B && initial < total && lclusterbits === 12 ? Math.floor((total - initial) / 16) * 16 : 0;
    const len = where.end - ebase;
    if (len > maxIndexBytes) fail(`cluster index of ${len} bytes is over the limit`);
    const b = await read(ebase, Math.min(len, Math.max(0, maxIndexBytes)));
    lc = lclusters(total);
    // Three runs: 4B packs up to 32-byte alignment, 2B packs, 4B packs (indexed: a for-of over them allocated per step).
    let pos = ebase;
    const pack = newPack();
    for (let seg = 0; seg < 3; seg++) {
      const from = seg === 0 ? 0 : seg === 1 ? initial : initial + twoB;
      const to = seg === 0 ? initial : seg === 1 ? initial + twoB : total;
      const shift = seg === 1 ? 1 : 2;
      for (let lcn = from; lcn < to; lcn++) lastPackEnd = unpackCompact(b, ebase, pos + (lcn - from) * (1 << shift), shift, lclusterbits, big, fail, lc, lcn, pack);
      pos += (to - from) * (1 << shift);
    }
    indexEnd = ebase + align(pos - ebase, 8);
  }

  const las: number[] = [];
  const bounds: number[] = [];
  const raw: number[] = [];
  let tailHead = -1;
  for (let lcn = 0; lcn < total; lcn++) {
    const type = lc.type[lcn]!;
    const lo = lc.lo[lcn]!;
    if (type === LCLUSTER.NONHEAD) {
      if (lcn === 0) fail('the first lcluster is not a head');
      continue;
    }
    if (lo >= lsz) fail(`lcluster ${lcn} starts its extent at ${lo}, beyond ${lsz}`);
    let blocks = 1;
    if (big && type !== LCLUSTER.PLAIN && lcn + 1 < total && lc.type[lcn + 1] === LCLUSTER.NONHEAD && lc.lo[lcn + 1]! & D0_CBLKCNT) blocks = lc.lo[lcn + 1]! & ~D0_CBLKCNT;
    const la = lcn * lsz + lo;
    if (la >= z.size) continue;
    if (type === LCLUSTER.PLAIN) raw.push(las.length);
    las.push(la);
    const pa = lc.pblk[lcn]! * blksz;
    bounds.push(pa, pa + blocks * blksz);
    tailHead = lcn;
  }
  // ztailpacking: the last extent is stored inline, right after the pack (or entry) of the last lcluster
  // (the kernel's z_erofs_do_map_blocks takes z_idataoff from the lcluster of byte i_size - 1).
  if (advise & ADVISE.INLINE_PCLUSTER && las.length > 0 && tailHead >= 0) {
    const at = lastPackEnd;
    bounds[bounds.length - 2] = at;
    bounds[bounds.length - 1] = at + idataSize;
    indexEnd = Math.max(indexEnd, at + idataSize);
  }
  return { algorithm, lclusterBytes: lsz, las, bounds, raw, indexBytes: indexEnd - z.headerPos };
}

/**
 * decode_compactedbits: `bits` of lcluster i, low `lclusterbits` = lo, then 2 bits of type; packed in one
 * number (lo, then the type at bit 16: lclusterbits is at most 14 here), since a pack of 16 decodes each
 * entry up to 16 times and an object each time was most of a metadata walk's garbage.
 */
function bitsAt(b: Uint8Array, packBase: number, bitPos: number, lclusterbits: number): number {
  const at = packBase + (bitPos >> 3);
  const v = ((b[at] ?? 0) | ((b[at + 1] ?? 0) << 8) | ((b[at + 2] ?? 0) << 16) | ((b[at + 3] ?? 0) << 24)) >>> (bitPos & 7);
  return (v & ((1 << lclusterbits) - 1)) | (((v >>> lclusterbits) & 3) << 16);
}
const loOf = (x: number): number => x & 0xffff;
const typeOf = (x: number): number => x >>> 16;

/**
 * One pack's entries decoded (type and lo of each, as bitsAt gives them): the lclusters of a pack are unpacked one
 * after another, and each HEAD's block counts the heads before it in its pack, so decoding the entries once a pack
 * (not up to 16 times each) was most of the cold walk's index decoding (a 2B pack: 16 entries, ~8 steps back each).
 */
interface Pack {
  /** Absolute byte offset of the pack decoded, -1 before the first. */
  start: number;
  readonly type: Uint8Array;
  readonly lo: Uint16Array;
}

const newPack = (): Pack => ({ start: -1, type: new Uint8Array(16), lo: new Uint16Array(16) });

/**
 * unpack_compacted_index: the lcluster whose entry is at byte `pos` (absolute), in a pack of 2 (shift 2) or 16
 * (shift 1), written at `lcn` of `out`; returns the byte just after its pack. `pack`: the pack decoded last.
 */
function unpackCompact(b: Uint8Array, ebase: number, pos: number, shift: number, lclusterbits: number, big: boolean, fail: (p: string) => never, out: Lclusters, lcn: number, pack: Pack): number {
  const vcnt = shift === 2 ? 2 : 16;
  const packBytes = vcnt << shift;
  const encodebits = ((packBytes - 4) * 8) / vcnt;
  const packStart = Math.floor(pos / packBytes) * packBytes;
  const nextpackoff = packStart + packBytes;
  const base = packStart - ebase; // into b
  if (base < 0 || base + packBytes > b.length) fail(`cluster index pack at byte ${packStart} lies outside the index`);
  // Packs of 2 and of 16 never share a start: the offset alone tells the pack.
  if (pack.start !== packStart) {
    for (let k = 0; k < vcnt; k++) {
      const x = bitsAt(b, base, encodebits * k, lclusterbits);
      pack.type[k] = typeOf(x);
      pack.lo[k] = loOf(x);
    }
    pack.start = packStart;
  }
  let i = (pos - packStart) >> shift;
  const type = pack.type[i]!;
  out.type[lcn] = type;
  out.lo[lcn] = pack.lo[i]!;
  if (type === LCLUSTER.NONHEAD) {
    out.pblk[lcn] = 0;
    return nextpackoff;
  }
  let nblk: number;
  if (!big) {
    nblk = 1;
    while (i > 0) {
      i--;
      if (pack.type[i] === LCLUSTER.NONHEAD) i -= pack.lo[i]!;
      if (i >= 0) nblk++;
    }
  } else {
    nblk = 0;
    while (i > 0) {
      i--;
      const lo = pack.lo[i]!;
      if (pack.type[i] === LCLUSTER.NONHEAD) {
        if (lo & D0_CBLKCNT) {
          i--;
          nblk += lo & ~D0_CBLKCNT;
          continue;
        }
        if (lo <= 1) fail(`big-pcluster index at byte ${pos} has a NONHEAD delta of ${lo}`);
        i -= lo - 2;
        continue;
      }
      nblk++;
    }
  }
  out.pblk[lcn] = u32(b, base + packBytes - 4) + nblk;
  return nextpackoff;
}
