/**
 * One error hierarchy for everything isosync reports (in the manner of
 * undici's lib/core/errors.js): a base class with a stable `code`, typed
 * structured fields, and a few subclasses where a caller must tell one
 * failure from another by type.
 *
 * The message is one line that leads with the action that failed and quotes
 * the bad value (`Cannot read ISO "x.iso": directory record at byte 40960
 * has length 3, below the minimum 34`). Programs never read the message:
 * they read `code` and `fields`. The CLI prints `message` once and exits
 * with EXIT_STATUS[code]: 2 for bad input, 1 for everything else.
 */

export type ErrorCode =
  | 'BAD_ARGUMENT' // a command-line argument or option is invalid
  | 'BAD_ISO' // an ISO 9660 image is malformed
  | 'BAD_TORRENT' // a metainfo file is malformed
  | 'BAD_BENCODE' // bytes that should be bencode are not (canonical BEP 3 bencoding)
  | 'BAD_PACKAGE' // a package or package index is malformed
  | 'BAD_REPLY' // a tracker, peer or HTTP server answered something malformed
  | 'HTTP_STATUS' // an HTTP server answered with an error status (fields.status)
  | 'TRACKER_REFUSED' // a tracker answered with a failure reason (BEP 3) or an error action (BEP 15)
  | 'TIMEOUT' // a remote party did not answer in time (fields.timeoutMs)
  | 'CANCELLED' // the operation was stopped by its caller
  | 'UNSAFE_PATH' // an entry would land outside the destination
  | 'NOT_FOUND' // a file, release or catalog entry does not exist
  | 'CONFLICT' // e.g. a release number already published with other content
  | 'VERIFY_FAILED' // data did not match its hash
  | 'NETWORK' // a connection failed, or every source failed
  | 'IO' // the local disk failed (full, permission, ...)
  | 'UNSUPPORTED' // a valid input isosync cannot handle (yet)
  | 'INTERNAL'; // isosync broke its own contract: a bug

/** Exit status of the CLI per code: 2 for bad input, 1 for any other failure. */
export const EXIT_STATUS: Readonly<Record<ErrorCode, 1 | 2>> = {
  BAD_ARGUMENT: 2,
  BAD_ISO: 2,
  BAD_TORRENT: 2,
  BAD_BENCODE: 2,
  BAD_PACKAGE: 2,
  BAD_REPLY: 2,
  HTTP_STATUS: 1,
  TRACKER_REFUSED: 1,
  TIMEOUT: 1,
  CANCELLED: 1,
  UNSAFE_PATH: 2,
  NOT_FOUND: 2,
  CONFLICT: 2,
  VERIFY_FAILED: 1,
  NETWORK: 1,
  IO: 1,
  UNSUPPORTED: 1,
  INTERNAL: 1,
};

/**
 * Structured fields: where it happened and with what. The named ones have
 * one meaning everywhere; an error may add others (bytes, limit, action).
 */
export interface ErrorFields {
  /** A local file or a label naming one. */
  readonly path?: string;
  /** A byte offset (in the file or stream the error is about). */
  readonly offset?: number;
  readonly length?: number;
  readonly piece?: number;
  readonly url?: string;
  /** A peer's address, HOST:PORT. */
  readonly peer?: string;
  /** A field of a structured input (`info.piece length`, `peers`). */
  readonly field?: string;
  /** An HTTP status. */
  readonly status?: number;
  readonly timeoutMs?: number;
  readonly [more: string]: unknown;
}

export class IsosyncError extends Error {
  override name = 'IsosyncError';
  readonly code: ErrorCode;
  readonly fields: ErrorFields;

  constructor(code: ErrorCode, message: string, fields: ErrorFields = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.fields = fields;
  }

  /** The fields under their former name (kept for callers that read `details`). */
  get details(): ErrorFields {
    return this.fields;
  }

  /** 2 for bad input, 1 for any other failure. */
  get exitCode(): 1 | 2 {
    return EXIT_STATUS[this.code];
  }

  /** The JSON form (--json reports): code, message and fields. */
  toJSON(): { code: ErrorCode; message: string; fields: ErrorFields } {
    return { code: this.code, message: this.message, fields: this.fields };
  }
}

/** Bytes that are not canonical bencode; `offset` is where the decoder stopped, `detail` says why (no file named). */
export class BencodeError extends IsosyncError {
  override name = 'BencodeError';
  constructor(
    readonly offset: number,
    readonly detail: string,
  ) {
    super('BAD_BENCODE', `Cannot decode bencode: ${detail}`, { offset });
  }
}

/** A malformed field of a decoded structure (`field` names it, `detail` is the one-line complaint). */
export class FieldError extends IsosyncError {
  override name = 'FieldError';
  constructor(
    readonly field: string,
    readonly detail: string,
    code: ErrorCode = 'BAD_TORRENT',
  ) {
    super(code, detail, { field });
  }
}

/** A tracker said no: a BEP 3 `failure reason` or a BEP 15 error action; `reason` is the tracker's text. */
export class TrackerRefusal extends IsosyncError {
  override name = 'TrackerRefusal';
  constructor(
    readonly reason: string,
    fields: ErrorFields = {},
  ) {
    super('TRACKER_REFUSED', `tracker says ${JSON.stringify(reason)}`, { ...fields, reason });
  }
}

export function isIsosyncError(e: unknown): e is IsosyncError {
  return e instanceof IsosyncError;
}

/**
 * Any thrown value as an IsosyncError: itself, or wrapped with `code` and
 * the first line of its message (the original stays as `cause`).
 */
export function asIsosyncError(e: unknown, code: ErrorCode = 'INTERNAL', fields: ErrorFields = {}): IsosyncError {
  if (e instanceof IsosyncError) return e;
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  const text = e instanceof Error ? e.message : String(e);
  return new IsosyncError(code, (errno && !text.includes(errno) ? `${errno}: ${text}` : text).split('\n')[0]!, errno ? { ...fields, errno } : fields, { cause: e });
}

/** Quote a value for an error message: strings in double quotes, others as JSON. */
export function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** An internal contract was broken (a bug, not bad input): throws INTERNAL. */
export function invariant(ok: unknown, what: string): asserts ok {
  if (!ok) throw new IsosyncError('INTERNAL', `Internal error: ${what}`);
}
