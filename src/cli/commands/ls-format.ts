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

/** Characters of listing written at a time. */
const BATCH_CHARS = 256 * 1024;

/** Writes to stdout, waiting for it to drain when it buffers (a slow pipe). */
function writeOut(text: string): Promise<void> {
  if (text === '' || process.stdout.write(text)) return Promise.resolve();
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

/** Collects text and writes it to stdout in batches of BATCH_CHARS. */
export class BatchedOut {
  private text = '';

  /** Adds `s`; resolves at once unless a batch went out to a pipe that is full. */
  add(s: string): Promise<void> | undefined {
    this.text += s;
    if (this.text.length < BATCH_CHARS) return undefined;
    const t = this.text;
    this.text = '';
    return writeOut(t);
  }

  flush(): Promise<void> {
    const t = this.text;
    this.text = '';
    return writeOut(t);
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
