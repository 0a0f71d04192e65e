/**
 * Open file handles shared by the requests for one file. A web seed (BEP 19)
 * reads an image in many small ranges, up to 200 in one multipart request,
 * and opening and closing the file for each range cost ~12 s of a 150 s
 * `serve` profile. A handle stays open while requests use it and IDLE_MS
 * after the last; it is keyed by the file's identity (device, inode, size,
 * mtime, path), so a file replaced on disk gets a new handle and the old one
 * closes once idle. At most MAX_IDLE idle handles are kept (the oldest go).
 *
 * Requests read through `SharedFile.range` (positional reads of the handle),
 * never through an fs.ReadStream on the descriptor: destroying such a stream
 * closes its descriptor even with `autoClose: false`, so one client that
 * went away mid-reply closed the handle every other reply of that image was
 * reading (they failed with EBADF, and the number could be reused by the
 * next open or accepted socket). A read in flight counts as a use: the
 * handle is not closed under it.
 */
import type { Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { IsosyncError } from '../errors.js';

/** An unused handle is closed after this long (ms). */
export const IDLE_MS = 2000;
/** Idle handles kept at most. */
export const MAX_IDLE = 32;
/** Bytes read at once (an fs.ReadStream's default chunk). */
export const CHUNK_BYTES = 64 * 1024;

/** A shared open file: reads at explicit positions; its users never close it. */
export interface SharedFile {
  /** Bytes [start, end] (inclusive) in chunks of at most CHUNK_BYTES; fails if the file is shorter. */
  range(start: number, end: number): AsyncGenerator<Buffer>;
}

interface Entry {
  readonly handle: Promise<FileHandle>;
  /** The one SharedFile of the handle, once open. */
  file?: SharedFile;
  /** Requests using it, and reads in flight. */
  users: number;
  timer?: NodeJS.Timeout;
}

/** Open handles by identity; a Map keeps insertion order, so the first idle entry is the oldest. */
const entries = new Map<string, Entry>();

/** Runs `use` with the shared open file of `path` (whose Stats the caller took): one SharedFile while the handle is open. */
export async function withOpenFile<T>(path: string, st: Stats, use: (f: SharedFile) => Promise<T>): Promise<T> {
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${path}`;
  let e = entries.get(key);
  if (!e) {
    e = { handle: open(path, 'r'), users: 0 };
    entries.set(key, e);
    const mine = e;
    e.handle.catch(() => entries.get(key) === mine && entries.delete(key));
  }
  const entry = e;
  acquire(entry);
  try {
    const fh = await entry.handle;
    entry.file ??= { range: (start, end) => chunks(key, entry, fh, path, start, end) };
    return await use(entry.file);
  } finally {
    release(key, entry);
  }
}

async function* chunks(key: string, e: Entry, fh: FileHandle, path: string, start: number, end: number): AsyncGenerator<Buffer> {
  for (let at = start; at <= end; ) {
    const n = Math.min(CHUNK_BYTES, end + 1 - at);
    // The read holds the handle open, even if the request that asked for it has already gone.
    acquire(e);
    let got: number;
    const buf = Buffer.allocUnsafe(n);
    try {
      got = (await fh.read(buf, 0, n, at)).bytesRead;
    } finally {
      release(key, e);
    }
    if (got === 0) throw new IsosyncError('IO', `Cannot read ${JSON.stringify(path)}: it ends before byte ${at}`, { path, offset: at });
    at += got;
    yield buf.subarray(0, got);
  }
}

function acquire(e: Entry): void {
  e.users++;
  clearTimeout(e.timer);
}

function release(key: string, e: Entry): void {
  if (--e.users > 0) return;
  e.timer = setTimeout(() => closeEntry(key, e), IDLE_MS);
  e.timer.unref();
  let idle = 0;
  for (const x of entries.values()) if (x.users === 0) idle++;
  for (const [k, x] of entries) {
    if (idle <= MAX_IDLE) break;
    if (x.users > 0) continue;
    closeEntry(k, x);
    idle--;
  }
}

function closeEntry(key: string, e: Entry): void {
  if (e.users > 0 || entries.get(key) !== e) return;
  clearTimeout(e.timer);
  entries.delete(key);
  e.handle.then((fh) => fh.close()).catch(() => undefined);
}
