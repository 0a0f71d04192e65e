/**
 * The decisions of `isosync update` and `isosync rollback`, apart from the
 * network and the disk:
 *   - decideUpdate: up to date, or which release to install from which image;
 *   - imagesToPrune: which images update removes after installing, so that
 *     the release in use and the N previous ones stay (--keep N);
 *   - rollbackTarget: which release `rollback [--to R]` goes back to;
 *   - exitCode: one code for a run over several products, so automation
 *     knows what happened (the table is in the README and `update --help`).
 *
 * Pure: no I/O.
 */
import { IsosyncError } from '../errors.js';
import { compareReleases } from '../library/release-order.js';
import type { InfoHash } from '../torrent/info-hash.js';
import type { LineageEntry } from '../torrent/isosync-keys.js';
import type { FeedRelease } from './feed-format.js';

/** An image of the product on disk that the catalog knows. */
export interface Installed {
  readonly release: string;
  readonly infoHash: InfoHash;
  readonly path: string;
}

export type UpdateDecision =
  | { readonly kind: 'empty' }
  | { readonly kind: 'up-to-date'; readonly newest: FeedRelease }
  | { readonly kind: 'install'; readonly target: FeedRelease; readonly from?: Installed };

/** What an update of one product came to. */
export type Outcome = 'applied' | 'up-to-date' | 'available' | 'refused' | 'failed';

/** Exit codes of update (and of follow and rollback where they apply). */
export const EXIT_CODES = {
  applied: 0,
  failed: 1,
  badInput: 2,
  upToDate: 3,
  refused: 4,
  available: 5,
} as const;

/** Newest first by release order (ties: by path, for a stable answer). */
export function newestFirst<T extends { release: string; path?: string }>(xs: readonly T[]): T[] {
  return [...xs].sort((a, b) => compareReleases(b.release, a.release) || String(a.path ?? '').localeCompare(String(b.path ?? '')));
}

/**
 * `current` is the release in use; `installed` every image of the product
 * on disk. The newest release of the feed is installed unless it is in use
 * and its image is still there; the sync starts from the newest image on disk.
 */
export function decideUpdate(releases: readonly FeedRelease[], current: InfoHash | null, installed: readonly Installed[]): UpdateDecision {
  const newest = releases[0];
  if (!newest) return { kind: 'empty' };
  if (current === newest.infoHash && installed.some((i) => i.infoHash === newest.infoHash)) return { kind: 'up-to-date', newest };
  const from = newestFirst(installed)[0];
  return from ? { kind: 'install', target: newest, from } : { kind: 'install', target: newest };
}

/**
 * After `current` was installed: the images to remove so that it and the
 * `keep` newest others stay. Only images under the update folder are
 * candidates (`inDir`); images elsewhere are the user's own.
 */
export function imagesToPrune(installed: readonly Installed[], current: InfoHash, keep: number, inDir: (path: string) => boolean): Installed[] {
  const others = newestFirst(installed.filter((i) => i.infoHash !== current && inDir(i.path)));
  // Releases are counted, not files: every copy of a kept release stays.
  const kept = new Set<string>();
  const out: Installed[] = [];
  for (const i of others) {
    if (kept.has(i.infoHash)) continue;
    if (kept.size < keep) kept.add(i.infoHash);
    else out.push(i);
  }
  return out;
}

/**
 * The release `rollback` goes to: `to` when given (a release of the current
 * one's signed lineage, or of the feed), else the nearest earlier release
 * in the current one's lineage. Undefined when `to` is the current release.
 */
export function rollbackTarget(current: { release: string; infoHash: InfoHash; lineage: readonly LineageEntry[] }, feed: readonly FeedRelease[], to?: string): LineageEntry | undefined {
  if (to === undefined) {
    const prev = current.lineage[0];
    if (!prev) throw new IsosyncError('NOT_FOUND', `Cannot roll back from ${current.release}: its signed lineage names no earlier release`, { release: current.release });
    return prev;
  }
  if (to === current.release) return undefined;
  const inLineage = current.lineage.find((e) => e.release === to);
  if (inLineage) return inLineage;
  const inFeed = feed.find((r) => r.release === to);
  if (inFeed) return { release: inFeed.release, infoHash: inFeed.infoHash };
  const known = [...new Set([...current.lineage.map((e) => e.release), ...feed.map((r) => r.release)])].filter((r) => r !== current.release);
  throw new IsosyncError('NOT_FOUND', `Cannot roll back to ${JSON.stringify(to)}: it is neither in the lineage of ${current.release} nor in the feed (known: ${known.length > 0 ? known.join(', ') : 'none'})`, { release: to });
}

/** One exit code for several products: a refusal first (it may be an attack), then a failure, then the best news. */
export function exitCode(outcomes: readonly Outcome[]): number {
  if (outcomes.includes('refused')) return EXIT_CODES.refused;
  if (outcomes.includes('failed')) return EXIT_CODES.failed;
  if (outcomes.includes('applied')) return EXIT_CODES.applied;
  if (outcomes.includes('available')) return EXIT_CODES.available;
  return EXIT_CODES.upToDate;
}
