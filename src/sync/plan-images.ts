/**
 * The images a sync plans from, read without an entry per file
 * (iso/plan-image.ts): the target's and every source image's files go into
 * columns, and the file map (delta/iso-map.ts) reads those. Only a target
 * that may hold nested images (an El Torito EFI image, a file named and
 * sized like an image, an EFI system partition: the conditions under which
 * sync/nested-plan.ts finds any) is read again as an IsoImage, with its
 * sources, for the nested planning, which walks their layouts.
 */
import { CheckedTarget, type PieceTarget } from '../delta/checked-target.js';
import type { ImageSourceInfo, IsoMapping } from '../delta/iso-map.js';
import { overlay } from '../delta/plan.js';
import { readIso } from '../iso/index.js';
import type { PlanImage } from '../iso/plan-image.js';
import { espPartitions, mayBeImage } from '../layouts/nested.js';
import type { ByteSource } from '../store/byte-source.js';

/** A source image as planned from: its files in columns. */
export interface PlanSourceInfo {
  readonly index: number;
  readonly image: PlanImage;
  readonly size: number;
  /** How the image is named in messages. */
  readonly path: string;
}

/** readPlanImage's flag for the target: a file nestedImagesOf would look into. */
export const mayBeImageFile = (path: string, size: number): boolean => mayBeImage({ type: 'file', size, path, raw: true });

/**
 * Whether planNested (nested-plan.ts) can find a nested image in the target: the test nestedImagesOf
 * makes first, on the target read as columns (with `mayBeImageFile` as its flag), and its read of the
 * partition table through the same checked target, so that the bytes read are the same.
 */
export async function mayHoldNested(target: PieceTarget, img: PlanImage, whole: IsoMapping, vt: ByteSource, byteSources: readonly (ByteSource | undefined)[]): Promise<boolean> {
  if (img.flagged || (img.boot?.entries ?? []).some((b) => b.platform === 0xef)) return true;
  const checked = new CheckedTarget(target, overlay(target.length, [whole.exact, whole.guesses[0] ?? []]), byteSources, vt);
  return (await espPartitions(checked)).length > 0;
}

/** The sources read again as IsoImages (their entries), for the nested planning; one that fails is left out, as when first read. */
export async function sourceIsos(sources: readonly PlanSourceInfo[], byteSources: readonly (ByteSource | undefined)[]): Promise<ImageSourceInfo[]> {
  const out: ImageSourceInfo[] = [];
  for (const s of sources) {
    try {
      out.push({ index: s.index, image: await readIso(byteSources[s.index]!, { name: s.path, otherTree: false }), size: s.size });
    } catch {
      // read once already without error: not expected
    }
  }
  return out;
}
