/**
 * FAT12/16/32 (Microsoft's "FAT: General Overview of On-Disk Format" 1.03,
 * the EFI system partition format of UEFI 2.x §13.3): the BIOS parameter
 * block in sector 0, the FATs, the root directory (a fixed area on FAT12/16,
 * a cluster chain on FAT32), and 32-byte directory entries with long names
 * (LFN entries, attribute 0x0F, in reverse order before their short entry).
 * A file's stored chunks are its cluster chain, merged into contiguous runs;
 * FAT stores content as is, so the chunks hold the file's bytes (raw).
 */
import { IsosyncError, quote } from '../../errors.js';
import type { ByteSource, Span } from '../../store/byte-source.js';
import { SpanTable, FileTableBuilder, chunkArray, readChunks, type Layout, type LayoutLimits, type LayoutReader, type MetadataBudget } from '../layout.js';

/** BPB field offsets (FAT spec §3.1, §3.3). */
const BPB = { bytesPerSector: 11, sectorsPerCluster: 13, reserved: 14, fats: 16, rootEntries: 17, total16: 19, fatSize16: 22, total32: 32, fatSize32: 36, rootCluster: 44 } as const;
const DIRENT = 32;
const ATTR = { DIR: 0x10, VOLUME: 0x08, LFN: 0x0f } as const;

const u16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
const pow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

interface Geometry {
  bps: number;
  clusterBytes: number;
  fatStart: number;
  fatBytes: number;
  rootStart: number;
  rootBytes: number;
  dataStart: number;
  clusters: number;
  bits: 12 | 16 | 32;
  rootCluster: number;
  size: number;
}

function geometry(b: Uint8Array): Geometry | undefined {
  if (b.length < 512 || b[510] !== 0x55 || b[511] !== 0xaa) return undefined;
  const bps = u16(b, BPB.bytesPerSector);
  const spc = b[BPB.sectorsPerCluster]!;
  const reserved = u16(b, BPB.reserved);
  const fats = b[BPB.fats]!;
  if (!pow2(bps) || bps < 512 || bps > 4096 || !pow2(spc) || reserved < 1 || fats < 1 || fats > 4) return undefined;
  const total = u16(b, BPB.total16) || u32(b, BPB.total32);
  const fatSize = u16(b, BPB.fatSize16) || u32(b, BPB.fatSize32);
  const rootEntries = u16(b, BPB.rootEntries);
  const rootSectors = Math.ceil((rootEntries * DIRENT) / bps);
  const dataSector = reserved + fats * fatSize + rootSectors;
  if (total === 0 || fatSize === 0 || dataSector >= total) return undefined;
  const clusters = Math.floor((total - dataSector) / spc);
  const bits = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  if (bits === 32 && rootEntries !== 0) return undefined;
  return {
    bps,
    clusterBytes: bps * spc,
    fatStart: reserved * bps,
    fatBytes: fatSize * bps,
    rootStart: (reserved + fats * fatSize) * bps,
    rootBytes: rootSectors * bps,
    dataStart: dataSector * bps,
    clusters,
    bits,
    rootCluster: bits === 32 ? u32(b, BPB.rootCluster) : 0,
    size: total * bps,
  };
}

class Fat {
  fat?: Uint8Array;
  readonly spans: Span[] = [];
  constructor(readonly src: ByteSource, readonly g: Geometry, readonly budget: MetadataBudget, readonly fail: (p: string) => never) {}

  async meta(at: number, len: number, what: string): Promise<Uint8Array> {
    if (at < 0 || at + len > this.src.size) this.fail(`${what} at byte ${at} (${len} bytes) lies beyond the image`);
    if (!this.budget.take(len)) this.fail(`metadata exceeds the limit of ${this.budget.limit} bytes`);
    this.spans.push({ start: at, end: at + len });
    return this.src.read(at, len);
  }

