/**
 * One error class for everything isosync reports to a user.
 *
 * Every failure a user can act on is an IsosyncError with a stable `code` and a
 * one-line message that leads with the action that failed and quotes the bad
 * value (`Cannot read ISO "x.iso": directory record at byte 40960 has length 3,
 * below the minimum 34`). The CLI prints `message` once and maps `exitCode`:
 * 2 for bad input (a malformed file, a bad argument), 1 for everything else.
 */

export type ErrorCode =
  | 'BAD_ARGUMENT'   // a command-line argument or option is invalid
  | 'BAD_ISO'        // an ISO 9660 image is malformed
  | 'BAD_TORRENT'    // a metainfo file is malformed
  | 'BAD_PACKAGE'    // a package or package index is malformed
  | 'BAD_REPLY'      // a tracker, peer or HTTP server answered something malformed
  | 'UNSAFE_PATH'    // an entry would land outside the destination
  | 'NOT_FOUND'      // a file, release or catalog entry does not exist
  | 'CONFLICT'       // e.g. a release number already published with other content
  | 'VERIFY_FAILED'  // data did not match its hash
  | 'NETWORK'        // every source failed
  | 'IO'             // the local disk failed (full, permission, ...)
  | 'UNSUPPORTED';   // a valid input isosync cannot handle (yet)

const BAD_INPUT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BAD_ARGUMENT', 'BAD_ISO', 'BAD_TORRENT', 'BAD_PACKAGE', 'BAD_REPLY', 'UNSAFE_PATH', 'NOT_FOUND', 'CONFLICT',
]);

export class IsosyncError extends Error {
  readonly code: ErrorCode;
  /** Structured context (path, offset, piece, url ...) for --json and tests. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IsosyncError';
    this.code = code;
    this.details = details;
  }

  /** 2 for bad input, 1 for any other failure. */
  get exitCode(): 1 | 2 {
    return BAD_INPUT.has(this.code) ? 2 : 1;
  }
}

export function isIsosyncError(e: unknown): e is IsosyncError {
  return e instanceof IsosyncError;
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
