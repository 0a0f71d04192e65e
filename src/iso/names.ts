/**
 * Names the writer records besides the Rock Ridge name: the ISO 9660
 * identifier (ECMA-119 §7.5, §7.6: d-characters, "NAME.EXT;1" for a file,
 * "NAME" for a directory; interchange level 2, at most 30 characters) and the
 * Joliet identifier (Joliet §3.3: UCS-2, at most 64 characters, none of
 * `* / : ; ? \`). Both are made unique within their directory, and both
 * sort as §9.3 wants records sorted. Pure functions.
 */

/** ECMA-119 §7.5.1 level 2: a file identifier's name and extension together hold at most 30 characters. */
export const ISO_FILE_CHARS = 30;
/** ECMA-119 §7.6.3 level 2: a directory identifier holds at most 31 characters. */
export const ISO_DIR_CHARS = 31;
/** Joliet §3.3: 64 UCS-2 characters per identifier. */
export const JOLIET_CHARS = 64;

const D_CHAR = /[A-Z0-9_]/;

function dChars(s: string): string {
  let out = '';
  for (const ch of s.toUpperCase()) out += D_CHAR.test(ch) ? ch : '_';
  return out;
}

/** The ISO 9660 identifier parts of a tree name, before uniqueness: [name, extension] (directories have no extension). */
function isoParts(name: string, dir: boolean): [string, string] {
  if (dir) return [dChars(name).slice(0, ISO_DIR_CHARS) || '_', ''];
  const dot = name.lastIndexOf('.');
  let base = dot > 0 ? name.slice(0, dot) : name;
  let ext = dot > 0 ? name.slice(dot + 1) : '';
  base = dChars(base) || '_';
  ext = dChars(ext).slice(0, 8);
  return [base.slice(0, ISO_FILE_CHARS - ext.length), ext];
}

function isoId(base: string, ext: string, dir: boolean): string {
  return dir ? base : `${base}.${ext};1`;
}

/**
 * ISO 9660 identifiers for the entries of one directory, in the order of
 * `names`: unique (case does not exist in d-characters), a collision gets a
 * decimal counter in place of the last characters of its name part. An
 * entry's `keep` identifier (the one the base image gave the same path) is
 * used as it is when no other entry took it, so names stay from release to
 * release and a reused base directory agrees with the path table.
 */
export function isoIdentifiers(entries: readonly { name: string; dir: boolean; keep?: string }[]): string[] {
  const taken = new Set<string>();
  for (const e of entries) if (e.keep !== undefined) taken.add(e.keep);
  const out: string[] = [];
  for (const e of entries) {
    if (e.keep !== undefined) {
      out.push(e.keep);
      continue;
    }
    const [base, ext] = isoParts(e.name, e.dir);
    let id = isoId(base, ext, e.dir);
    const max = e.dir ? ISO_DIR_CHARS : ISO_FILE_CHARS - ext.length;
    for (let n = 1; taken.has(id); n++) {
      const tag = String(n);
      id = isoId(base.slice(0, Math.max(1, max - tag.length)) + tag, ext, e.dir);
    }
    taken.add(id);
    out.push(id);
  }
  return out;
}

const JOLIET_BAD = /[*/:;?\\\u0000-\u001f]/g;

/** Joliet identifiers of one directory's entries, unique, at most 64 UCS-2 units each. */
export function jolietIdentifiers(entries: readonly { name: string; dir: boolean }[]): string[] {
  const taken = new Set<string>();
  const out: string[] = [];
  for (const e of entries) {
    const clean = e.name.replace(JOLIET_BAD, '_');
    const dot = e.dir ? -1 : clean.lastIndexOf('.');
    const ext = dot > 0 && clean.length - dot <= 16 ? clean.slice(dot) : '';
    const stem = ext ? clean.slice(0, dot) : clean;
    const fit = (tag: string) => truncUnits(stem, JOLIET_CHARS - ext.length - tag.length) + tag + ext;
    let id = fit('');
    for (let n = 1; taken.has(id); n++) id = fit(`~${n}`);
    taken.add(id);
    out.push(id);
  }
  return out;
}

/** Cuts a string to at most `n` UTF-16 units without splitting a surrogate pair. */
function truncUnits(s: string, n: number): string {
  if (s.length <= n) return s;
  let cut = s.slice(0, Math.max(0, n));
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut;
}

/**
 * ECMA-119 §9.3 order of file identifiers: by name part, then extension
 * (each compared as if padded with spaces), then version.
 */
export function compareIsoIds(a: string, b: string): number {
  const split = (s: string) => {
    const semi = s.indexOf(';');
    const body = semi < 0 ? s : s.slice(0, semi);
    const dot = body.indexOf('.');
    return dot < 0 ? [body, ''] : [body.slice(0, dot), body.slice(dot + 1)];
  };
  const [an, ae] = split(a), [bn, be] = split(b);
  return padCompare(an!, bn!) || padCompare(ae!, be!);
}

function padCompare(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = i < a.length ? a.charCodeAt(i) : 0x20;
    const y = i < b.length ? b.charCodeAt(i) : 0x20;
    if (x !== y) return x - y;
  }
  return 0;
}

/** Joliet order: by UCS-2 code units. */
export function compareJolietIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
