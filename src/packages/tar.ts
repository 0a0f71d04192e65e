/**
 * Finds one regular file in a tar archive held in memory (the control
 * tarball of a .deb is a few KB). Reads POSIX ustar and GNU headers
 * (POSIX.1-2001 pax "ustar Interchange Format"): 512-byte header blocks, data
 * padded to 512 bytes, two zero blocks at the end. pax extended headers (`x`,
 * `g`) and GNU long names (`L`) are honoured for the name; other entry types
 * are skipped.
 */
import { IsosyncError, quote } from '../errors.js';

const BLOCK = 512;

/** ustar header fields (POSIX.1-2001, pax(1) "ustar Header Block"). */
const HEADER = {
  name: { offset: 0, length: 100 },
  size: { offset: 124, length: 12 },
  typeflag: { offset: 156, length: 1 },
  magic: { offset: 257, length: 6 },
  prefix: { offset: 345, length: 155 },
} as const;

const text = (b: Uint8Array, f: { offset: number; length: number }): string => {
  const raw = b.subarray(f.offset, f.offset + f.length);
  const nul = raw.indexOf(0);
  return new TextDecoder().decode(nul >= 0 ? raw.subarray(0, nul) : raw);
};

/** Octal (NUL/space terminated) or GNU base-256 (high bit set) size. */
function sizeOf(h: Uint8Array, what: string, at: number): number {
  const f = h.subarray(HEADER.size.offset, HEADER.size.offset + HEADER.size.length);
  if ((f[0]! & 0x80) !== 0) {
    let n = 0;
    for (let i = 1; i < f.length; i++) n = n * 256 + f[i]!;
    if (!Number.isSafeInteger(n)) throw bad(what, at, 'size is too large');
    return n;
  }
  const s = text(h, HEADER.size).trim();
  if (!/^[0-7]*$/.test(s)) throw bad(what, at, `size field ${quote(s)} is not octal`);
  return s === '' ? 0 : parseInt(s, 8);
}

function bad(what: string, at: number, why: string): IsosyncError {
  return new IsosyncError('BAD_PACKAGE', `Cannot read ${quote(what)}: tar header at byte ${at}: ${why}`, { file: what, offset: at });
}

/** `./control`, `control` and `/control` all name `control`. */
export function normaliseTarName(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

/**
 * The content of the regular file named `wanted` (compared after
 * normaliseTarName), or undefined when the archive has none.
 */
export function findTarFile(tar: Uint8Array, wanted: string, what: string): Uint8Array | undefined {
  let at = 0;
  let longName: string | undefined;
  while (at + BLOCK <= tar.length) {
    const h = tar.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) return undefined; // end-of-archive marker
    const size = sizeOf(h, what, at);
    const dataStart = at + BLOCK;
    if (dataStart + size > tar.length) throw bad(what, at, `entry of ${size} bytes runs past the end (${tar.length} bytes)`);
    const data = tar.subarray(dataStart, dataStart + size);
    const type = String.fromCharCode(h[HEADER.typeflag.offset]!);
    const isUstar = text(h, HEADER.magic).startsWith('ustar');
    const name = longName ?? (isUstar && text(h, HEADER.prefix) ? `${text(h, HEADER.prefix)}/${text(h, HEADER.name)}` : text(h, HEADER.name));
    longName = undefined;
    if (type === 'L') {
      longName = new TextDecoder().decode(data).replace(/\0+$/, '');
    } else if (type === 'x') {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(data));
      if (path) longName = path[1];
    } else if ((type === '0' || type === '\0') && normaliseTarName(name) === wanted) {
      return data;
    }
    at = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  return undefined;
}
