/**
 * Debian package versions, parsed and ordered exactly as dpkg does.
 *
 * A version is `[epoch:]upstream[-revision]` (deb-version(7)). The parser
 * follows dpkg's `parseversion()` (lib/dpkg/parsehelp.c): surrounding blanks
 * are trimmed, the epoch is the decimal number before the first colon, the
 * revision is everything after the LAST hyphen. dpkg splits what it finds
 * into errors (it refuses the version) and warnings (it complains and goes
 * on); `parseDebianVersion` throws on errors and, unless `strict`, records the
 * warning in `warning` so that real archives with odd versions still compare.
 *
 * Ordering follows dpkg's `dpkg_version_compare()` / `verrevcmp()`
 * (lib/dpkg/version.c): epochs compare numerically, then upstream, then
 * revision, each with verrevcmp: alternate non-digit runs (compared character
 * by character with `~` before everything, even the end of the string, then
 * letters, then all other characters) and digit runs (compared numerically;
 * leading zeros ignored, any length). A missing revision equals an empty one,
 * so `1.0` == `1.0-` is impossible (that is an error) but `0:1.0` == `1.0`.
 */
import { IsosyncError, quote } from '../errors.js';

export interface DebianVersion {
  /** The string as given, trimmed: what dpkg would print back. */
  readonly text: string;
  readonly epoch: number;
  readonly upstream: string;
  /** '' when the version has no hyphen. */
  readonly revision: string;
  /** dpkg's warning-level complaint ("invalid character in version number"), if any. */
  readonly warning?: string;
}

/** dpkg rejects epochs above INT_MAX (parsehelp.c: "epoch in version is too big"). */
const MAX_EPOCH = 2147483647;

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isBlank = (ch: string): boolean => ch === ' ' || ch === '\t';

function fail(text: string, why: string): never {
  throw new IsosyncError('BAD_PACKAGE', `Cannot parse Debian version ${quote(text)}: ${why}`, { version: text });
}

/**
 * Parses a version the way dpkg does. Throws an IsosyncError (BAD_PACKAGE) on
 * anything dpkg refuses; with `strict`, also on what dpkg only warns about.
 */
export function parseDebianVersion(input: string, opts: { strict?: boolean } = {}): DebianVersion {
  if (input === '') fail(input, 'version string is empty');
  let start = 0;
  while (start < input.length && isBlank(input[start]!)) start++;
  let end = start;
  while (end < input.length && !isBlank(input[end]!)) end++;
  let rest = end;
  while (rest < input.length && isBlank(input[rest]!)) rest++;
  if (rest < input.length) fail(input, 'version string has embedded spaces');
  const text = input.slice(start, end);
  if (text === '') fail(input, 'version string is empty');

  let epoch = 0;
  let body = text;
  const colon = text.indexOf(':');
  if (colon >= 0) {
    // strtol(): optional sign, then digits, and it must stop exactly at the colon.
    const m = /^[+-]?\d*/.exec(text)![0];
    if (!/\d/.test(m)) fail(input, 'epoch in version is empty');
    if (m.length !== colon) fail(input, 'epoch in version is not number');
    const n = Number(m);
    if (n < 0) fail(input, 'epoch in version is negative');
    if (n > MAX_EPOCH) fail(input, 'epoch in version is too big');
    if (colon + 1 === text.length) fail(input, 'nothing after colon in version number');
    epoch = n === 0 ? 0 : n; // -0 from "-0:" is still epoch 0
    body = text.slice(colon + 1);
  }
  const hyphen = body.lastIndexOf('-');
  const upstream = hyphen >= 0 ? body.slice(0, hyphen) : body;
  const revision = hyphen >= 0 ? body.slice(hyphen + 1) : '';
  if (hyphen >= 0 && revision === '') fail(input, 'revision number is empty');
  if (upstream === '') fail(input, 'version number is empty');

  let warning: string | undefined;
  if (!isDigit(upstream.charCodeAt(0))) warning = 'version number does not start with digit';
  else if (![...upstream].every((ch) => isDigit(ch.charCodeAt(0)) || isAlpha(ch.charCodeAt(0)) || '.-+~:'.includes(ch))) {
    warning = 'invalid character in version number';
  } else if (![...revision].every((ch) => isDigit(ch.charCodeAt(0)) || isAlpha(ch.charCodeAt(0)) || '.+~'.includes(ch))) {
    warning = 'invalid character in revision number';
  }
  if (warning !== undefined && opts.strict) fail(input, warning);
  return warning === undefined ? { text, epoch, upstream, revision } : { text, epoch, upstream, revision, warning };
}

/** dpkg's order(): digits 0, letters their code, `~` -1, end of string 0, others code + 256. */
function order(c: number): number {
  if (Number.isNaN(c)) return 0; // end of string
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 0x7e) return -1;
  return c + 256;
}

/** dpkg's verrevcmp() on one part (upstream or revision). Returns <0, 0 or >0. */
export function compareDebianPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a.charCodeAt(i));
      const bc = order(b.charCodeAt(j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 0x30) i++;
    while (b.charCodeAt(j) === 0x30) j++;
    while (isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a.charCodeAt(i))) return 1;
    if (isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Orders two parsed versions as dpkg does: -1, 0 or 1. */
export function compareParsedDebian(a: DebianVersion, b: DebianVersion): -1 | 0 | 1 {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? 1 : -1;
  const r = compareDebianPart(a.upstream, b.upstream) || compareDebianPart(a.revision, b.revision);
  return r === 0 ? 0 : r > 0 ? 1 : -1;
}

/**
 * `dpkg --compare-versions a lt|eq|gt b` as a number: -1, 0 or 1. Throws an
 * IsosyncError on a version dpkg refuses.
 */
export function compareDebianVersions(a: string, b: string): -1 | 0 | 1 {
  return compareParsedDebian(parseDebianVersion(a), parseDebianVersion(b));
}
