/**
 * The torrents `isosync serve` hands out: one per served file of at least
 * `minSize` bytes, made on first need and cached twice — in memory, and in
 * the catalog (served_torrents, keyed by path with size, mtime and inode, so
 * a changed file is hashed again and a restart hashes nothing).
 *
 * The info dictionary comes from the publisher's code (imageInfoDict in
 * src/library/publish.ts): a file published in the catalog keeps its
 * release's info (same infohash as the published torrent, with product,
 * release, lineage and hints; found also through a hard link or a symlink,
 * and picked up without a restart: when another process commits to the
 * catalog, e.g. a publish, every torrent is looked up again on its next
 * use); a file with its own published torrent beside it (FILE.torrent, as
 * publish --out-dir lays it out) whose pieces match keeps that torrent's info
 * dictionary (and its publisher's signatures); any other file gets a plain
 * one; a .torrent file itself never gets one. Around it,
 * per server: this server's /announce as first tracker tier (then the
 * release's own trackers), the file's own URL as web seed (BEP 19, then the
 * release's own web seeds).
 */
import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Catalog } from '../library/catalog.js';
import { MAX_TORRENT_FILE_BYTES } from '../library/previous.js';
import { imageInfoDict, type ImageInfoDict } from '../library/publish.js';
import { TORRENT_SUFFIX, torrentFileName } from '../library/torrent-name.js';
import { hashPiecesV2, verifyPieces } from '../torrent/hash-pieces.js';
import type { InfoHash } from '../torrent/info-hash.js';
import { parseMetainfo, type Metainfo } from '../torrent/metainfo.js';
import { wrapInfo } from './torrent-wrap.js';
import { decodeBencode, type BDict } from '../torrent/bencode-decode.js';
import type { Bencodable } from '../torrent/bencode-encode.js';

/** What a release torrent holds outside its info and is handed out with it: the publisher's signatures, BEP 52 piece layers. */
interface Carried {
  readonly signatures?: Bencodable;
  readonly pieceLayers?: Bencodable;
}

function carriedOf(torrent: Uint8Array): Carried {
  try {
    const top = decodeBencode(torrent).value as BDict;
    const signatures = top.get('signatures') as Bencodable | undefined;
    const pieceLayers = top.get('piece layers') as Bencodable | undefined;
    return { ...(signatures ? { signatures } : {}), ...(pieceLayers ? { pieceLayers } : {}) };
  } catch {
    return {};
  }
}

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
  /** The catalog's data version it was made at (see Catalog.dataVersion). */
  readonly version: number | undefined;
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

  /**
   * Whether the file `name` gets a torrent of this server: big enough, and not
   * itself a .torrent file (a published NAME.iso.torrent is served as it is,
   * never wrapped in a torrent of its own).
   */
  eligible(st: Stats, name: string): boolean {
    return st.isFile() && st.size >= this.opts.minSize && st.size > 0 && !name.endsWith(TORRENT_SUFFIX);
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
    const version = this.catalog?.dataVersion;
    if (hit && hit.key === key && hit.version === version) return hit.made;
    const made = this.make(path, st, urlPath);
    const entry = { key, version, made };
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
    // A published release (also through a hard link or symlink): its own info dictionary, no hashing.
    const reg = this.catalog?.imageAt(path) ?? this.catalog?.imageWithIdentity(st);
    if (reg?.unchanged && this.catalog?.byInfoHash(reg.infoHash)) dict = await imageInfoDict(this.catalog, path);
    if (!dict) {
      const cached = this.catalog?.servedTorrent(path, id);
      if (cached) {
        dict = { info: cached.info, infoHash: cached.infoHash, pieceLength: cached.pieceLength };
        this.loaded++;
      }
    }
    if (!dict) {
      dict = await publishedBeside(path, st);
      if (dict) this.catalog?.recordServedTorrent({ path, ...id, pieceLength: dict.pieceLength, info: dict.info, infoHash: dict.infoHash as InfoHash });
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
    const carried = dict.release ? carriedOf(dict.release.torrent) : await carriedBeside(path, dict.infoHash);
    const wrap = (c: Carried) => wrapInfo(dict.info, { trackers, webSeeds, creationDate: Math.floor(st.mtimeMs / 1000), ...c });
    let bytes = wrap(carried);
    let metainfo = parseMetainfo(bytes, `${urlPath}.torrent`);
    if (metainfo.v2 && !metainfo.v2.layersComplete) {
      // A v2 info whose torrent is gone (cached by the catalog): its piece layer again from the file it was checked against.
      const pieceLayers = await pieceLayersOf(path, metainfo);
      if (pieceLayers) {
        bytes = wrap({ ...carried, pieceLayers });
        metainfo = parseMetainfo(bytes, `${urlPath}.torrent`);
      }
    }
    return { bytes, metainfo, path, fileUrl, ...id };
  }
}

/** What FILE.torrent beside FILE carries outside its info (signatures, piece layers), when that torrent has the same info (infohash). */
async function carriedBeside(path: string, infoHash: string): Promise<Carried> {
  const sibling = join(dirname(path), torrentFileName(basename(path)));
  try {
    const bytes = await readFile(sibling);
    if (bytes.length > MAX_TORRENT_FILE_BYTES || parseMetainfo(bytes, sibling).infoHash !== infoHash) return {};
    return carriedOf(bytes);
  } catch {
    return {};
  }
}

/** The piece layer of a single-file v2 torrent, hashed from the file; undefined when the file no longer has the torrent's pieces root. */
async function pieceLayersOf(path: string, m: Metainfo): Promise<Bencodable | undefined> {
  const root = m.v2?.files[0]?.piecesRoot;
  if (m.files || !root || m.length <= m.pieceLength) return undefined;
  const got = await hashPiecesV2(path, m.pieceLength).catch(() => undefined);
  if (!got || !Buffer.from(got.root).equals(Buffer.from(root))) return undefined;
  return new Map([[Buffer.from(root).toString('latin1'), got.pieceLayer]]);
}

/**
 * The info dictionary of FILE.torrent beside FILE (torrent-name.ts), when it
 * describes this file: same name and length, and every piece hash matches
 * (hashed once; the caller caches the result in the catalog).
 */
async function publishedBeside(path: string, st: Stats): Promise<ImageInfoDict | undefined> {
  const sibling = join(dirname(path), torrentFileName(basename(path)));
  let m: Metainfo;
  try {
    const bytes = await readFile(sibling);
    if (bytes.length > MAX_TORRENT_FILE_BYTES) return undefined;
    m = parseMetainfo(bytes, sibling);
  } catch {
    return undefined;
  }
  if (m.files || m.name !== basename(path) || m.length !== st.size) return undefined;
  // Every piece checked as the torrent says (SHA-1, or BEP 52 piece layers for v2-only).
  const v = await verifyPieces(path, m).catch(() => undefined);
  if (!v || v.validCount !== v.pieceCount) return undefined;
  return { info: m.rawInfo, infoHash: m.infoHash, pieceLength: m.pieceLength };
}
