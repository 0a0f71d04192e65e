/**
 * The listing's shapes, shared by `ls` and `ls --deep`: the type letter of
 * the table and an entry's JSON object, and a writer that streams a listing
 * to stdout in batches (the whole listing of a million entries is never one
 * string).
 */
import type { IsoEntry } from '../../iso/index.js';

export const TYPE_LETTER = { file: '-', dir: 'd', symlink: 'l' } as const;
/** TYPE_LETTER as byte values. */
export const TYPE_BYTE = { file: 0x2d, dir: 0x64, symlink: 0x6c } as const;

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

const SPACE = 0x20;
const NEWLINE = 0x0a;
const SLASH = 0x2f;

/**
 * Buffer's UTF-8 encoder without Buffer.prototype.write's argument checks
 * (the bytes of `s` from `at`; returns how many): called for every row.
 */
const utf8Write = (Buffer.prototype as unknown as { utf8Write(this: Buffer, s: string, at: number): number }).utf8Write;

/** Writes the integer `n` >= 0 right-aligned in `width` bytes (or as many as it needs) at `at`; returns the end. */
function putNumber(buf: Uint8Array, at: number, n: number, width: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  let end = at;
  for (let i = digits; i < width; i++) buf[end++] = SPACE;
  end += digits;
  let x = n;
  for (let p = end - 1; p >= end - digits; p--) {
    buf[p] = 0x30 + (x % 10);
    x = Math.floor(x / 10);
  }
  return end;
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

  /**
   * Adds the table row `letter size lba path[ -> target]\n`, the numbers
   * right-aligned in `sizeWidth` and `lbaWidth` columns: written into the
   * batch as bytes, without a string for the row or its numbers (a
   * listing of 62,500 rows spent more in building them than in writing).
   * The path is written as `parent`, "/" and `name` where the walk gives the
   * parent (tree-sorted.ts EmitEntry): `path`, a rope of those parts, would
   * be flattened into a new string to be written.
   */
  row(letter: number, size: number, sizeWidth: number, lba: number, lbaWidth: number, path: string, parent: string | undefined, name: string, target: string | undefined): Promise<void> | undefined {
    // `path` is written (and counted) only where no parent is given: a caller that gives one may pass "".
    const pathLength = parent === undefined ? path.length : (parent === '/' ? 0 : parent.length) + 1 + name.length;
    const most = 4 + Math.max(sizeWidth, 16) + Math.max(lbaWidth, 16) + 3 * (pathLength + (target === undefined ? 0 : target.length + 4));
    if (most > BATCH_BYTES) {
      const whole = parent === undefined ? path : `${parent === '/' ? '' : parent}/${name}`;
      return this.add(`${String.fromCharCode(letter)} ${String(size).padStart(sizeWidth)} ${String(lba).padStart(lbaWidth)} ${whole}${target !== undefined ? ` -> ${target}` : ''}\n`);
    }
    const wait = this.used + most > BATCH_BYTES ? this.flush() : undefined;
    const buf = this.buf;
    let at = this.used;
    buf[at++] = letter;
    buf[at++] = SPACE;
    at = putNumber(buf, at, size, sizeWidth);
    buf[at++] = SPACE;
    at = putNumber(buf, at, lba, lbaWidth);
    buf[at++] = SPACE;
    if (parent === undefined) at += utf8Write.call(buf, path, at);
    else {
      if (parent !== '/') at += utf8Write.call(buf, parent, at);
      buf[at++] = SLASH;
      at += utf8Write.call(buf, name, at);
    }
    if (target !== undefined) {
      at += utf8Write.call(buf, ' -> ', at);
      at += utf8Write.call(buf, target, at);
    }
    buf[at++] = NEWLINE;
    this.used = at;
    return wait;
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
