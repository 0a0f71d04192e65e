/**
 * Exact reads of a file descriptor: all the bytes asked for, or an error (a
 * read that reaches the end of the file first is one).
 *
 * Synchronous on purpose, for bounded sizes (SYNC_IO_BYTES): a read of a
 * local file in the page cache is a copy of some hundred kilobytes, ~10 µs of
 * CPU for a 256 KiB read. Handed to libuv's thread pool instead, the same
 * read cost ~150 µs of CPU and ~550 µs of wall on a loaded 2-core machine:
 * the hand-off wakes a pool thread, which takes the core from the main
 * thread, and the promise's completion comes back through the event loop.
 * Writes of the .part stay on the thread pool (store/part-file.ts writePiece
 * says why).
 */
import { readSync } from 'node:fs';

/**
 * The largest read done synchronously: a piece (256 KiB to 1 MiB for the
 * images synced) or a read window. Larger ones go through the thread pool, so
 * that one call never holds the event loop for long.
 */
export const SYNC_IO_BYTES = 1024 * 1024;

/**
 * Reads exactly `length` bytes at `position` of `fd` into `dest[at, at+length)`;
 * `ended(pos)` is the error thrown when the file ends at `pos` first.
 */
export function readExactSync(fd: number, dest: Uint8Array, at: number, length: number, position: number, ended: (pos: number) => Error): void {
  for (let done = 0; done < length; ) {
    const n = readSync(fd, dest, at + done, length - done, position + done);
    if (n === 0) throw ended(position + done);
    done += n;
  }
}
