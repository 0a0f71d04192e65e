/**
 * delta hints: written by the delta core (issue 4)
 *
 * The seam between publishing and the delta core. `isosync publish` calls
 * buildHints with the image being published and the previous releases it
 * knows of; whatever bencodable value comes back is stored as
 * `info.x-isosync.hints` (see src/torrent/isosync-keys.ts), inside the info
 * dictionary so the infohash authenticates it. `undefined` means "no hints":
 * the torrent is then a plain isosync torrent.
 *
 * This build computes no hints yet: buildHints returns undefined.
 */

export interface PreviousRelease {
  /** v1 infohash (hex) of the earlier release's torrent. */
  readonly infoHash: string;
  /** Its release label (e.g. "1.00"). */
  readonly release: string;
  /** Its image on disk, when known (from --previous IMAGE or the catalog). */
  readonly imagePath?: string;
}

export async function buildHints(targetPath: string, previous: readonly PreviousRelease[]): Promise<unknown | undefined> {
  void targetPath;
  void previous;
  return undefined;
}

/**
 * A short summary of a torrent's decoded hints for `isosync info`
 * (`hints: {...}` in its JSON). Only the encoded size for now; the delta core
 * may add what its format says.
 */
export function summarizeHints(hints: unknown, encodedBytes: number): Record<string, unknown> {
  void hints;
  return { bytes: encodedBytes };
}
