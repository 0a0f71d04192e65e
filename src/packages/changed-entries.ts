/**
 * What `isosync extract NEW --changed-from OLD` writes: the files and
 * symlinks of NEW that OLD lacks or holds differently (size, then content,
 * compared chunk by chunk; a symlink's target). Package files included: this
 * is what an upgrade needs. Swapping the images gives what a rollback needs.
 */
import type { IsoEntry, IsoImage } from '../iso/index.js';
import type { ByteSource } from '../store/byte-source.js';
import { sameEntryContent } from './image-diff.js';

export async function changedEntries(oldSrc: ByteSource, oldImage: IsoImage, newSrc: ByteSource, newImage: IsoImage): Promise<IsoEntry[]> {
  const oldByPath = new Map(oldImage.entries.map((e) => [e.path, e]));
  const out: IsoEntry[] = [];
  for (const e of newImage.entries) {
    if (e.type === 'dir') continue;
    const o = oldByPath.get(e.path);
    if (!o || o.type !== e.type) out.push(e);
    else if (e.type === 'symlink') {
      if (o.target !== e.target) out.push(e);
    } else if (o.size !== e.size || !(await sameEntryContent(oldSrc, o, oldImage.logicalBlockSize, newSrc, e, newImage.logicalBlockSize))) {
      out.push(e);
    }
  }
  return out;
}
