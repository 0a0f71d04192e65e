/**
 * RPM versions: `rpmvercmp()` and epoch:version-release ordering, as rpm does.
 *
 * rpmvercmp (rpm's rpmio/rpmvercmp.c) walks both strings segment by segment:
 * separators (anything not an ASCII letter or digit, except `~` and `^`) are
 * skipped and all count as equal; `~` sorts before everything, even the end
 * of the string (`1.0~rc1` < `1.0`); `^` sorts after the end of the string
 * but before any other segment (`1.0` < `1.0^git1` < `1.0.1`); a digit run
 * compares numerically without leading zeros (any length); a digit run is
 * newer than a letter run; letter runs compare as bytes. When one string runs
 * out, the one with characters left is newer.
 *
 * An EVR compares epoch (missing = 0) numerically, then version, then release,
 * each with rpmvercmp (rpm's rpmVersionCompare / rpmverCmp).
 */
import { IsosyncError, quote } from '../errors.js';

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const TILDE = 0x7e;
const CARET = 0x5e;

/** rpmvercmp(a, b): 1 if a is newer, 0 if the same, -1 if b is newer. */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  // charCodeAt past the end is NaN: it is neither a letter, a digit, `~` nor `^`.
  const at = (s: string, k: number): number => (k < s.length ? s.charCodeAt(k) : 0);
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlpha(at(a, i)) && !isDigit(at(a, i)) && at(a, i) !== TILDE && at(a, i) !== CARET) i++;
    while (j < b.length && !isAlpha(at(b, j)) && !isDigit(at(b, j)) && at(b, j) !== TILDE && at(b, j) !== CARET) j++;

    if (at(a, i) === TILDE || at(b, j) === TILDE) {
      if (at(a, i) !== TILDE) return 1;
      if (at(b, j) !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (at(a, i) === CARET || at(b, j) === CARET) {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (at(a, i) !== CARET) return 1;
      if (at(b, j) !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < a.length && j < b.length)) break;

    const numeric = isDigit(at(a, i));
    const inSegment = numeric ? isDigit : isAlpha;
    let ie = i;
    let je = j;
    while (ie < a.length && inSegment(at(a, ie))) ie++;
    while (je < b.length && inSegment(at(b, je))) je++;
    // A segment of a's kind that b lacks: numeric beats alpha.
    if (je === j) return numeric ? 1 : -1;

    let sa = a.slice(i, ie);
    let sb = b.slice(j, je);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa > sb ? 1 : -1; // ASCII only here, so code-unit order is strcmp's
    i = ie;
    j = je;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

export interface RpmEvr {
  /** undefined when the package gave none (compares as 0). */
  readonly epoch?: number;
  readonly version: string;
  readonly release?: string;
}

/** Parses `[epoch:]version[-release]` (release after the last hyphen). */
export function parseRpmEvr(text: string): RpmEvr {
  const m = /^(?:(\d+):)?([^:\s-][^:\s]*?)(?:-([^:\s-]+))?$/.exec(text);
  if (!m) throw new IsosyncError('BAD_PACKAGE', `Cannot parse RPM version ${quote(text)}: expected [epoch:]version[-release]`, { version: text });
  const evr: { epoch?: number; version: string; release?: string } = { version: m[2]! };
  if (m[1] !== undefined) evr.epoch = Number(m[1]);
  if (m[3] !== undefined) evr.release = m[3];
  return evr;
}

/** Orders two EVRs as rpm does: epoch, then version, then release. */
export function compareRpmEvr(a: RpmEvr, b: RpmEvr): -1 | 0 | 1 {
  const ea = a.epoch ?? 0;
  const eb = b.epoch ?? 0;
  if (ea !== eb) return ea > eb ? 1 : -1;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  // rpm compares releases only when both have one.
  if (a.release === undefined || b.release === undefined) return 0;
  return rpmvercmp(a.release, b.release);
}

/** The EVR as a string, epoch shown only when given and not 0 (as `rpm -q --qf '%{EVR}'`). */
export function formatRpmEvr(evr: RpmEvr): string {
  const e = evr.epoch !== undefined && evr.epoch !== 0 ? `${evr.epoch}:` : '';
  return `${e}${evr.version}${evr.release !== undefined ? `-${evr.release}` : ''}`;
}

/** Compares two `[epoch:]version[-release]` strings. */
export function compareRpmVersions(a: string, b: string): -1 | 0 | 1 {
  return compareRpmEvr(parseRpmEvr(a), parseRpmEvr(b));
}
