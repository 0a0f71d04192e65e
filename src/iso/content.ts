/**
 * File content, read extent by extent in bounded chunks (never the whole
 * file in memory), through the same ByteSource the reader used.
 */
import type { ByteSource } from '../store/byte-source.js';
import type { IsoEntry } from './entry.js';

/** Default read size: large enough for sequential disk speed, small enough to bound memory. */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** Yields the content of `entry` (all extents in order) in chunks of at most `chunkBytes`. */
export async function* readEntryChunks(
  src: ByteSource, entry: IsoEntry, chunkBytes = DEFAULT_CHUNK_BYTES, blockSize = 2048,
): AsyncGenerator<Uint8Array> {
  if (entry.type !== 'file') return;
  const step = Math.max(1, Math.floor(chunkBytes));
  for (const x of entry.extents) {
    const start = x.lba * blockSize;
    for (let done = 0; done < x.size; done += step) {
      yield await src.read(start + done, Math.min(step, x.size - done));
    }
  }
}
