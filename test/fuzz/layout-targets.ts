/**
 * Fuzz targets of the nested filesystem readers (src/layouts): squashfs,
 * EROFS and FAT. Seeds are small images made here by the real tools
 * (mksquashfs with each compressor, mkfs.erofs compressed and plain,
 * mkfs.vfat + mcopy) over a small tree, so one input costs little to copy;
 * without the tools, the nested images of the committed live fixtures. Hot
 * ranges are each seed's own metadata spans. One input reads the layout and
 * the content of its first files (the decompressors).
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEntryChunks, readIso } from '../../src/iso/index.js';
import { DEFAULT_LIMITS, MetadataBudget, type LayoutReader } from '../../src/layouts/layout.js';
import { erofsReader } from '../../src/layouts/erofs/read.js';
import { fatReader } from '../../src/layouts/fat/read.js';
import { squashfsReader } from '../../src/layouts/squashfs/read.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { FileSource } from '../../src/store/file-source.js';
import { FIXTURES, hasTool, spawnTool, tempDir } from '../helpers/env.js';
import type { Seed } from './mutate.js';
import type { FuzzTarget } from './protocol.js';

/** Metadata bytes one input may read (the readers' own budget). */
const BUDGET_BYTES = 64 * 1024 * 1024;
/** Files whose content one input reads. */
const CONTENT_FILES = 4;
/** Inputs in the test suite's run: a seed image is 50-70 KB, some 200-400 inputs a second here. */
const SHORT_RUN = 2000;

/** A small tree: tiny files (squashfs fragments, EROFS inline tails), multi-block files, a symlink, nesting, a long name. */
function makeTree(dir: string): void {
  let x = 0x2545f491;
  const bytes = (n: number, text: boolean): Buffer => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = text ? 0x61 + ((x >>> 0) % 6) : x & 0xff;
    }
    return b;
  };
  mkdirSync(join(dir, 'etc', 'apt'), { recursive: true });
  mkdirSync(join(dir, 'usr', 'share', 'doc', 'package-with-a-rather-long-name-for-a-directory'), { recursive: true });
  writeFileSync(join(dir, 'etc', 'hostname'), 'live\n');
  writeFileSync(join(dir, 'etc', 'apt', 'sources.list'), bytes(700, true));
  writeFileSync(join(dir, 'usr', 'share', 'doc', 'package-with-a-rather-long-name-for-a-directory', 'copyright'), bytes(3000, true));
  writeFileSync(join(dir, 'usr', 'big.bin'), bytes(40_000, false));
  writeFileSync(join(dir, 'usr', 'text.txt'), bytes(20_000, true));
  writeFileSync(join(dir, 'empty'), '');
  symlinkSync('etc/hostname', join(dir, 'hostname-link'));
}

function run(cmd: string, args: string[]): boolean {
  return spawnTool(cmd, args, { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } }).status === 0;
}

/** Reads a seed with its reader, to name its metadata as the hot ranges; a seed that does not read is left out. */
async function withHot(reader: LayoutReader, bytes: Uint8Array): Promise<Seed | undefined> {
  try {
    const layout = await reader.read(new MemorySource(bytes), 'seed', DEFAULT_LIMITS, new MetadataBudget(BUDGET_BYTES));
    return { bytes, hot: [...layout.metadata].map((s) => ({ start: s.start, end: s.end })) };
  } catch {
    return undefined;
  }
}

/** The files of `iso` (a committed fixture) whose path matches, read whole. */
async function nestedFromFixture(iso: string, path: RegExp): Promise<Uint8Array[]> {
  const src = await FileSource.open(join(FIXTURES, 'live', iso));
  try {
    const img = await readIso(src, { name: iso });
    const out: Uint8Array[] = [];
    for (const e of img.entries.filter((x) => x.type === 'file' && path.test(x.path))) {
      const chunks: Uint8Array[] = [];
      for await (const c of readEntryChunks(src, e)) chunks.push(c.slice());
      out.push(Buffer.concat(chunks));
    }
    return out;
  } finally {
    await src.close();
  }
}

