/**
 * Opening an image for the ISO commands (ls, regions, extract): a FileSource
 * plus the parsed tree, closed by the caller. The image is named in errors
 * as the user typed it.
 */
import { readIso, type IsoImage } from './index.js';
import { FileSource } from '../store/file-source.js';

export async function withImage<T>(path: string, fn: (img: IsoImage, src: FileSource) => Promise<T>): Promise<T> {
  const src = await FileSource.open(path);
  try {
    const img = await readIso(src, { name: path });
    return await fn(img, src);
  } finally {
    await src.close();
  }
}
