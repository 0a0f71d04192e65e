/**
 * Open file handles shared by the requests for one file. A web seed (BEP 19)
 * reads an image in many small ranges, up to 200 in one multipart request,
 * and opening and closing the file for each range cost ~12 s of a 150 s
 * `serve` profile. A handle stays open while requests use it and IDLE_MS
 * after the last; it is keyed by the file's identity (device, inode, size,
 * mtime, path), so a file replaced on disk gets a new handle and the old one
 * closes once idle. At most MAX_IDLE idle handles are kept (the oldest go).
 */
import type { Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** An unused handle is closed after this long (ms). */
export const IDLE_MS = 2000;
/** Idle handles kept at most. */
export const MAX_IDLE = 32;

interface Entry {
  readonly handle: Promise<FileHandle>;
  users: number;
  timer?: NodeJS.Timeout;
}

/** Open handles by identity; a Map keeps insertion order, so the first idle entry is the oldest. */
const entries = new Map<string, Entry>();

/**
 * Runs `use` with an open file descriptor of `path` (whose Stats the caller
 * took); it is shared: `use` reads at explicit positions and does not close
 * it. (A descriptor, not the FileHandle: every stream made from a FileHandle
 * adds a listener to it that is never removed.)
 */
export async function withOpenFile<T>(path: string, st: Stats, use: (fd: number) => Promise<T>): Promise<T> {
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${path}`;
  let e = entries.get(key);
  if (!e) {
    e = { handle: open(path, 'r'), users: 0 };
    entries.set(key, e);
    const mine = e;
    e.handle.catch(() => entries.get(key) === mine && entries.delete(key));
  }
  e.users++;
  clearTimeout(e.timer);
  try {
    return await use((await e.handle).fd);
  } finally {
    release(key, e);
  }
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
