/**
 * The piece hashing of a publish, started as early as the command line
 * allows: publish-run.ts starts it right after the options are read, before
 * the catalog opens and the image is checked, so that a hashing worker (when
 * a core is free: torrent/piece-pool.ts) boots and hashes while this thread
 * does the rest. publishRelease adopts it when it hashes the same file at
 * the same piece length and version, and cancels it otherwise (--piece-length
 * auto, or a check that fails first).
 */
import { statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { startPieceHashing, type PieceHashing } from '../torrent/piece-pool.js';
import { defaultPieceLength } from '../torrent/piece-length.js';
import type { MetaVersion } from '../torrent/metainfo.js';

/** The torrent version publish makes unless told otherwise (library/publish.ts says why it is v1). */
export const DEFAULT_VERSION: MetaVersion = 'v1';

export interface StartedHashing {
  /** The image, resolved. */
  readonly path: string;
  readonly pieceLength: number;
  readonly v2: boolean;
  /** The image's stat when hashing started (a change before the end is an error). */
  readonly before: Stats;
  readonly pass: PieceHashing;
}

/**
 * Starts hashing `image` (pieceLength undefined: the default for its size);
 * undefined when it is not a non-empty regular file (publishRelease then
 * reports why) or the piece length is not a positive whole number.
 */
export function startPublishHashing(image: string, pieceLength: number | undefined, v2: boolean): StartedHashing | undefined {
  const path = resolve(image);
  let before: Stats;
  try {
    before = statSync(path);
  } catch {
    return undefined;
  }
  if (!before.isFile() || before.size === 0) return undefined;
  const p = pieceLength ?? defaultPieceLength(before.size);
  if (!Number.isSafeInteger(p) || p <= 0) return undefined;
  return { path, pieceLength: p, v2, before, pass: startPieceHashing(path, p, { length: before.size, v2 }) };
}

/** `started` when it hashes this very pass (file, size, piece length, version); else undefined, and it is cancelled. */
export function adoptHashing(started: StartedHashing | undefined, path: string, size: number, pieceLength: number | 'auto', v2: boolean): StartedHashing | undefined {
  if (!started) return undefined;
  if (pieceLength !== 'auto' && started.path === path && started.before.size === size && started.pieceLength === pieceLength && started.v2 === v2) return started;
  started.pass.cancel();
  return undefined;
}

/**
 * The pass of a publish whose options leave the piece length and the version to their defaults, started before the
 * rest of publish loads (cli/quick-publish.ts: better-sqlite3, the ISO reader), so that the worker bin/isosync parked
 * hashes that much sooner; undefined for any other options (runPublish starts the pass once it has read them).
 */
export function earlyHashing(image: string, o: { readonly pieceLength?: string; readonly v1?: boolean; readonly v2?: boolean; readonly hybrid?: boolean }): StartedHashing | undefined {
  if (o.pieceLength !== undefined || o.v1 === true || o.v2 === true || o.hybrid === true) return undefined;
  return startPublishHashing(image, undefined, DEFAULT_VERSION !== 'v1');
}
