/**
 * Opening an image for the ISO commands (ls, regions, extract): a FileSource
 * plus the parsed tree, closed by the caller. The image is named in errors
 * as the user typed it. The tree is read through a BlockCache: 256 KiB per
 * system call instead of one call per directory (150,000 directories took
 * over a minute of waiting on single-sector reads).
 */
import { readIso, type IsoImage } from './index.js';
import { BlockCache } from '../store/block-cache.js';
import { FileSource } from '../store/file-source.js';

export interface WithImageOptions {
  /** Only the entries are wanted (ls, extract): the other tree, which only the region map needs, is not walked. */
  readonly entriesOnly?: boolean;
}

export async function withImage<T>(path: string, fn: (img: IsoImage, src: FileSource) => Promise<T>, opts: WithImageOptions = {}): Promise<T> {
  const src = await FileSource.open(path);
  try {
    const img = await readIso(new BlockCache(src), { name: path, ...(opts.entriesOnly ? { otherTree: false } : {}) });
    return await fn(img, src);
  } finally {
    await src.close();
  }
}
