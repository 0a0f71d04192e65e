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
import type { LayoutEntryType, LayoutFile } from './layout.js';
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

/** Stored bytes of `f` (a file of `img`, or of the outer image) as outer-image spans: its chunks, then its shared block. */
export function extentsOf(f: LayoutFile, img: NestedImage | undefined): Span[] {
  const out: Span[] = [];
  for (let i = 0; i < f.chunks.length; i += 2) {
    const a = f.chunks[i]!;
    const b = f.chunks[i + 1]!;
    if (b <= a) continue;
    for (const s of img ? img.toImage(a, b) : [{ start: a, end: b }]) out.push(s);
  }
  if (f.tail && img) {
    const blk = img.layout.shared[f.tail.block];
    if (blk) for (const s of img.toImage(blk.start, blk.end)) out.push(s);
  }
  return out;
}

export async function deepEntries(iso: IsoImage, src: ByteSource): Promise<{ entries: DeepEntry[]; notes: string[] }> {
  const notes: string[] = [];
  const outer = isoLayout(iso, src);
  const extra = await outerCandidates(src, outer, iso.boot?.entries ?? [], iso.logicalBlockSize);
  const nested = await findNested(src, outer, { ...DEFAULT_NEST, note: (m) => notes.push(m) }, extra);
  const entries: DeepEntry[] = [];
  for (const f of outer.files) entries.push({ path: f.path, type: f.type, size: f.size, extents: extentsOf(f, undefined), ...(f.target !== undefined ? { target: f.target } : {}) });
  for (const n of nested) {
    for (const f of n.layout.files) {
      entries.push({ path: `${n.path}:${f.path}`, type: f.type, size: f.size, extents: extentsOf(f, n), format: n.layout.format, ...(f.target !== undefined ? { target: f.target } : {}) });
    }
  }
  return { entries, notes };
}
