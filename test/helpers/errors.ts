/**
 * Matching errors and warnings by identity, never by message text: an
 * IsosyncError's code and fields, a Warning's code and source.
 */
import { IsosyncError, type ErrorCode, type ErrorFields } from '../../src/errors.js';
import type { Warning, WarningCode } from '../../src/core/warnings.js';

/** A predicate for assert.throws/rejects: an IsosyncError with `code` whose fields include `fields`. */
export function isError(code: ErrorCode, fields: ErrorFields = {}): (e: unknown) => boolean {
  return (e: unknown) => e instanceof IsosyncError && e.code === code && Object.entries(fields).every(([k, v]) => e.fields[k] === v);
}

/** The warnings of `code` (and `source`, when given). */
export function warningsOf(all: readonly Warning[], code: WarningCode, source?: string): Warning[] {
  return all.filter((w) => w.code === code && (source === undefined || w.source === source));
}
