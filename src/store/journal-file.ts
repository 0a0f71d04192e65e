/**
 * Resuming from the received-block journal (block-journal.ts) when a `.part`
 * is opened again: the blocks an earlier run received for pieces not verified
 * are copied to their place in the .part (never into a verified piece), a
 * piece that thereby has all its bytes is verified at once, and the journal
 * is rewritten to hold in-place records of the rest, so later appends follow
 * a record that is whole. The journal is read in chunks (CHUNK_BYTES), not
 * whole: its size does not raise the peak memory of a resume.
 */
import { open, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { pieceIndex } from '../core/ids.js';
import { covers, mergeSpans, subtractSpans, type Span } from '../core/span.js';
import { pieceCheckOf, type CheckSource } from '../torrent/piece-check.js';
import { decodeRecord, encodeRecords, HEADER_BYTES, journalHeader, MAX_DATA_BYTES, MAX_RECORDS, type JournalRecord } from './block-journal.js';
import { readFully } from './file-source.js';
import { IsosyncError } from '../errors.js';

/** Journal bytes read at a time: at least one whole record of the largest size. */
export const CHUNK_BYTES = 2 * MAX_DATA_BYTES;

export async function writeAll(handle: FileHandle, bytes: Uint8Array, at: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, at + done);
    done += bytesWritten;
  }
}

/** Writes `parts` one after another at `at`, in vectored writes (IOV_BATCH buffers at most each). */
export async function writevAll(handle: FileHandle, parts: readonly Uint8Array[], at: number): Promise<void> {
  for (let i = 0; i < parts.length; ) {
    const batch = parts.slice(i, i + IOV_BATCH);
    let size = 0;
    for (const b of batch) size += b.length;
    const { bytesWritten } = await handle.writev(batch, at);
    // A short vectored write (rare on a regular file): the rest as one buffer.
    if (bytesWritten < size) await writeAll(handle, Buffer.concat(batch).subarray(bytesWritten), at + bytesWritten);
    at += size;
    i += batch.length;
  }
}

/** Buffers per vectored write: below IOV_MAX (1024 on Linux). */
const IOV_BATCH = 512;

/** Calls `each` for every record of the journal at `path` that belongs to `target`, in order, until the first short or bad one. */
async function readRecords(path: string, target: CheckSource, each: (r: JournalRecord) => Promise<void>): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await fh.read(head, 0, HEADER_BYTES, 0);
    if (bytesRead < HEADER_BYTES || !head.equals(journalHeader(pieceCheckOf(target).fingerprint))) return;
    let buf = Buffer.alloc(0);
    let at = 0;
    let pos = HEADER_BYTES;
    let eof = false;
    for (let n = 0; n < MAX_RECORDS; ) {
      const step = decodeRecord(buf, at, target.length);
      if (step === 'bad') return;
      if (step === 'short') {
        if (eof) return;
        const rest = buf.subarray(at);
        const next = Buffer.allocUnsafe(rest.length + CHUNK_BYTES);
        rest.copy(next, 0);
        const r = await fh.read(next, rest.length, CHUNK_BYTES, pos);
        pos += r.bytesRead;
        eof = r.bytesRead === 0;
        buf = next.subarray(0, rest.length + r.bytesRead);
        at = 0;
        continue;
      }
      await each(step.record);
      at = step.next;
      n++;
    }
  } finally {
    await fh.close();
  }
}

const pieceSpan = (t: CheckSource, p: number): Span => ({ start: p * t.pieceLength, end: Math.min(t.length, (p + 1) * t.pieceLength) });

/**
 * The ranges an earlier run journaled, in pieces not verified (`have`, which
 * gains the pieces the journal completes); their bytes are in the .part
 * (`part`) when this resolves. Without a .part to resume (`existing` false),
 * a journal left behind is removed.
 */
