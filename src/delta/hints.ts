/**
 * The seam between publishing and the delta core. `isosync publish` calls
 * buildHints with the image being published and the previous releases it
 * knows of; the bencodable value that comes back is stored as
 * `info.x-isosync.hints` (see src/torrent/isosync-keys.ts and
 * hint-format.ts), inside the info dictionary so the infohash authenticates it.
 * `undefined` means "no hints": the torrent is a plain isosync torrent.
 *
 * For each previous release whose image is on disk, two hint sets:
 *   from: how to build this image from the previous one (upgrade),
 *   to:   how to build the previous image from this one (rollback).
 * Both come from the rolling matcher, so they include runs shared inside
 * changed files, not only whole moved files; `to` is mostly `from` turned
 * around, with only its gaps scanned (two-way.ts). Together they must fit in 0.1%
 * of the image; the shortest runs go first when they do not.
 */
import { FileSource } from '../store/file-source.js';
import { encodeHints, fitBudget, HINT_BUDGET, type HintSet } from './hint-format.js';
import { matchBothWays } from './two-way.js';

export { summarizeHints } from './hint-format.js';

export interface PreviousRelease {
  /** v1 infohash (hex) of the earlier release's torrent. */
  readonly infoHash: string;
  /** Its release label (e.g. "1.00"). */
  readonly release: string;
  /** Its image on disk, when known (from --previous IMAGE or the catalog). */
  readonly imagePath?: string;
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export interface HintOptions {
  /** Every byte of the target, once, in order, as the first match reads it (see two-way.ts), when there is a previous image. */
  readonly onTargetBytes?: (bytes: Uint8Array, offset: number) => void;
}

/** Computes the hint sets for `targetPath` against every previous image on disk. */
export async function computeHintSets(targetPath: string, previous: readonly PreviousRelease[], opts: HintOptions = {}): Promise<HintSet[]> {
  const withImage = previous.filter((p) => p.imagePath);
  if (withImage.length === 0) return [];
  const target = await FileSource.open(targetPath);
  const sets: HintSet[] = [];
  try {
    for (const prev of withImage) {
      const source = await FileSource.open(prev.imagePath!);
      try {
        const other = hexBytes(prev.infoHash);
        const first = sets.length === 0 && opts.onTargetBytes ? { onNewerBytes: opts.onTargetBytes } : {};
        const { from: up, to: down } = await matchBothWays(target, source, first);
        sets.push({ direction: 'from', other, runs: up.runs, zeros: up.zeros });
        sets.push({ direction: 'to', other, runs: down.runs, zeros: down.zeros });
      } finally {
        await source.close();
      }
    }
    return fitBudget(sets, Math.floor(target.size * HINT_BUDGET));
  } finally {
    await target.close();
  }
}

export async function buildHints(targetPath: string, previous: readonly PreviousRelease[], opts: HintOptions = {}): Promise<unknown | undefined> {
  const sets = (await computeHintSets(targetPath, previous, opts)).filter((s) => s.runs.length > 0 || s.zeros.length > 0);
  return sets.length > 0 ? encodeHints({ sets }) : undefined;
}

/**
 * A short summary of a torrent's hints for `isosync info` (`hints: {...}` in
 * its JSON): per set, the direction, the other release's infohash, how many
 * runs and how many bytes they cover.
 */