async function seedsOf(reader: LayoutReader, make: (tree: string, dir: string) => string[], fallback: () => Promise<Uint8Array[]>): Promise<Seed[]> {
  const tmp = tempDir('isosync-fuzz-layout-');
  try {
    const tree = join(tmp.dir, 'tree');
    mkdirSync(tree);
    makeTree(tree);
    const made = make(tree, tmp.dir).map((p) => new Uint8Array(readFileSync(p)));
    const images = made.length > 0 ? made : await fallback();
    const out: Seed[] = [];
    for (const b of images) {
      const s = await withHot(reader, b);
      if (s) out.push(s);
    }
    return out;
  } finally {
    tmp.cleanup();
  }
}

function layoutTarget(name: string, what: string, reader: LayoutReader, make: (tree: string, dir: string) => string[], fallback: () => Promise<Uint8Array[]>, dictionary: string[]): FuzzTarget {
  return {
    name,
    what,
    seeds: () => seedsOf(reader, make, fallback),
    dictionary,
    inPlace: true,
    shortRun: SHORT_RUN,
    run: async (b) => {
      const layout = await reader.read(new MemorySource(b), 'fuzz', DEFAULT_LIMITS, new MetadataBudget(BUDGET_BYTES));
      let n = 0;
      for (const f of layout.files) {
        if (f.type !== 'file' || n++ >= CONTENT_FILES) continue;
        await layout.readContent(f, 1024 * 1024);
      }
      return layout.files.count;
    },
  };
}

const squashfsImages = (tree: string, dir: string): string[] => {
  if (!hasTool('mksquashfs')) return [];
  const out: string[] = [];
  for (const [comp, extra] of [['gzip', []], ['xz', []], ['lz4', []], ['zstd', []], ['gzip', ['-noI', '-noD', '-noF', '-noX']]] as const) {
    const p = join(dir, `${comp}-${out.length}.squashfs`);
    if (run('mksquashfs', [tree, p, '-comp', comp, '-b', '4096', '-noappend', '-quiet', '-processors', '1', ...extra])) out.push(p);
  }
  return out;
};

const erofsImages = (tree: string, dir: string): string[] => {
  if (!hasTool('mkfs.erofs')) return [];
  const out: string[] = [];
  for (const opts of [['-zlz4hc', '-Eztailpacking'], ['-zlz4'], []]) {
    const p = join(dir, `erofs-${out.length}.img`);
    if (run('mkfs.erofs', [...opts, '-T1700000000', '--all-root', p, tree])) out.push(p);
  }
  return out;
};

const fatImages = (tree: string, dir: string): string[] => {
  if (!hasTool('mkfs.vfat') || !hasTool('mcopy')) return [];
  const out: string[] = [];
  for (const [bits, kib] of [['12', '1024'], ['16', '8192']] as const) {
    const p = join(dir, `fat${bits}.img`);
    if (!run('mkfs.vfat', ['-C', '-F', bits, '-i', '12345678', p, kib])) continue;
    if (run('mcopy', ['-s', '-i', p, join(tree, 'etc'), join(tree, 'usr'), join(tree, 'empty'), '::/'])) out.push(p);
  }
  return out;
};

export const LAYOUT_TARGETS: readonly FuzzTarget[] = [
  layoutTarget('squashfs', 'squashfs reader and its block decompressors (gzip, xz, lz4, zstd)', squashfsReader, squashfsImages,
    () => nestedFromFixture('live-1.iso', /\.squashfs$/), ['hsqs', '\u0000\u0000\u0000\u0000', '\u00ff\u00ff\u00ff\u00ff']),
  layoutTarget('erofs', 'EROFS reader (compressed clusters, inline tails)', erofsReader, erofsImages,
    () => nestedFromFixture('live-erofs-1.iso', /squashfs\.img$/), ['\u00e2\u00e1\u00f5\u00e0']),
  layoutTarget('fat', 'FAT12/16/32 reader (EFI boot images)', fatReader, fatImages,
    () => nestedFromFixture('live-1.iso', /\.(img|efi)$/i), ['FAT12   ', 'FAT16   ', 'FAT32   ', '\u0055\u00aa']),
];
