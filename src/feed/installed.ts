/**
 * A followed product's state on this machine, read from the catalog: the
 * images on disk of its releases, the release in use, where update keeps
 * images, and the sync input that fetches one of its releases.
 */
import { join, relative, resolve, isAbsolute } from 'node:path';
import type { Catalog } from '../library/catalog.js';
import { resolveHome } from '../library/home.js';
import type { SyncEvent, SyncInput } from '../sync/session.js';
import type { Metainfo } from '../torrent/metainfo.js';
import type { Follow } from './follow-store.js';
import type { Installed } from './update-plan.js';
import type { WarningSink } from '../core/warnings.js';

/** Releases of a product kept for rollback by default (--keep). */
export const DEFAULT_KEEP = 1;

/** Every image on disk the catalog knows for a release of `product`. */
export function installedImages(catalog: Catalog, product: string): Installed[] {
  const out: Installed[] = [];
  for (const r of catalog.releasesOf(product)) for (const img of catalog.imagesFor(r.infoHash)) out.push({ release: r.release, infoHash: r.infoHash, path: img.path });
  return out;
}

/** Where update keeps a product's images: --dir, else the folder last used, else HOME/images/PRODUCT. */
export function imagesDir(follow: Follow, dirOption: string | undefined, homeOption: string | undefined): string {
  if (dirOption !== undefined) return resolve(dirOption);
  if (follow.dir) return follow.dir;
  return join(resolveHome(homeOption), 'images', follow.product);
}

export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * The sync of a release image into `dir` under the torrent's own name, from
 * the images given and whatever the catalog knows. The image beside the
 * torrent (how publish --out-dir lays a mirror out) joins the web seeds,
 * and the tracker of the host that served the torrent is tried first.
 */
export function releaseSyncInput(o: { catalog: Catalog; torrent: Metainfo; torrentBytes: Uint8Array; torrentUrl: string; dir: string; from: readonly string[]; onEvent?: (e: SyncEvent) => void; onWarning?: WarningSink }): SyncInput {
  const u = new URL(o.torrentUrl);
  const beside = u.pathname.endsWith('.torrent') ? new URL(u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1) + encodeURIComponent(o.torrent.name), u).href : undefined;
  const webSeeds = beside && !o.torrent.urlList.includes(beside) ? [beside] : [];
  const preferredTrackers = [`${u.origin}/announce`];
  return {
    target: o.torrent,
    torrentFile: o.torrentBytes,
    from: o.from,
    sourceDirs: [],
    webSeeds,
    preferredTrackers,
    peers: { host: '127.0.0.1', preferredTrackers },
    output: join(o.dir, o.torrent.name),
    catalog: o.catalog,
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    ...(o.onWarning ? { onWarning: o.onWarning } : {}),
  };
}
