/**
 * The listing's shapes, shared by `ls` and `ls --deep`: the type letter of
 * the table and an entry's JSON object, and a writer that streams a listing
 * to stdout in batches (the whole listing of a million entries is never one
 * string).
 */
import type { IsoEntry } from '../../iso/index.js';

export const TYPE_LETTER = { file: '-', dir: 'd', symlink: 'l' } as const;

export function entryJson(e: IsoEntry): Record<string, unknown> {
  return {
    path: e.path,
    type: e.type,
    size: e.size,
    lba: e.lba,
    extents: e.extents.map((x) => ({ lba: x.lba, size: x.size })),
    ...(e.target !== undefined ? { target: e.target } : {}),
    ...(e.mode !== undefined ? { mode: e.mode } : {}),
    ...(e.mtimeMs !== undefined ? { mtime: new Date(e.mtimeMs).toISOString() } : {}),
    ...(e.nlink !== undefined && e.nlink > 1 ? { nlink: e.nlink } : {}),
    ...(e.inode !== undefined ? { inode: e.inode } : {}),
  };
}

/** Bytes of listing written at a time. */
const BATCH_BYTES = 64 * 1024;

/** Writes to stdout, waiting for it to drain when it buffers (a slow pipe). */
function writeOut(bytes: Uint8Array): Promise<void> {
  if (bytes.length === 0 || process.stdout.write(bytes)) return Promise.resolve();
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

/**
 * Collects text and writes it to stdout in batches of BATCH_BYTES. Each line
 * is encoded (UTF-8, as stdout encodes a string) into the batch at once, so
 * only the batch's bytes live on: a batch kept as one string of thousands
 * of lines outlived the young generation's collections, and every batch
 * ended in the old generation (tens of MiB of peak memory for a listing of
 * 50,000 files).
 */
export class BatchedOut {
  private buf = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;

  /** Adds `s`; resolves at once unless a batch went out to a pipe that is full. */
  add(s: string): Promise<void> | undefined {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (this.used + s.length * 3 <= BATCH_BYTES) {
      this.used += this.buf.write(s, this.used);
      return undefined;
    }
    const wait = this.flush();
    if (s.length * 3 <= BATCH_BYTES) {
      this.used = this.buf.write(s, 0);
      return wait;
    }
    return wait.then(() => writeOut(Buffer.from(s)));
  }

  /** Writes what is collected; the batch goes to stdout as is, so a fresh one takes its place. */
  flush(): Promise<void> {
    const out = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(BATCH_BYTES);
    this.used = 0;
    return writeOut(out);
  }
}

/**
 * Writes one JSON array element by element: byte for byte what
 * `JSON.stringify(values, null, 2)` prints for the values added.
 */
export class JsonArrayOut {
  private readonly out = new BatchedOut();
  private count = 0;

  add(value: unknown): Promise<void> | undefined {
    const body = JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');
    return this.out.add(`${this.count++ === 0 ? '[\n' : ',\n'}  ${body}`);
  }

  async end(): Promise<void> {
    await this.out.add(this.count === 0 ? '[]\n' : '\n]\n');
    return this.out.flush();
  }
}
