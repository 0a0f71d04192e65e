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
 * Message in:  jobs, each [id, piece, byteOffset, length, fileOffset, cached, reads?]
 *              (cached 1: written through the page cache even when aligned;
 *              reads: [fd, position, at, length] per run of the piece that this
 *              thread reads into it first, fd -1 zeros: a piece of local bytes
 *              costs the main thread no copy)
 * Message out: replies, each [id, WRITTEN | MISMATCH] or [id, FAILED, message, code]
 * (as many in one message as came in one turn: a message each way per piece
 * cost a wake-up of the other thread each)
 *
 * A piece whose hash matches is written before the reply: past the page
 * cache when its offset, length and bytes are aligned (direct-writes.ts says
 * why), on libuv's pool. Verified pieces wait for a write while MAX_WRITES
 * are under way, and adjacent ones go out together (one pwritev of up to
 * WRITE_BATCH_BYTES): the reply for a piece still comes only once its bytes
 * are written, so a killed run leaves only written pieces counted.
 */
import { createHash } from 'node:crypto';
import { readSync, writev } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { ALIGN } from './aligned.js';
import { WriteBatches, type WaitingPiece } from './write-batches.js';

/** workerData.mark of a thread started by verified-writes.ts (importing this module elsewhere does nothing). */
export const VERIFY_WORKER_MARK = 'isosync-verify-worker';
export const WRITTEN = 1;
export const MISMATCH = 0;
export const FAILED = -1;
const SHA1_BYTES = 20;
/**
 * The most bytes one write takes: verified pieces that lie next to each other in the file go out in one
 * pwritev. With O_DIRECT every write waits for the device, and each is a hand-off to libuv's pool: the DVD
 * pair's 365 MiB target fed through the .part with this worker took 0.58-0.78 s of process CPU in batches
 * (16 pieces in flight) against 0.80-1.08 s one piece per write (8 in flight), 6 rounds each at load 17-21.
 */
export const WRITE_BATCH_BYTES = 2 * 1024 * 1024;
/** Writes in flight at once: one waits on the disk while the pieces for the next one gather. */
export const MAX_WRITES = 2;

export type VerifyJob = [id: number, piece: number, byteOffset: number, length: number, fileOffset: number, cached: 0 | 1, reads?: readonly number[]];
export type VerifyReply = [id: number, status: typeof WRITTEN | typeof MISMATCH] | [id: number, status: typeof FAILED, message: string, code: string];

export interface VerifyWorkerData {
  readonly mark: typeof VERIFY_WORKER_MARK;
  readonly memory: { readonly buffer: SharedArrayBuffer };
  readonly pieces: Uint8Array;
  readonly fds: readonly [direct: number, buffered: number];
}

/** Writes all of `parts`, back to back from `position` (pwritev; a short write is continued), then calls `done`. */
function writeAll(fd: number, parts: Uint8Array[], position: number, done: (e: NodeJS.ErrnoException | null) => void): void {
  let rest = parts;
  let at = position;
  const next = (e: NodeJS.ErrnoException | null, n: number) => {
    if (e) return done(e);
    if (n <= 0) return done({ name: 'Error', message: 'a write wrote nothing', code: 'EIO' });
    at += n;
    while (n > 0 && rest.length > 0) {
      const first = rest[0]!;
      if (n >= first.length) {
        n -= first.length;
        rest = rest.slice(1);
      } else {
        rest = [first.subarray(n), ...rest.slice(1)];
        n = 0;
      }
    }
    if (rest.length === 0) done(null);
    else writev(fd, rest, at, next);
  };
  writev(fd, rest, at, next);
}

/**
 * Fills `bytes` from `reads` ([fd, position, at, length] each; fd -1: zeros): false when a read fails or a file
 * ends first (the main thread then fills the piece itself and meets the error there).
 */
function fill(bytes: Uint8Array, reads: readonly number[]): boolean {
  try {
    for (let k = 0; k + 3 < reads.length; k += 4) {
      const [fd, position, at, length] = [reads[k]!, reads[k + 1]!, reads[k + 2]!, reads[k + 3]!];
      if (fd < 0) {
        bytes.fill(0, at, at + length);
        continue;
      }
      for (let done = 0; done < length; ) {
        const n = readSync(fd, bytes, at + done, length - done, position + done);
        if (n === 0) return false;
        done += n;
      }
    }
    return true;
  } catch {
    return false;
  }
}

/** A piece whose hash matched, waiting for its write. */
interface Verified extends WaitingPiece {
  readonly id: number;
  readonly bytes: Uint8Array;
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
  // Verified pieces waiting for a write, handed out as runs of adjacent ones (write-batches.ts).
  const waiting = new WriteBatches<Verified>();
  let writing = 0;
  const pump = () => {
    while (writing < MAX_WRITES && waiting.size > 0) {
      const run = waiting.next(WRITE_BATCH_BYTES);
      const parts = run.map((v) => v.bytes);
      let viaDirect = direct >= 0 && run[0]!.aligned;
      const done = (e: NodeJS.ErrnoException | null) => {
        if (e && viaDirect && e.code === 'EINVAL') {
          direct = -1; // the file system refuses O_DIRECT writes: every piece through the page cache from now on
          viaDirect = false;
          return writeAll(buffered, parts, run[0]!.position, done);
        }
        writing--;
        for (const v of run) reply(e ? [v.id, FAILED, e.message, e.code ?? 'EIO'] : [v.id, WRITTEN]);
        pump();
      };
      writing++;
      writeAll(viaDirect ? direct : buffered, parts, run[0]!.position, done);
    }
  };
  const one = ([id, piece, at, length, position, cached, reads]: VerifyJob) => {
    if (at + length > view.length) view = new Uint8Array(data.memory.buffer);
    const bytes = view.subarray(at, at + length);
    if (reads && !fill(bytes, reads)) return reply([id, MISMATCH]);
    const want = data.pieces.subarray(piece * SHA1_BYTES, (piece + 1) * SHA1_BYTES);
    if (want.length !== SHA1_BYTES || !createHash('sha1').update(bytes).digest().equals(want)) return reply([id, MISMATCH]);
    waiting.add({ id, bytes, position, length, aligned: cached === 0 && at % ALIGN === 0 && length % ALIGN === 0 && position % ALIGN === 0 });
  };
  port.on('message', (jobs: VerifyJob[]) => {
    for (const job of jobs) one(job);
    pump();
  });
}

const data = workerData as VerifyWorkerData | undefined;
if (parentPort && data?.mark === VERIFY_WORKER_MARK) serve(data);