  next(c: number): number {
    const f = this.fat!;
    if (this.g.bits === 12) {
      const at = c + (c >> 1);
      const v = u16(f, at);
      return c & 1 ? v >> 4 : v & 0xfff;
    }
    return this.g.bits === 16 ? u16(f, c * 2) : u32(f, c * 4) & 0x0fffffff;
  }

  /** The cluster chain from `first`, as byte runs; at most `maxClusters` clusters (a loop or a crafted chain stops there). */
  chain(first: number, maxClusters: number, what: string): Span[] {
    const runs: Span[] = [];
    const eoc = this.g.bits === 12 ? 0xff8 : this.g.bits === 16 ? 0xfff8 : 0x0ffffff8;
    let c = first;
    for (let n = 0; n < maxClusters; n++) {
      if (c < 2 || c >= this.g.clusters + 2) this.fail(`${what} reaches cluster ${c}, outside clusters 2..${this.g.clusters + 1}`);
      const start = this.g.dataStart + (c - 2) * this.g.clusterBytes;
      const last = runs[runs.length - 1];
      if (last && last.end === start) runs[runs.length - 1] = { start: last.start, end: start + this.g.clusterBytes };
      else runs.push({ start, end: start + this.g.clusterBytes });
      c = this.next(c);
      if (c >= eoc) return runs;
    }
    return runs;
  }
}

