/**
 * HTTP range requests and replies (RFC 9110 §14), read as the bytes arrive.
 * Pure: no sockets. The web seed feeds reply bytes in; these say where in
 * the file each byte belongs, and refuse a reply that does not hold exactly
 * what was asked.
 *
 *   Range: bytes=a-b,c-d          rangeHeader
 *   Content-Range: bytes a-b/N    parseContentRange
 *   multipart/byteranges          MultipartReader: one part per range (§14.6),
 *                                 each with its own Content-Range; a server
 *                                 may coalesce asked ranges into one part.
 */
import { IsosyncError } from '../errors.js';
import type { Span } from '../core/span.js';

/** Header bytes of one multipart part (boundary line and headers) accepted at most. */
export const MAX_PART_HEADER_BYTES = 4096;

/** A reply that does not hold what was asked; `reason` says what is wrong. */
export function badRange(reason: string): IsosyncError {
  return new IsosyncError('BAD_REPLY', `Cannot use the reply: ${reason}`, { reason });
}

/** `bytes=a-b,c-d` for sorted, disjoint spans (inclusive ends). */
export function rangeHeader(spans: readonly Span[]): string {
  return `bytes=${spans.map((r) => `${r.start}-${r.end - 1}`).join(',')}`;
}

/** `bytes a-b/total` -> {start, end (exclusive), total}; undefined when malformed. */
export function parseContentRange(v: string | undefined): { start: number; end: number; total?: number } | undefined {
  const m = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/.exec(String(v ?? '').trim());
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]) + 1;
  if (end <= start) return undefined;
  return { start, end, ...(m[3] !== '*' ? { total: Number(m[3]) } : {}) };
}

/** The boundary of a multipart/byteranges Content-Type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  return /^multipart\/byteranges;\s*boundary=("?)([^";]{1,70})\1/i.exec(String(contentType ?? ''))?.[2];
}

const EMPTY = new Uint8Array(0);
/** Bytes read as text first when looking for a part's header (nginx writes some 100). */
const HEAD_WINDOW = 256;

/**
 * Reads a multipart/byteranges body as it arrives: `onData(offset, bytes)`
 * for every body byte of every part, at its offset in the file. Parts must
 * carry a Content-Range of a file of `fileLength` bytes; at most `maxParts`.
 * `end()` throws unless the body ended after a whole part.
 *
 * A delta sync's replies hold thousands of parts of a few bytes (samples):
 * the reader walks each chunk by index (no view per step) and reads a part's
 * delimiter and header as one short latin1 string, searched with string
 * methods, where Buffer.indexOf twice a part and a view per step cost ~8 µs
 * a part while the code is cold (a sync's code mostly is: bin/isosync's
 * interrupt budget) and a loop over the bytes in JavaScript more.
 */
export class MultipartReader {
  private readonly delimText: string;
  /** Bytes of a delimiter and part header cut by a chunk's end, kept until the rest arrives. */
  private head: Uint8Array = EMPTY;
  /** Bytes left of the current part's body, and the file offset of the next one. */
  private left = 0;
  private at = 0;
  private parts = 0;
  private closed = false;

  constructor(
    boundary: string,
    private readonly fileLength: number,
    private readonly maxParts: number,
    private readonly onData: (offset: number, bytes: Uint8Array) => void,
  ) {
    this.delimText = `--${boundary}`;
  }

  push(chunk: Uint8Array): void {
    let c = chunk;
    let i = 0;
    while (i < c.length) {
      if (this.closed) return; // the epilogue after the closing delimiter is ignored
      if (this.left > 0) {
        const n = Math.min(this.left, c.length - i);
        this.onData(this.at, i === 0 && n === c.length ? c : c.subarray(i, i + n));
        this.at += n;
        this.left -= n;
        i += n;
        continue;
      }
      if (this.head.length > 0) {
        // A header cut by the chunk before: joined with this chunk (rare: a header is some 100 bytes).
        const joined = new Uint8Array(this.head.length + c.length - i);
        joined.set(this.head, 0);
        joined.set(c.subarray(i), this.head.length);
        this.head = EMPTY;
        c = joined;
        i = 0;
      }
      const next = this.readHead(c, i);
      if (next < 0) {
        // A copy (not Buffer's slice, a view): the chunk may be a view of a read buffer that is reused (lean-get.ts).
        this.head = new Uint8Array(c.subarray(i));
        return;
      }
      i = next;
    }
  }

  /**
   * Parses the delimiter and part header starting at `buf[from]`; returns where the part's body (or, after the
   * closing delimiter, the epilogue) starts, or -1 when the header is not all there yet.
   */
  private readHead(buf: Uint8Array, from: number): number {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
    // The usual part header (delimiter, type, range) is ~100 bytes: a short window read as text first, all of what
    // may be a header only when that is not enough.
    let text = b.toString('latin1', from, Math.min(buf.length, from + HEAD_WINDOW));
    let d = text.indexOf(this.delimText);
    let headEnd = d < 0 ? -1 : text.indexOf('\r\n\r\n', d + this.delimText.length);
    if (headEnd < 0 && buf.length - from > HEAD_WINDOW) {
      text = b.toString('latin1', from, Math.min(buf.length, from + MAX_PART_HEADER_BYTES + HEAD_WINDOW));
      d = text.indexOf(this.delimText);
      headEnd = d < 0 ? -1 : text.indexOf('\r\n\r\n', d + this.delimText.length);
    }
    if (d < 0) {
      if (buf.length - from > MAX_PART_HEADER_BYTES) throw badRange('multipart reply has no boundary where a part should start');
      return -1;
    }
    const after = d + this.delimText.length;
    if (text.length < after + 2) return -1;
    if (text.charCodeAt(after) === 0x2d && text.charCodeAt(after + 1) === 0x2d) {
      this.closed = true;
      return from + after + 2;
    }
    if (headEnd < 0) {
      if (buf.length - from - d > MAX_PART_HEADER_BYTES) throw badRange('multipart reply has a part header that does not end');
      return -1;
    }
    const header = text.slice(after, headEnd);
    const cr = parseContentRange(/content-range:\s*([^\r\n]+)/i.exec(header)?.[1]);
    if (!cr) throw badRange('multipart reply has a part without a valid Content-Range');
    if (cr.total !== undefined && cr.total !== this.fileLength) throw badRange(`file is ${cr.total} bytes, the torrent says ${this.fileLength}`);
    if (cr.end > this.fileLength) throw badRange(`multipart reply has bytes ${cr.start}-${cr.end - 1} past the end of the file`);
    if (++this.parts > this.maxParts) throw badRange('multipart reply has more parts than ranges asked');
    this.at = cr.start;
    this.left = cr.end - cr.start;
    return from + headEnd + 4;
  }

  /** The body ended: throws unless it ended outside a part. */
  end(): void {
    if (this.left > 0) throw badRange('multipart reply ended inside a part');
    if (this.parts === 0) throw badRange('multipart reply has no part');
  }
}
