/**
 * Worker thread for verified-writes.ts: checks a piece's SHA-1 and, when it
 * matches, writes the piece into the .part, so that neither costs the main
 * thread anything but a message each way. The piece's bytes are not copied:
 * they lie in the aligned shared memory (aligned.ts) that assembly's piece
 * buffers come from, and a job names them by offset and length.
 *
 * workerData: { mark, memory, pieces, fds: [direct, buffered] }
 *   memory   the aligned memory (a shared WebAssembly.Memory: its buffer is
 *            read again when a job lies past the part this thread has seen)
 *   pieces   the torrent's SHA-1s, 20 bytes per piece
 *   fds      the .part's descriptors: opened with O_DIRECT (-1: none) and not
 * Message in:  jobs, each [id, piece, byteOffset, length, fileOffset]
 * Message out: replies, each [id, WRITTEN | MISMATCH] or [id, FAILED, message, code]
 * (as many in one message as came in one turn: a message each way per piece
 * cost a wake-up of the other thread each)
 *
 * A piece whose hash matches is written before the reply: past the page
 * cache when its offset, length and bytes are aligned (direct-writes.ts says
 * why), on libuv's pool so that several writes wait on the disk at once.
 */
import { createHash } from 'node:crypto';
import { write } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { ALIGN } from './aligned.js';

/** workerData.mark of a thread started by verified-writes.ts (importing this module elsewhere does nothing). */
export const VERIFY_WORKER_MARK = 'isosync-verify-worker';
export const WRITTEN = 1;
export const MISMATCH = 0;
export const FAILED = -1;
const SHA1_BYTES = 20;

export type VerifyJob = [id: number, piece: number, byteOffset: number, length: number, fileOffset: number];
export type VerifyReply = [id: number, status: typeof WRITTEN | typeof MISMATCH] | [id: number, status: typeof FAILED, message: string, code: string];

export interface VerifyWorkerData {
  readonly mark: typeof VERIFY_WORKER_MARK;
  readonly memory: { readonly buffer: SharedArrayBuffer };
  readonly pieces: Uint8Array;
  readonly fds: readonly [direct: number, buffered: number];
}

/** Writes all of `bytes` at `position` (a short write is continued), then calls `done`. */
function writeFully(fd: number, bytes: Uint8Array, position: number, done: (e: NodeJS.ErrnoException | null) => void): void {
  let at = 0;
  const next = (e: NodeJS.ErrnoException | null, n: number) => {
    at += n;
    if (e || at >= bytes.length) done(e);
    else write(fd, bytes, at, bytes.length - at, position + at, next);
  };
  write(fd, bytes, 0, bytes.length, position, next);
}

function serve(data: VerifyWorkerData): void {
  const port = parentPort!;
  let view = new Uint8Array(data.memory.buffer);
  let direct = data.fds[0];
  const buffered = data.fds[1];
  // Replies go back together, once this turn's jobs and write completions are through: one wake-up of the main thread.
  let replies: VerifyReply[] = [];
  const flush = () => {
    const r = replies;
    replies = [];
    port.postMessage(r);
  };
  const reply = (r: VerifyReply) => {
    if (replies.push(r) === 1) setImmediate(flush);
  };
  const one = ([id, piece, at, length, position]: VerifyJob) => {
    if (at + length > view.length) view = new Uint8Array(data.memory.buffer);
    const bytes = view.subarray(at, at + length);
    const want = data.pieces.subarray(piece * SHA1_BYTES, (piece + 1) * SHA1_BYTES);
    if (want.length !== SHA1_BYTES || !createHash('sha1').update(bytes).digest().equals(want)) return reply([id, MISMATCH]);
    let aligned = direct >= 0 && at % ALIGN === 0 && length % ALIGN === 0 && position % ALIGN === 0;
    const done = (e: NodeJS.ErrnoException | null) => {
      if (e && aligned && e.code === 'EINVAL') {
        direct = -1; // the file system refuses O_DIRECT writes: every piece through the page cache from now on
        aligned = false;
        writeFully(buffered, bytes, position, done);
      } else reply(e ? [id, FAILED, e.message, e.code ?? 'EIO'] : [id, WRITTEN]);
    };
    writeFully(aligned ? direct : buffered, bytes, position, done);
  };
  port.on('message', (jobs: VerifyJob[]) => {
    for (const job of jobs) one(job);
  });
}

const data = workerData as VerifyWorkerData | undefined;
if (parentPort && data?.mark === VERIFY_WORKER_MARK) serve(data);
