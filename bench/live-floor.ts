/**
 * The block floor of a live-image delta: the least a client that reads the
 * target's metadata (ISO and nested) and copies whole stored blocks from
 * local data must fetch.
 *
 *   floor = ISO metadata (as bench/floor.ts counts it)
 *         + ISO files that are no nested image and whose content no source file has
 *         + every nested image's metadata
 *         + stored chunks and shared blocks of nested files whose bytes (SHA-256)
 *           appear in no source stored chunk, shared block or file
 *
 * It is coarser than a byte floor (`zstd --long --patch-from`, which also finds
 * runs inside changed compressed blocks) and finer than the file floor.
 *
 *   node dist/bench/live-floor.js TARGET.iso SOURCE.iso [--json]
 */
import { createHash } from 'node:crypto';
import { readIso, regionMap, type IsoImage } from '../src/iso/index.js';
import { isoLayout } from '../src/layouts/iso-layout.js';
import { DEFAULT_NEST, findNested, outerCandidates, type NestedImage } from '../src/layouts/nested.js';
import type { ByteSource } from '../src/store/byte-source.js';
import { FileSource } from '../src/store/file-source.js';

const METADATA = new Set(['volume-descriptor', 'path-table', 'directory', 'continuation', 'boot-catalog']);

export interface LiveFloor {
  floorBytes: number;
  isoMetadataBytes: number;
  isoFileBytes: number;
  nestedMetadataBytes: number;
  nestedBlockBytes: number;
}

async function nestedOf(src: ByteSource, iso: IsoImage): Promise<NestedImage[]> {
  const outer = isoLayout(iso, src);
  return findNested(src, outer, DEFAULT_NEST, await outerCandidates(src, outer, iso.boot?.entries ?? [], iso.logicalBlockSize));
}

async function hashSpan(src: ByteSource, start: number, end: number): Promise<string> {
  return createHash('sha256').update(await src.read(start, end - start)).digest('base64');
}

/** Hashes of every stored chunk, shared block and ISO file of an image (absolute spans). */
async function storedHashes(src: ByteSource, iso: IsoImage, nested: readonly NestedImage[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const n of nested) {
    // The file table's columns, not an object per file.
    const fs = n.layout.files;
    for (let i = 0; i < fs.count; i++) for (let k = 0; k < fs.chunkCount(i); k++) for (const s of n.toImage(fs.chunkStart(i, k), fs.chunkEnd(i, k))) if (s.end > s.start) out.add(await hashSpan(src, s.start, s.end));
    for (const b of n.layout.shared) for (const s of n.toImage(b.start, b.end)) out.add(await hashSpan(src, s.start, s.end));
  }
  for (const e of iso.entries) if (e.type === 'file' && e.size > 0 && e.extents.length === 1) out.add(await hashSpan(src, e.lba * iso.logicalBlockSize, e.lba * iso.logicalBlockSize + e.size));
  return out;
}

export async function computeLiveFloor(targetPath: string, sourcePath: string): Promise<LiveFloor> {
  const t = await FileSource.open(targetPath);
  const s = await FileSource.open(sourcePath);
  try {
    const ti = await readIso(t);
    const si = await readIso(s);
    const tn = await nestedOf(t, ti);
    const known = await storedHashes(s, si, await nestedOf(s, si));
    let isoMetadataBytes = 0;
    for (const r of regionMap(ti)) if (METADATA.has(r.kind)) isoMetadataBytes += r.end - r.start;
    const containers = new Set(tn.filter((n) => n.depth === 1).map((n) => n.path));
    let isoFileBytes = 0;
    for (const e of ti.entries) {
      if (e.type !== 'file' || e.size === 0 || containers.has(e.path)) continue;
      const a = e.lba * ti.logicalBlockSize;
      if (!known.has(await hashSpan(t, a, a + e.size))) isoFileBytes += e.size;
    }
    let nestedMetadataBytes = 0;
    let nestedBlockBytes = 0;
    for (const n of tn) {
      for (const m of n.layout.metadata) nestedMetadataBytes += m.end - m.start;
      const spans: { start: number; end: number }[] = [];
      const fs = n.layout.files;
      for (let i = 0; i < fs.count; i++) for (let k = 0; k < fs.chunkCount(i); k++) for (const x of n.toImage(fs.chunkStart(i, k), fs.chunkEnd(i, k))) spans.push(x);
      for (const b of n.layout.shared) for (const x of n.toImage(b.start, b.end)) spans.push(x);
      const seen = new Set<number>();
      for (const x of spans) {
        if (x.end <= x.start || seen.has(x.start)) continue;
        seen.add(x.start);
        if (!known.has(await hashSpan(t, x.start, x.end))) nestedBlockBytes += x.end - x.start;
      }
    }
    return { floorBytes: isoMetadataBytes + isoFileBytes + nestedMetadataBytes + nestedBlockBytes, isoMetadataBytes, isoFileBytes, nestedMetadataBytes, nestedBlockBytes };
  } finally {
    await t.close();
    await s.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [target, source] = process.argv.slice(2);
  if (!target || !source) {
    process.stderr.write('usage: node dist/bench/live-floor.js TARGET.iso SOURCE.iso\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(await computeLiveFloor(target, source), null, 1)}\n`);
}
