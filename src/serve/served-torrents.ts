/**
 * The torrents `isosync serve` hands out: one per served file of at least
 * `minSize` bytes, made on first need and cached twice — in memory, and in
 * the catalog (served_torrents, keyed by path with size, mtime and inode, so
 * a changed file is hashed again and a restart hashes nothing).
 *
 * The info dictionary comes from the publisher's code (imageInfoDict in
 * src/library/publish.ts): a file published in the catalog keeps its
 * release's info (same infohash as the published torrent, with product,
 * release, lineage and hints); any other file gets a plain one. Around it,
 * per server: this server's /announce as first tracker tier (then the
 * release's own trackers), the file's own URL as web seed (BEP 19, then the
 * release's own web seeds).
 */
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Catalog } from '../library/catalog.js';
import { imageInfoDict, type ImageInfoDict } from '../library/publish.js';
import { parseMetainfo, type Metainfo } from '../torrent/metainfo.js';
import { wrapInfo } from './torrent-wrap.js';

/** Default smallest file that gets a torrent: smaller files download faster than a swarm forms. */
export const DEFAULT_MIN_TORRENT_BYTES = 16 * 1024 * 1024;

export interface ServedTorrent {
  /** The .torrent file's bytes. */
  readonly bytes: Uint8Array;
  readonly metainfo: Metainfo;
  /** The served file (real path). */
  readonly path: string;
  /** Its URL on this server (the web seed). */
  readonly fileUrl: string;
  /** The file's identity the torrent was made for. */
  readonly size: number;
  readonly mtimeMs: number;
  readonly inode: number;
}

export interface TorrentCacheOptions {
  /** Base URL clients reach this server at, without a trailing "/". */
  readonly publicUrl: string;
  readonly minSize: number;
  /** A torrent was made or loaded for a file (e.g. start seeding it). */
  readonly onTorrent?: (t: ServedTorrent) => void;
}

interface Entry {
  readonly key: string;
  readonly made: Promise<ServedTorrent>;
}

export class TorrentCache {
  private readonly entries = new Map<string, Entry>();
  /** Torrents made (hashed) since start, and loaded from the catalog's cache. */
  generated = 0;
  loaded = 0;

  constructor(
    private readonly catalog: Catalog | undefined,
    private readonly opts: TorrentCacheOptions,
  ) {}

  eligible(st: Stats): boolean {
    return st.isFile() && st.size >= this.opts.minSize && st.size > 0;
  }

  /** Every torrent made so far (resolved ones only). */
  async all(): Promise<ServedTorrent[]> {
    const out = await Promise.allSettled([...this.entries.values()].map((e) => e.made));
    return out.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  /** The torrent of the file at `path` (real path) with Stats `st`, served at `urlPath`. Concurrent callers share one hashing. */
  torrentFor(path: string, st: Stats, urlPath: string): Promise<ServedTorrent> {
    const key = `${st.size}:${st.mtimeMs}:${st.ino}:${urlPath}`;
    const hit = this.entries.get(path);
    if (hit && hit.key === key) return hit.made;
    const made = this.make(path, st, urlPath);
    const entry = { key, made };
    this.entries.set(path, entry);
    made.then(
      (t) => this.opts.onTorrent?.(t),
      () => {
        if (this.entries.get(path) === entry) this.entries.delete(path); // try again next time
      },
    );
    return made;
  }

  private async make(path: string, st: Stats, urlPath: string): Promise<ServedTorrent> {
    const id = { size: st.size, mtimeMs: st.mtimeMs, inode: st.ino };
    let dict: ImageInfoDict | undefined;
    if (this.catalog?.imageAt(path)?.unchanged) dict = await imageInfoDict(this.catalog, path); // a published release: no hashing
    if (!dict) {
      const cached = this.catalog?.servedTorrent(path, id);
      if (cached) {
        dict = { info: cached.info, infoHash: cached.infoHash, pieceLength: cached.pieceLength };
        this.loaded++;
      }
    }
    if (!dict) {
      dict = await imageInfoDict(this.catalog, path);
      this.generated++;
      // The file may have changed while it was hashed: then this torrent is not cached.
      const now = await stat(path).catch(() => undefined);
      if (now && now.size === id.size && now.mtimeMs === id.mtimeMs && now.ino === id.inode) {
        this.catalog?.recordServedTorrent({ path, ...id, pieceLength: dict.pieceLength, info: dict.info, infoHash: dict.infoHash });
      }
    }
    const fileUrl = this.opts.publicUrl + urlPath;
    const release = dict.release ? parseMetainfo(dict.release.torrent, `catalog record of ${dict.release.product} ${dict.release.release}`) : undefined;
    const own = `${this.opts.publicUrl}/announce`;
    const trackers = [[own], ...(release?.announceList.length ? release.announceList : release?.announce ? [[release.announce]] : []).map((t) => t.filter((u) => u !== own))];
    const webSeeds = [...new Set([fileUrl, ...(release?.urlList ?? [])])];
    const bytes = wrapInfo(dict.info, { trackers, webSeeds, creationDate: Math.floor(st.mtimeMs / 1000) });
    const metainfo = parseMetainfo(bytes, `${urlPath}.torrent`);
    return { bytes, metainfo, path, fileUrl, ...id };
  }
}
