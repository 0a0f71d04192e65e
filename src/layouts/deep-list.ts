/**
 * The deep listing of an image (`isosync ls --deep`): every entry of the ISO
 * tree and of every nested image below it, each with its stored extents as
 * byte ranges of the outer image. Nested paths are "container:path"
 * ("/live/filesystem.squashfs:/usr/bin/bash"); a file whose tail sits in a
 * shared block (a squashfs fragment) lists that block's part too.
 */
import type { IsoImage } from '../iso/entry.js';
import type { ByteSource, Span } from '../store/byte-source.js';
import { isoLayout } from './iso-layout.js';
import type { FileTable, LayoutEntryType } from './layout.js';
import { DEFAULT_NEST, findNested, outerCandidates, type NestedImage } from './nested.js';

export interface DeepEntry {
  readonly path: string;
  readonly type: LayoutEntryType;
  readonly size: number;
  /** Stored bytes in the outer image, in file order. */
  readonly extents: Span[];
  readonly target?: string;
  /** The nested format holding it (absent for the ISO's own entries). */
  readonly format?: string;
}

/**
 * Stored bytes of a file (of `img`, or of the outer image) as outer-image
 * spans: its chunks (start, end pairs), then the shared block holding its
 * tail (`tailBlock`, -1: none).
 */
export function extentsOf(chunks: ArrayLike<number>, tailBlock: number, img: NestedImage | undefined): Span[] {
  const out: Span[] = [];
  for (let i = 0; i < chunks.length; i += 2) {
    const a = chunks[i]!;
    const b = chunks[i + 1]!;
    if (b <= a) continue;
    for (const s of img ? img.toImage(a, b) : [{ start: a, end: b }]) out.push(s);
  }
  const blk = img?.layout.shared[tailBlock];
  if (img && blk) for (const s of img.toImage(blk.start, blk.end)) out.push(s);
  return out;
}

/** Entry `f` of `files` as a DeepEntry, its path prefixed by `prefix`. */
function deepEntry(files: FileTable, f: number, img: NestedImage | undefined, prefix: string): DeepEntry {
  const target = files.target(f);
  return {
    path: `${prefix}${files.path(f)}`,
    type: files.type(f),
    size: files.size(f),
    extents: extentsOf(files.chunks(f), files.tailBlock(f), img),
    ...(img ? { format: img.layout.format } : {}),
    ...(target !== undefined ? { target } : {}),
  };
}

export async function deepEntries(iso: IsoImage, src: ByteSource): Promise<{ entries: DeepEntry[]; notes: string[] }> {
  const notes: string[] = [];
  const outer = isoLayout(iso, src);
  const extra = await outerCandidates(src, outer, iso.boot?.entries ?? [], iso.logicalBlockSize);
  const nested = await findNested(src, outer, { ...DEFAULT_NEST, note: (m) => notes.push(m) }, extra);
  const entries: DeepEntry[] = [];
  for (let f = 0; f < outer.files.count; f++) entries.push(deepEntry(outer.files, f, undefined, ''));
  for (const n of nested) for (let f = 0; f < n.layout.files.count; f++) entries.push(deepEntry(n.layout.files, f, n, `${n.path}:`));
  return { entries, notes };
}