export async function resumeJournal(journal: string, part: FileHandle, target: CheckSource, have: boolean[], existing: boolean): Promise<Span[]> {
  const spans: Span[] = [];
  const touched = new Set<number>();
  const pl = target.pieceLength;
  if (!existing) {
    await unlink(journal).catch(() => undefined);
    return [];
  }
  try {
    await readRecords(journal, target, async (r) => {
      for (let p = Math.floor(r.start / pl); p * pl < r.end; p++) {
        if (have[p]) continue;
        const start = Math.max(r.start, p * pl);
        const end = Math.min(r.end, (p + 1) * pl);
        if (r.data) {
          await writeAll(part, r.data.subarray(start - r.start, end - r.start), start);
          touched.add(p);
        }
        spans.push({ start, end });
      }
    });
  } catch {
    await unlink(journal).catch(() => undefined);
    return [];
  }
  let received = mergeSpans(spans);
  // A piece the journal completed verifies now, as if its blocks had been in the .part.
  const check = pieceCheckOf(target);
  const verified: Span[] = [];
  for (const p of touched) {
    const whole = pieceSpan(target, p);
    if (!covers(received, [whole])) continue;
    const bytes = await readFully(part, journal, whole.start, whole.end - whole.start).catch(() => undefined);
    if (bytes && check.matches(pieceIndex(p), bytes)) {
      have[p] = true;
      verified.push(whole);
    }
  }
  if (verified.length > 0) received = subtractSpans(received, mergeSpans(verified));
  try {
    if (received.length === 0) await unlink(journal);
    else {
      await writeFile(`${journal}.new`, Buffer.concat([journalHeader(check.fingerprint), encodeRecords(received)]));
      await rename(`${journal}.new`, journal);
    }
  } catch {
    return []; // not rewritten: not used, so appends cannot follow a torn record
  }
  return received;
}

/** An IO error with a one-line message saying what failed (the .part's writes and its finish). */
export function ioError(what: string, e: unknown, path: string): IsosyncError {
  const err = e as NodeJS.ErrnoException;
  // A write on the verifying thread (verified-writes.ts) comes back as an IsosyncError with the system's code as errno.
  const code = e instanceof IsosyncError && typeof e.fields.errno === 'string' ? e.fields.errno : err.code;
  const why = code === 'ENOSPC' ? 'the disk is full' : code === 'EACCES' ? 'permission denied' : err.message;
  return new IsosyncError('IO', `${what}: ${why}`, { path }, { cause: e });
}

/**
 * Appends records to the journal of received blocks (`NAME.part.blocks`), opened on the first append (with its
 * header, or after the records of a resumed run), in as few writes as they come; a record's ranges count as received
 * (`onWritten`) once it is written.
 */
export class JournalAppender {
  private handle: FileHandle | undefined;
  private at = 0;
  /** Appends waiting: encoded records, and the ranges they make received once written. */
  private readonly pending: { parts: Uint8Array[]; spans: Span[] }[] = [];
  private appending: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly path: string,
    /** The journal holds an earlier run's records: appended to, not started anew. */
    private readonly resumed: boolean,
    private readonly fingerprint: () => Uint8Array,
    private readonly onWritten: (s: Span) => void,
  ) {}

  append(parts: Uint8Array[], spans: Span[]): void {
    this.pending.push({ parts, spans });
    this.appending ??= this.appendPending().finally(() => (this.appending = undefined));
  }

  /** The appends under way, if any. */
  get busy(): Promise<void> | undefined {
    return this.appending;
  }

  private async appendPending(): Promise<void> {
    try {
      while (this.pending.length > 0 && !this.closed) {
        const done = this.pending.splice(0);
        const batch = done.length === 1 ? done[0]!.parts : done.flatMap((d) => d.parts);
        if (!this.handle) {
          this.handle = await open(this.path, this.resumed ? 'r+' : 'w');
          if (this.resumed) this.at = (await this.handle.stat()).size;
          else {
            await writeAll(this.handle, journalHeader(this.fingerprint()), 0);
            this.at = HEADER_BYTES;
          }
        }
        await writevAll(this.handle, batch, this.at);
        for (const b of batch) this.at += b.length;
        for (const d of done) for (const s of d.spans) this.onWritten(s);
      }
    } catch {
      // a journal that cannot be written only costs a resume its unverified blocks
      this.pending.length = 0;
    }
  }

  /** Appends nothing more and closes the journal; `strict`: a failure to close throws. */
  async close(strict: boolean): Promise<void> {
    this.closed = true;
    const h = this.handle;
    this.handle = undefined;
    if (strict) await h?.close();
    else await h?.close().catch(() => undefined);
  }
}
