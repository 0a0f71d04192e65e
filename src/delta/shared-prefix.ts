/**
 * Which old compressed shared block (a squashfs fragment block) holds the
 * prefix of a changed one.
 *
 * A fragment block is one compressed stream of the tails it holds, one after
 * the other; a compressor writes the same bytes for as long as its input is
 * the same, so the old block that starts with the same tail (the same file,
 * the same tail length, at offset 0) holds the new block's prefix, up to the
 * first tail that differs. mksquashfs packs tails in directory order: a file
 * added or removed before a block moves every later block to another index
 * (measured on the live bench pair: the changed fragment blocks after an
 * added package start like the old block one index before), so the old
 * block at the same index holds other tails, and its guess costs samples and
 * a failed piece for nothing. The same index stays the guess where no old
 * block starts with the same tail.
 *
 * Pure: works on layouts; memory is one string per shared block.
 */
import type { Layout } from '../layouts/layout.js';

/** Per shared block, "path\0length" of the tail at its offset 0 (undefined: none, or an uncompressed block). */
export function leadingTails(layout: Layout): (string | undefined)[] {
  const out: (string | undefined)[] = layout.shared.map(() => undefined);
  const files = layout.files;
  // By the columns: a path string only for a tail at offset 0 (about one per block), no Tail object per file.
  for (let f = 0; f < files.count; f++) {
    const b = files.tailBlock(f);
    if (b >= 0 && b < out.length && files.tailOffset(f) === 0 && !layout.shared[b]!.raw) out[b] = `${files.path(f)}\0${files.tailLength(f)}`;
  }
  return out;
}

/** Leading tail -> the index of the (first) shared block that starts with it. */
export function blocksByLeadingTail(layout: Layout): Map<string, number> {
  const out = new Map<string, number>();
  leadingTails(layout).forEach((k, i) => {
    if (k !== undefined && !out.has(k)) out.set(k, i);
  });
  return out;
}

/** The old block to guess changed block `index` from: the one that starts with its leading tail, else the same index. */
export function oldSharedIndex(index: number, leading: string | undefined, old: ReadonlyMap<string, number>): number {
  return (leading !== undefined ? old.get(leading) : undefined) ?? index;
}