async function readFat(src: ByteSource, name: string, limits: LayoutLimits, budget: MetadataBudget): Promise<Layout> {
  const fail = (p: string): never => {
    throw new IsosyncError('BAD_ISO', `Cannot read FAT ${quote(name)}: ${p}`, { image: name });
  };
  const boot = await src.read(0, Math.min(src.size, 512));
  const g = geometry(boot) ?? fail('sector 0 holds no valid FAT boot sector');
  if (g.dataStart > src.size) fail(`data area at byte ${g.dataStart} lies beyond the ${src.size} bytes of the image`);
  const fs = new Fat(src, g, budget, fail);
  fs.spans.push({ start: 0, end: g.fatStart });
  fs.fat = await fs.meta(g.fatStart, g.fatBytes, 'the FAT');
  // The other FAT copies are metadata too.
  fs.spans.push({ start: g.fatStart, end: g.rootStart });
  // A chain cannot be longer than the clusters the image really holds (a crafted BPB may claim more, or loop).
  const maxClusters = Math.min(g.clusters, Math.floor((src.size - g.dataStart) / g.clusterBytes)) + 1;
  const files = new FileTableBuilder();
  const stack: { runs: Span[]; path: string; index: number; depth: number }[] = [
    {
      runs: g.bits === 32 ? fs.chain(g.rootCluster, maxClusters, 'the root directory') : [{ start: g.rootStart, end: g.rootStart + g.rootBytes }],
      path: '',
      index: files.add(-1, '/', { type: 'dir', size: 0 }),
      depth: 0,
    },
  ];
  const seen = new Set<number>();
  const dec16 = new TextDecoder('utf-16le');
  while (stack.length > 0) {
    const { runs, path, index, depth } = stack.pop()!;
    if (depth > limits.depth) fail(`directories nest deeper than ${limits.depth} levels at ${quote(path)}`);
    let lfn: string[] = [];
    // A directory ends at its first free entry (first byte 0): it is read a sector, then twice as much, and so on up to
    // there, not whole (a FAT12/16 root directory is a fixed area of 512 entries, 16 KiB of zeros but for a few entries:
    // read while planning, it was fetched whole when the EFI image changed). Only what is read is metadata: the rest is
    // free space (guessed as zeros, as mkfs.vfat writes it).
    let ended = false;
    for (const r of runs) {
      const end = Math.min(r.end, src.size);
      for (let from = r.start, step = g.bps; from < end && !ended; from += step, step *= 2) {
        const d = await fs.meta(from, Math.min(step, end - from), `directory ${quote(path || '/')}`);
        for (let at = 0; at + DIRENT <= d.length; at += DIRENT) {
          const first = d[at]!;
          if (first === 0) {
            ended = true;
            break;
          }
          if (first === 0xe5) {
            lfn = [];
            continue;
          }
          const attr = d[at + 11]!;
          if (attr === ATTR.LFN) {
            const part = dec16.decode(new Uint8Array([...d.subarray(at + 1, at + 11), ...d.subarray(at + 14, at + 26), ...d.subarray(at + 28, at + 32)]));
            lfn.unshift(part);
            continue;
          }
          const short = shortName(d.subarray(at, at + 11), d[at + 12]!);
          const long = lfn.length > 0 ? lfn.join('').split('\u0000')[0]! : '';
          lfn = [];
          if (attr & ATTR.VOLUME || short === '.' || short === '..') continue;
          const nm = long || short;
          if (nm.includes('/') || nm.length === 0) fail(`directory ${quote(path || '/')} has entry ${quote(nm)}, not a plain name`);
          if (files.count >= limits.entries) fail(`more than ${limits.entries} entries`);
          const p = `${path}/${nm}`;
          const cluster = (g.bits === 32 ? u16(d, at + 20) * 65536 : 0) + u16(d, at + 26);
          const size = u32(d, at + 28);
          if (attr & ATTR.DIR) {
            const at = files.add(index, nm, { type: 'dir', size: 0 });
            if (cluster >= 2 && !seen.has(cluster)) {
              seen.add(cluster);
              stack.push({ runs: fs.chain(cluster, maxClusters, `directory ${quote(p)}`), path: p, index: at, depth: depth + 1 });
            }
            continue;
          }
          let chunks: Span[] = [];
          if (size > 0) {
            const need = Math.ceil(size / g.clusterBytes);
            const runsOf = fs.chain(cluster, need, `file ${quote(p)}`);
            let left = size;
            chunks = [];
            for (const x of runsOf) {
              const len = Math.min(left, x.end - x.start);
              chunks.push({ start: x.start, end: x.start + len });
              left -= len;
            }
            if (left > 0) fail(`file ${quote(p)} has ${size} bytes but its cluster chain holds ${size - left}`);
            for (const c of chunks) if (c.end > src.size) fail(`file ${quote(p)} has data up to byte ${c.end}, beyond the image`);
          }
          files.add(index, nm, { type: 'file', size, chunks: chunkArray(chunks), raw: true });
        }
      }
      if (ended) break;
    }
  }
  return {
    format: 'fat',
    size: Math.min(g.size, src.size),
    files: files.finish(),
    metadata: SpanTable.merged(fs.spans),
    shared: [],
    readContent: async (file, maxBytes) => {
      if (file.size > maxBytes) fail(`${quote(file.path)} has ${file.size} bytes, over the limit of ${maxBytes}`);
      return readChunks(src, file);
    },
  };
}

/** Windows NT case flags in byte 12 of a short entry: base name, extension stored in lower case. */
const LOWER_BASE = 0x08;
const LOWER_EXT = 0x10;

function latin1(codes: readonly number[]): string {
  let s = '';
  for (const c of codes) s += String.fromCharCode(c);
  return s;
}

/** "NAME    EXT" -> "NAME.EXT" (trailing spaces dropped; 0x05 stands for 0xE5; NT case flags applied). */
function shortName(b: Uint8Array, flags: number): string {
  const raw = Array.from(b, (c, i) => (i === 0 && c === 0x05 ? 0xe5 : c));
  // 11 bytes at most: a loop, not a call spread.
  let base = latin1(raw.slice(0, 8)).trimEnd();
  let ext = latin1(raw.slice(8, 11)).trimEnd();
  if (flags & LOWER_BASE) base = base.toLowerCase();
  if (flags & LOWER_EXT) ext = ext.toLowerCase();
  return ext ? `${base}.${ext}` : base;
}

export const fatReader: LayoutReader = {
  format: 'fat',
  sniff: (head) => geometry(head) !== undefined,
  read: readFat,
};
