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

export interface Calibration {
  readonly level: number;
}

/** Levels tried, most likely first (mkfs.erofs's default is liblz4's 9). */
const LEVELS = [9, 8, 7, 6, 5, 4, 3];
/** Old files tried before giving up (a file's first cluster may be stored raw). */
const FILES_TRIED = 8;
/** Bytes looked up, and how far from the expected place (either way). */
const NEEDLE = 64;
const WINDOW = 1024 * 1024;

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
 */
export function alignShift(guess: Uint8Array, end: number, old: Uint8Array, previous: number): number | undefined {
  if (end < NEEDLE) return undefined;
  const needle = Buffer.from(guess.buffer, guess.byteOffset + end - NEEDLE, NEEDLE);
  const hay = Buffer.from(old.buffer, old.byteOffset, old.length);
  const expected = end - NEEDLE - previous;
  const c = Math.max(0, Math.min(expected, old.length));
  const before = hay.lastIndexOf(needle, c);
  const after = hay.indexOf(needle, c);
  const options = [before, after].filter((p) => p >= 0 && Math.abs(p - expected) <= WINDOW);
  if (options.length === 0) return undefined;
  const best = options.reduce((a, b) => (Math.abs(b - expected) < Math.abs(a - expected) ? b : a));
  return end - NEEDLE - best;
}
