/**
 * `isosync update [PRODUCT]`: one followed product brought to the newest
 * release its signed feed names. Thin: the decisions are in update-plan.ts,
 * trust in feed-verify.ts, the sync in src/sync.
 *
 *   1. fetch the feed and verify it (a refusal records its reason and stops:
 *      nothing else is fetched);
 *   2. remember the accepted sequence (and a rotated key);
 *   3. up to date? stop. Else fetch the release's torrent and verify it
 *      against the feed entry and the feed's keys (a refusal stops here);
 *   4. show the package diff against the newest image on disk, reading only
 *      the new release's metadata and package indexes (as `diff` does);
 *   5. confirm (--yes, or a question on a terminal; otherwise stop: available);
 *   6. sync from the newest image on disk into DIR under the torrent's name,
 *      verified piece by piece and registered in the catalog;
 *   7. mark it in use, and remove images beyond --keep previous releases.
 *
 * A failure before step 6 changes no image and no follow state except the
 * recorded outcome of a refusal; the network failing before the feed is
 * read changes nothing at all.
 */
import { mkdirSync, rmSync } from 'node:fs';
import type { Catalog } from '../library/catalog.js';
import type { ImageDiff } from '../packages/diff.js';
import { diffImages } from '../packages/image-diff.js';
import { zstdViaBinary } from '../packages/zstd-binary.js';
import { FileSource } from '../store/file-source.js';
import { runSync, type SyncEvent, type SyncInput, type SyncReport } from '../sync/session.js';
import { TorrentView } from '../sync/torrent-view.js';
import { refusalOf, verifyFeed, type AcceptedFeed, type Refusal } from './feed-verify.js';
import { FollowStore, type Follow } from './follow-store.js';
import { DEFAULT_KEEP, imagesDir, installedImages, isInside, releaseSyncInput } from './installed.js';
import { fetchFeed, fetchReleaseTorrent, type ReleaseTorrent } from './remote.js';
import { lockUpdate } from './update-lock.js';
import { decideUpdate, imagesToPrune, type Installed, type Outcome } from './update-plan.js';
import { createHash } from 'node:crypto';
import type { Warning, WarningSink } from '../core/warnings.js';
import { asIsosyncError } from '../errors.js';

export type UpdateEvent =
  | { type: 'feed'; product: string; accepted: AcceptedFeed; url: string }
  | { type: 'available'; product: string; from?: Installed; to: { release: string; infoHash: string; name: string; length: number } }
  | { type: 'diff'; product: string; diff: ImageDiff; warnings: readonly Warning[] }
  | { type: 'warning'; warning: Warning }
  | { type: 'syncing'; product: string; release: string }
  | { type: 'sync'; event: SyncEvent };

export interface UpdateOptions {
  readonly catalog: Catalog;
  readonly product: string;
  /** --dir (default: the folder last used, else HOME/images/PRODUCT). */
  readonly dir?: string;
  readonly home?: string;
  readonly keep?: number;
  readonly yes: boolean;
  /** Asks the user (a terminal); absent: no one to ask. */
  readonly confirm?: (question: string) => Promise<boolean>;
  readonly now?: () => number;
  readonly onEvent?: (e: UpdateEvent) => void;
}

export interface UpdateReport {
  product: string;
  outcome: Outcome;
  message: string;
  refusal?: Refusal;
  feed?: { url: string; sequence: number; key: string; rotatedFrom: string[] };
  from?: { release: string; path: string } | null;
  to?: { release: string; infoHash: string; path?: string };
  diff?: ImageDiff | null;
  sync?: { targetBytes: number; reusedBytes: number; fetchedBytes: number; seconds: number };
  pruned: string[];
}

function digest(b: Uint8Array | null): string | undefined {
  return b ? createHash('sha256').update(b).digest('hex') : undefined;
}

