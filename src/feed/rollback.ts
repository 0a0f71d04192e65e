/**
 * `isosync rollback PRODUCT [--to RELEASE]`: back to an earlier release,
 * rebuilt from the images on disk through the signed lineage.
 *
 * The release in use must carry a valid signature by a key of the accepted
 * feed; its signed lineage (or the feed, for --to) names the target. The
 * target's torrent comes from the catalog (recorded when it was installed)
 * or, failing that, from the feed's URLs; either way it must be signed by
 * the feed's keys and carry the infohash the lineage names. The sync then
 * starts from the image in use: an image still on disk (kept by --keep) is
 * only verified, else it is rebuilt with the newer torrent's "to" hints and
 * only what no local image holds is fetched.
 */
import { mkdirSync } from 'node:fs';
import { asIsosyncError, IsosyncError } from '../errors.js';
import type { Warning, WarningSink } from '../core/warnings.js';
import type { Catalog } from '../library/catalog.js';
import { runSync, type SyncEvent, type SyncReport } from '../sync/session.js';
import type { LineageEntry } from '../torrent/isosync-keys.js';
import { storedTrust, verifyReleaseTorrent, type AcceptedFeed } from './feed-verify.js';
import { FollowStore } from './follow-store.js';
import { DEFAULT_KEEP, imagesDir, installedImages, releaseSyncInput } from './installed.js';
import { fetchReleaseTorrent, type ReleaseTorrent } from './remote.js';
import { lockUpdate } from './update-lock.js';
import { rollbackTarget } from './update-plan.js';

export interface RollbackOptions {
  readonly catalog: Catalog;
  readonly product: string;
  readonly to?: string;
  readonly home?: string;
  readonly onEvent?: (e: { type: 'warning'; warning: Warning } | { type: 'sync'; event: SyncEvent }) => void;
}

export interface RollbackReport {
  product: string;
  /** False when the release asked for is already in use. */
  changed: boolean;
  from: { release: string; infoHash: string };
  to: { release: string; infoHash: string; path: string };
  sync?: { targetBytes: number; reusedBytes: number; fetchedBytes: number; seconds: number };
}

export async function rollbackProduct(o: RollbackOptions): Promise<RollbackReport> {
  const store = new FollowStore(o.catalog);
  const follow = store.require(o.product);
  const warn: WarningSink = (warning) => o.onEvent?.({ type: 'warning', warning });
  if (!follow.current || !follow.feed) throw new IsosyncError('NOT_FOUND', `Cannot roll back ${o.product}: no release is installed yet (run isosync update ${o.product})`, { product: o.product });
  const trust: AcceptedFeed = storedTrust(follow.feed, follow.url, follow.key);
  const currentRec = o.catalog.byInfoHash(follow.current);
  if (!currentRec) throw new IsosyncError('NOT_FOUND', `Cannot roll back ${o.product}: the catalog has no record of the release in use (${follow.current})`, { product: o.product });
  const current = verifyReleaseTorrent(currentRec.torrent, `catalog record of ${o.product} ${currentRec.release}`, { product: o.product, release: currentRec.release, infoHash: follow.current }, trust.trustedKeys);
  const lineage = current.isosync?.lineage ?? [];
  const fromRel = { release: currentRec.release, infoHash: follow.current };
  const target = rollbackTarget({ ...fromRel, lineage }, trust.feed.body.releases, o.to);
  const dir = imagesDir(follow, undefined, o.home);
  if (!target) {
    const path = installedImages(o.catalog, o.product).find((i) => i.infoHash === follow.current)?.path ?? '';
    return { product: o.product, changed: false, from: fromRel, to: { ...fromRel, path } };
  }
  const torrent = await targetTorrent(o.catalog, o.product, target, follow.url, trust, warn);
  const inUse = installedImages(o.catalog, o.product).find((i) => i.infoHash === follow.current);
  const input = releaseSyncInput({
    catalog: o.catalog,
    torrent: torrent.metainfo,
    torrentBytes: torrent.bytes,
    torrentUrl: torrent.url,
    dir,
    from: inUse ? [inUse.path] : [],
    onEvent: (event) => o.onEvent?.({ type: 'sync', event }),
    onWarning: warn,
  });
  mkdirSync(dir, { recursive: true });
  const unlock = lockUpdate(dir, o.product);
  let report: SyncReport;
  try {
    report = await runSync(input);
    store.setCurrent(o.product, torrent.metainfo.infoHash);
    store.setPlace(o.product, dir, follow.keep ?? DEFAULT_KEEP);
    store.noteOutcome(o.product, `rolled back to ${target.release}`, Date.now());
  } finally {
    unlock();
  }
  return {
    product: o.product,
    changed: true,
    from: fromRel,
    to: { release: target.release, infoHash: target.infoHash, path: report.output },
    sync: { targetBytes: report.targetBytes, reusedBytes: report.reusedBytes, fetchedBytes: report.fetchedBytes, seconds: report.seconds },
  };
}

/** The target's torrent: the catalog's copy when it holds one the feed's keys signed, else fetched through the feed. */
async function targetTorrent(catalog: Catalog, product: string, target: LineageEntry, feedUrl: string, trust: AcceptedFeed, warn: WarningSink): Promise<ReleaseTorrent> {
  const rec = catalog.byInfoHash(target.infoHash);
  const entry = trust.feed.body.releases.find((r) => r.infoHash === target.infoHash);
  if (rec) {
    try {
      const metainfo = verifyReleaseTorrent(rec.torrent, `catalog record of ${product} ${target.release}`, { product, release: target.release, infoHash: target.infoHash }, trust.trustedKeys);
      const url = entry ? new URL(entry.torrents[0]!, feedUrl).href : feedUrl;
      return { bytes: rec.torrent, metainfo, url };
    } catch (e) {
      if (!entry) throw e;
      warn({ code: 'CATALOG_TORRENT_REFUSED', source: `catalog record of ${product} ${target.release}`, detail: `${(e as Error).message}; fetching it again`, error: asIsosyncError(e) });
    }
  }
  if (!entry) throw new IsosyncError('NOT_FOUND', `Cannot roll back to ${product} ${target.release}: its torrent is neither in the catalog nor in the feed`, { release: target.release });
  return fetchReleaseTorrent(entry, product, feedUrl, trust.trustedKeys, warn);
}
