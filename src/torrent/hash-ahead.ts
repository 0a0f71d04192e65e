/**
 * Hashing on the calling thread with its reads done ahead, on libuv's thread
 * pool: while this thread hashes one READ_BYTES chunk, the next ones are
 * being read into the other buffers of a small ring, so reading (the copy
 * out of the page cache, ~0.3 s of system time per GiB) and hashing overlap
 * without a worker thread.
 *
 * Why not a worker: a worker costs ~0.12-0.16 s of CPU to start (a Node
 * isolate and its bootstrap) and, on a loaded machine, waits for a core
 * before it hashes anything. On 2 cores, hashing a 348 MiB image from the
 * page cache this way took 0.36-0.43 CPU s and 0.4-0.8 s wall, against
 * 0.47-0.52 CPU s and 0.9-1.8 s wall for the calling thread beside one
 * worker (sync reads each), in alternated rounds at load ~10
 * (bench/publish-bench.ts; mktorrent -t 2: 0.29-0.38 CPU s).
 *
 * Memory: the ring, AHEAD_BUFFERS x READ_BYTES (3 MiB).
 */
import { read } from 'node:fs';
import { RangeHasher, shortRead, type HashJob } from './hash-worker.js';

/** Buffers in the ring: one being hashed and two being read (measured: 3 x 1 MiB beat 2 x 1, 2 x 2 and 2 x 4 MiB). */
export const AHEAD_BUFFERS = 3;

/** One read on the thread pool. */
function readOnce(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/** Reads exactly `length` bytes at `position` into the start of `buf`. */
async function readFull(fd: number, buf: Buffer, length: number, position: number, end: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const n = await readOnce(fd, buf, got, length - got, position + got);
    if (n === 0) throw shortRead(position + got, end);
    got += n;
  }
  return got;
}

/**
 * Hashes [start, end) of the file, reading ahead into the `ring` buffers
 * (all of one length). Every read has ended when this settles, so the ring
 * and the descriptor are free again.
 */
export async function hashRangeAhead(fd: number, job: Omit<HashJob, 'id' | 'path'>, ring: readonly Buffer[]): Promise<Uint8Array> {
  const { start, end } = job;
  const chunk = ring[0]!.length;
  const count = Math.ceil((end - start) / chunk);
  const hasher = new RangeHasher(job);
  const queue: Promise<number>[] = [];
  const issue = (k: number) => {
    const at = start + k * chunk;
    const p = readFull(fd, ring[k % ring.length]!, Math.min(chunk, end - at), at, end);
    p.catch(() => undefined); // awaited in turn below; a later read's failure must not go unhandled meanwhile
    queue.push(p);
  };
  for (let k = 0; k < Math.min(ring.length, count); k++) issue(k);
  try {
    for (let k = 0; k < count; k++) {
      const n = await queue[k]!;
      hasher.feed(ring[k % ring.length]!.subarray(0, n));
      if (k + ring.length < count) issue(k + ring.length);
    }
  } catch (e) {
    await Promise.allSettled(queue);
    throw e;
  }
  return hasher.digests();
}