/** Updates one product; never throws for the outcomes it reports (refused, failed). */
export async function updateProduct(o: UpdateOptions): Promise<UpdateReport> {
  const store = new FollowStore(o.catalog);
  const nowMs = o.now ?? Date.now;
  const emit = o.onEvent ?? (() => undefined);
  const warn: WarningSink = (warning) => emit({ type: 'warning', warning });
  const base = { product: o.product, pruned: [] as string[] };
  let follow: Follow;
  try {
    follow = store.require(o.product);
  } catch (e) {
    return { ...base, outcome: 'failed', message: (e as Error).message };
  }
  let accepted: AcceptedFeed;
  let feedUrl: string;
  try {
    const got = await fetchFeed(follow.url);
    feedUrl = got.url;
    accepted = verifyFeed(got.body, follow.url, {
      product: follow.product,
      pinned: follow.key,
      ...(follow.sequence !== null ? { lastSequence: follow.sequence } : {}),
      ...(follow.feed ? { lastDigest: digest(follow.feed)! } : {}),
    }, Math.floor(nowMs() / 1000));
  } catch (e) {
    const refusal = refusalOf(e);
    if (refusal) {
      store.noteOutcome(o.product, `refused: ${(e as Error).message}`, nowMs());
      return { ...base, outcome: 'refused', refusal, message: (e as Error).message };
    }
    return { ...base, outcome: 'failed', message: (e as Error).message };
  }
  const body = accepted.feed.body;
  store.accept(o.product, { key: accepted.key, sequence: body.sequence, feed: accepted.feed.bytes, now: nowMs() });
  const feed = { url: follow.url, sequence: body.sequence, key: accepted.key.id, rotatedFrom: accepted.rotatedFrom.map((k) => k.id) };
  emit({ type: 'feed', product: o.product, accepted, url: follow.url });

  const installed = installedImages(o.catalog, o.product);
  const decision = decideUpdate(body.releases, follow.current, installed);
  if (decision.kind === 'empty') {
    store.noteOutcome(o.product, 'the feed lists no release', nowMs());
    return { ...base, outcome: 'up-to-date', feed, message: `${o.product}: the feed lists no release yet` };
  }
  if (decision.kind === 'up-to-date') {
    store.noteOutcome(o.product, `up to date (${decision.newest.release})`, nowMs());
    return { ...base, outcome: 'up-to-date', feed, to: { release: decision.newest.release, infoHash: decision.newest.infoHash }, message: `${o.product} is up to date (${decision.newest.release})` };
  }
  const target = decision.target;
  const from = decision.from;
  const to = { release: target.release, infoHash: target.infoHash };
  emit({ type: 'available', product: o.product, ...(from ? { from } : {}), to: { ...to, name: target.name, length: target.length } });

  let torrent: ReleaseTorrent;
  try {
    torrent = await fetchReleaseTorrent(target, o.product, feedUrl, accepted.trustedKeys, warn);
  } catch (e) {
    const refusal = refusalOf(e);
    if (refusal) store.noteOutcome(o.product, `refused: ${(e as Error).message}`, nowMs());
    return { ...base, feed, to, outcome: refusal ? 'refused' : 'failed', ...(refusal ? { refusal } : {}), message: (e as Error).message };
  }

  const dir = imagesDir(follow, o.dir, o.home);
  const keep = o.keep ?? follow.keep ?? DEFAULT_KEEP;
  // What a failed sync leaves: a .part that holds only local bytes is removed (the next run rebuilds them in seconds);
  // one that holds fetched bytes is kept, so the next update resumes instead of fetching them again.
  let fetched = 0;
  let keptPart: string | undefined;
  const onSync = (event: SyncEvent) => {
    if (event.type === 'progress') fetched = event.fetchedBytes;
    if (event.type === 'part-kept') keptPart = event.path;
    emit({ type: 'sync', event });
  };
  const input = releaseSyncInput({ catalog: o.catalog, torrent: torrent.metainfo, torrentBytes: torrent.bytes, torrentUrl: torrent.url, dir, from: from ? [from.path] : [], onEvent: onSync, onWarning: warn });
  const diff = from ? await packageDiff(from, input, warn) : null;
  if (diff) emit({ type: 'diff', product: o.product, diff: diff.diff, warnings: diff.warnings });
  const reportFrom = from ? { release: from.release, path: from.path } : null;

  const question = `${from ? `Update ${o.product} ${from.release} -> ${target.release}` : `Install ${o.product} ${target.release}`} into ${dir}?`;
  if (!o.yes && !(o.confirm && (await o.confirm(question)))) {
    store.noteOutcome(o.product, `${target.release} available, not applied`, nowMs());
    return { ...base, feed, from: reportFrom, to, diff: diff?.diff ?? null, outcome: 'available', message: `${o.product} ${target.release} is available; not applied (${o.confirm ? 'declined' : 'run with --yes to apply'})` };
  }

  let report: SyncReport;
  let unlock: (() => void) | undefined;
  try {
    mkdirSync(dir, { recursive: true });
    unlock = lockUpdate(dir, o.product);
    emit({ type: 'syncing', product: o.product, release: target.release });
    report = await runSync(input);
  } catch (e) {
    unlock?.();
    if (keptPart !== undefined && fetched === 0) {
      rmSync(keptPart, { force: true });
      emit({ type: 'sync', event: { type: 'part-removed', path: keptPart } });
    }
    store.noteOutcome(o.product, `failed: ${(e as Error).message}`, nowMs());
    return { ...base, feed, from: reportFrom, to, diff: diff?.diff ?? null, outcome: 'failed', message: (e as Error).message };
  }
  store.setCurrent(o.product, torrent.metainfo.infoHash);
  store.setPlace(o.product, dir, keep);
  const pruned: string[] = [];
  for (const p of imagesToPrune(installedImages(o.catalog, o.product), torrent.metainfo.infoHash, keep, (path) => isInside(dir, path))) {
    rmSync(p.path, { force: true });
    o.catalog.forgetImage(p.path);
    pruned.push(p.path);
  }
  store.noteOutcome(o.product, `updated to ${target.release}`, nowMs());
  unlock();
  return {
    ...base,
    feed,
    from: reportFrom,
    to: { ...to, path: report.output },
    diff: diff?.diff ?? null,
    sync: { targetBytes: report.targetBytes, reusedBytes: report.reusedBytes, fetchedBytes: report.fetchedBytes, seconds: report.seconds },
    pruned,
    outcome: 'applied',
    message: `${o.product} updated to ${target.release}: ${report.output}`,
  };
}

/** The package diff from the image on disk to the release (only its metadata and indexes are read); undefined if it cannot be made. */
async function packageDiff(from: Installed, input: SyncInput, warn: WarningSink): Promise<{ diff: ImageDiff; warnings: readonly Warning[] } | undefined> {
  let oldSrc: FileSource | undefined;
  let view: TorrentView | undefined;
  try {
    oldSrc = await FileSource.open(from.path);
    // Web seeds only: the diff reads a few pieces of metadata, not worth a swarm.
    const { peers: _peers, ...webOnly } = input;
    view = await TorrentView.open({ ...webOnly, onWarning: warn });
    const r = await diffImages({ src: oldSrc, name: from.path }, { src: view, name: input.target.name, readPackageFiles: false }, { zstd: zstdViaBinary() });
    return { diff: r.diff, warnings: r.warnings };
  } catch (e) {
    const error = asIsosyncError(e);
    warn({ code: 'PACKAGE_DIFF_FAILED', source: input.target.name, detail: `cannot show the package diff: ${error.message}`, error });
    return undefined;
  } finally {
    await view?.close();
    await oldSrc?.close();
  }
}
