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

const CRLF2 = Buffer.from('\r\n\r\n');

/**
 * Reads a multipart/byteranges body as it arrives: `onData(offset, bytes)`
 * for every body byte of every part, at its offset in the file. Parts must
 * carry a Content-Range of a file of `fileLength` bytes; at most `maxParts`.
 * `end()` throws unless the body ended after a whole part.
 */
export class MultipartReader {
  private readonly delim: Buffer;
  private head: Buffer = Buffer.alloc(0);
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
    this.delim = Buffer.from(`--${boundary}`);
  }

  push(chunk: Uint8Array): void {
    let c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (c.length > 0) {
      if (this.closed) return; // the epilogue after the closing delimiter is ignored
      if (this.left > 0) {
        const n = Math.min(this.left, c.length);
        this.onData(this.at, c.subarray(0, n));
        this.at += n;
        this.left -= n;
        c = c.subarray(n);
        continue;
      }
      this.head = this.head.length === 0 ? c : Buffer.concat([this.head, c]);
      c = Buffer.alloc(0);
      this.readHead();
      if (this.left > 0 || this.closed) {
        c = this.head;
        this.head = Buffer.alloc(0);
      }
    }
  }

  /** Parses the delimiter and headers in `head`; on success leaves the body's first bytes in `head`. */
  private readHead(): void {
    const d = this.head.indexOf(this.delim);
    if (d < 0) {
      if (this.head.length > MAX_PART_HEADER_BYTES) throw badRange('multipart reply has no boundary where a part should start');
      return;
    }
    const after = d + this.delim.length;
    if (this.head.length < after + 2) return;
    if (this.head[after] === 0x2d && this.head[after + 1] === 0x2d) {
      this.closed = true;
      this.head = this.head.subarray(after + 2);
      return;
    }
    const headEnd = this.head.indexOf(CRLF2, after);
    if (headEnd < 0) {
      if (this.head.length - d > MAX_PART_HEADER_BYTES) throw badRange('multipart reply has a part header that does not end');
      return;
    }
    const header = this.head.subarray(after, headEnd).toString('latin1');
    const cr = parseContentRange(/content-range:\s*([^\r\n]+)/i.exec(header)?.[1]);
    if (!cr) throw badRange('multipart reply has a part without a valid Content-Range');
    if (cr.total !== undefined && cr.total !== this.fileLength) throw badRange(`file is ${cr.total} bytes, the torrent says ${this.fileLength}`);
    if (cr.end > this.fileLength) throw badRange(`multipart reply has bytes ${cr.start}-${cr.end - 1} past the end of the file`);
    if (++this.parts > this.maxParts) throw badRange('multipart reply has more parts than ranges asked');
    this.at = cr.start;
    this.left = cr.end - cr.start;
    this.head = this.head.subarray(headEnd + CRLF2.length);
  }

  /** The body ended: throws unless it ended outside a part. */
  end(): void {
    if (this.left > 0) throw badRange('multipart reply ended inside a part');
    if (this.parts === 0) throw badRange('multipart reply has no part');
  }
}
