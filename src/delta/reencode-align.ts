/**
 * Two small decisions of delta/reencoded-clusters.ts:
 *  - `calibrate`: at which lz4hc level (and with which padding) the old image
 *    was made, found by compressing a few of its own clusters again until one
 *    comes out byte for byte (the level is nowhere in an EROFS image; the
 *    target is assumed made the same way, and piece hashes check that);
 *  - `alignShift`: where the new bytes just decoded continue in the old file.
 */
import type { NestedImage } from '../layouts/nested.js';
import type { ByteSource } from '../store/byte-source.js';
import type { Lz4HcEncoder } from '../layouts/erofs/lz4hc.js';
import { extentsOf, inputSizes, reencodeCluster } from '../layouts/erofs/reencode.js';
import type { OldContent } from './reencode-old.js';

export interface Calibration {
  readonly level: number;
}

/** Levels tried, most likely first (mkfs.erofs's default is liblz4's 9). */
const LEVELS = [9, 8, 7, 6, 5, 4, 3];
/** Old files tried before giving up (a file's first cluster may be stored raw). */
const FILES_TRIED = 8;
/** Bytes looked up, and how far from the expected place (either way). */
export const NEEDLE = 64;
const WINDOW = 1024 * 1024;
/** Radii searched in turn, the last one WINDOW (most edits move the rest of a file by less than the first). */
const RADII = [8 * 1024, 128 * 1024, WINDOW];

export async function calibrate(img: NestedImage, bytes: ByteSource, enc: Lz4HcEncoder): Promise<Calibration | undefined> {
  let tried = 0;
  for (const f of img.layout.files) {
    if (tried >= FILES_TRIED) break;
    if (f.type !== 'file' || !f.evidence || f.size > 4 * 1024 * 1024) continue;
    const ex = extentsOf(f);
    if (!ex || ex.extents.length < 2 || ex.extents[0]!.inline) continue;
    tried++;
    let content: Uint8Array;
    let stored: Uint8Array;
    try {
      content = await img.layout.readContent(f, 4 * 1024 * 1024);
      const spans = img.toImage(ex.pas[0]!, ex.pas[0]! + ex.extents[0]!.plen);
      if (spans.length !== 1) continue;
      stored = await bytes.read(spans[0]!.start, spans[0]!.end - spans[0]!.start);
    } catch {
      continue;
    }
    const sizes = inputSizes(f.size, ex.extents);
    for (const level of LEVELS) {
      const r = reencodeCluster(enc, content, ex.extents, 0, sizes[0]!, level);
      if (r?.exact && equal(r.stored, stored)) return { level };
    }
  }
  return undefined;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

/**
 * The shift (target byte x is old byte x - shift) that puts the `NEEDLE`
 * bytes before `end` of `guess` into `old`, the nearest to `previous`;
 * undefined when they are nowhere within `WINDOW` of it (still inside an edit).
 * The old file is decoded only around the expected place, wider each time
 * the needle is not found: a match within a radius is the nearest of all
 * when every place within that radius was searched.
 */
export function alignShift(guess: Uint8Array, end: number, old: OldContent, previous: number): number | undefined {
  if (end < NEEDLE) return undefined;
  const needle = Buffer.from(guess.buffer, guess.byteOffset + end - NEEDLE, NEEDLE);
  const expected = end - NEEDLE - previous;
  for (const radius of RADII) {
    const p = nearest(needle, old, expected, radius);
    if (p !== undefined) return end - NEEDLE - p;
  }
  return undefined;
}

/** Where `needle` is in `old` nearest to `expected`, within `radius` of it (the earlier on a tie). */
function nearest(needle: Buffer, old: OldContent, expected: number, radius: number): number | undefined {
  const lo = Math.max(0, expected - radius);
  const hi = Math.min(old.size, expected + radius + NEEDLE);
  if (hi - lo < NEEDLE) return undefined;
  old.ensure(lo, hi);
  const hay = Buffer.from(old.bytes.buffer, old.bytes.byteOffset + lo, hi - lo);
  const c = Math.max(0, Math.min(expected, old.size)) - lo;
  const before = hay.lastIndexOf(needle, c);
  const after = hay.indexOf(needle, c);
  const options = [before, after].filter((p) => p >= 0).map((p) => p + lo).filter((p) => Math.abs(p - expected) <= radius);
  if (options.length === 0) return undefined;
  return options.reduce((a, b) => (Math.abs(b - expected) < Math.abs(a - expected) ? b : a));
}
