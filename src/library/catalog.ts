/**
 * The release catalog: one SQLite file, `catalog.sqlite`, in isosync's home
 * (resolveHome: --home, $ISOSYNC_HOME, ...). It records what was published
 * (product, release, infohash, torrent, image, lineage) and which local images
 * hold which torrent's content, so a later sync finds its sources by product,
 * lineage or infohash.
 *
 * Invariants: (product, release) and infohash are each unique among releases;
 * a release's lineage rows are replaced together with it; the schema version
 * is `PRAGMA user_version` and only migrations.ts changes it. WAL journal, so
 * readers (a seeding process) and one writer can share the file.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { IsosyncError } from '../errors.js';
import { toInfoHash, type InfoHash } from '../torrent/info-hash.js';
import type { LineageEntry } from '../torrent/isosync-keys.js';
import { createCatalogFile, migrate } from './catalog-file.js';
import { resolveHome } from './home.js';
import { MIGRATIONS } from './migrations.js';
import { compareReleases } from './release-order.js';

export { migrate } from './catalog-file.js';

export const CATALOG_FILE = 'catalog.sqlite';
/** How long a writer waits for another process's lock: a publish records in milliseconds, so 5 s is ample. */
const BUSY_TIMEOUT_MS = 5000;

export interface ReleaseRecord {
  readonly product: string;
  readonly release: string;
  readonly infoHash: InfoHash;
  /** The .torrent file as published. */
  readonly torrent: Uint8Array;
  /** Absolute path of the image when it was published (it may have moved since). */
  readonly imagePath: string | null;
  readonly imageSize: number;
  /** When it was recorded, ms since 1970. */
  readonly created: number;
  /** Earlier releases, nearest first. */
  readonly lineage: readonly LineageEntry[];
}

/** A release to record: a ReleaseRecord before the catalog stamps its time. */
export type NewRelease = Omit<ReleaseRecord, 'created'>;

export interface ImageRecord {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly inode: number;
  readonly infoHash: InfoHash;
  /** ms since 1970 when every piece was last verified; null if never. */
  readonly verifiedAt: number | null;
  /** Whether the file's size, mtime and inode are still those registered (only then does verifiedAt still hold). */
  readonly unchanged: boolean;
}

/** A torrent `isosync serve` generated for a file (its info dictionary; announce and url-list are added per server). */
export interface ServedTorrentRecord {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly inode: number;
  readonly pieceLength: number;
  /** The raw bencoded info dictionary. */
  readonly info: Uint8Array;
  readonly infoHash: InfoHash;
  readonly created: number;
}

/** What recordRelease did. */
export type RecordOutcome = 'created' | 'unchanged' | 'replaced';

interface ReleaseRow {
  product: string;
  release: string;
  infohash: string;
  torrent: Buffer;
  image_path: string | null;
  image_size: number;
  created: number;
}

interface ImageRow {
  path: string;
  size: number;
  mtime_ms: number;
  inode: number;
  infohash: string;
  verified_at: number | null;
}

export class Catalog {
  private constructor(
    private readonly db: Database.Database,
    /** The catalog file. */
    readonly path: string,
  ) {}

  /** Opens (creating the home folder and file if needed) and migrates the catalog in `home`. */
  static open(home: string): Catalog {
    const dir = resolve(home);
    const path = join(dir, CATALOG_FILE);
    let db: Database.Database;
    try {
      mkdirSync(dir, { recursive: true });
      if (!existsSync(path)) createCatalogFile(path);
      db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
    } catch (e) {
      throw new IsosyncError('IO', `Cannot open catalog ${JSON.stringify(path)}: ${(e as Error).message}`, { path }, { cause: e });
    }
    try {
      migrate(db, MIGRATIONS, path);
    } catch (e) {
      db.close();
      if (e instanceof IsosyncError) throw e;
      throw new IsosyncError('IO', `Cannot open catalog ${JSON.stringify(path)}: ${(e as Error).message}`, { path }, { cause: e });
    }
    return new Catalog(db, path);
  }

  close(): void {
    this.db.close();
  }

  /** The SQLite handle, for the stores of other concepts that keep tables in the catalog (src/feed/follow-store.ts). */
  get sql(): Database.Database {
    return this.db;
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  findRelease(product: string, release: string): ReleaseRecord | undefined {
    const row = this.db.prepare<[string, string], ReleaseRow>('SELECT * FROM releases WHERE product = ? AND release = ?').get(product, release);
    return row && this.toRecord(row);
  }

  byInfoHash(infoHash: string): ReleaseRecord | undefined {
    const row = this.db.prepare<[string], ReleaseRow>('SELECT * FROM releases WHERE infohash = ?').get(infoHash.toLowerCase());
    return row && this.toRecord(row);
  }

  /** A product's releases, newest first (by release order, see release-order.ts). */
  releasesOf(product: string): ReleaseRecord[] {
    const rows = this.db.prepare<[string], ReleaseRow>('SELECT * FROM releases WHERE product = ?').all(product);
    return rows.map((r) => this.toRecord(r)).sort((a, b) => compareReleases(b.release, a.release) || b.created - a.created);
  }

  /** Every product with at least one release, sorted. */
  products(): string[] {
    return this.db
      .prepare<[], { product: string }>('SELECT DISTINCT product FROM releases ORDER BY product')
      .all()
      .map((r) => r.product);
  }

  /** Earlier releases of `infoHash`, nearest first ([] when unknown). */
  lineageOf(infoHash: string): LineageEntry[] {
    return this.db
      .prepare<[string], { ancestor: string; release: string }>('SELECT ancestor, release FROM lineage WHERE infohash = ? ORDER BY position')
      .all(infoHash.toLowerCase())
      .map((r) => ({ release: r.release, infoHash: toInfoHash(r.ancestor, 'catalog infohash') }));
  }

  /**
   * Records a published release with its lineage. The same product+release
   * with the same infohash again refreshes the stored torrent and image path
   * ('unchanged'); with another infohash it is refused with CONFLICT unless
   * `force`, which replaces the old record ('replaced').
   */
  recordRelease(r: NewRelease, opts: { force?: boolean; now?: number } = {}): RecordOutcome {
    const now = opts.now ?? Date.now();
    return this.db.transaction((): RecordOutcome => {
      const same = this.findRelease(r.product, r.release);
      if (same && same.infoHash === r.infoHash) {
        this.db
          .prepare('UPDATE releases SET torrent = ?, image_path = ?, image_size = ? WHERE infohash = ?')
          .run(r.torrent, r.imagePath, r.imageSize, r.infoHash);
        this.writeLineage(r.infoHash, r.lineage);
        return 'unchanged';
      }
      const conflict = this.conflictWith(r);
      if (conflict && !opts.force) throw conflict;
      for (const old of [same, this.byInfoHash(r.infoHash)]) {
        if (!old) continue;
        this.db.prepare('DELETE FROM releases WHERE infohash = ?').run(old.infoHash);
        this.db.prepare('DELETE FROM lineage WHERE infohash = ?').run(old.infoHash);
      }
      this.db
        .prepare('INSERT INTO releases (product, release, infohash, torrent, image_path, image_size, created) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(r.product, r.release, r.infoHash, r.torrent, r.imagePath, r.imageSize, now);
      this.writeLineage(r.infoHash, r.lineage);
      return conflict ? 'replaced' : 'created';
    })();
  }

  /**
   * The CONFLICT error recordRelease would raise without `force` (the same
   * product+release already published with another infohash, or the infohash
   * published under another name), or undefined.
   */
  conflictWith(r: Pick<NewRelease, 'product' | 'release' | 'infoHash'>): IsosyncError | undefined {
    const same = this.findRelease(r.product, r.release);
    if (same && same.infoHash === r.infoHash) return undefined;
    const other = same ? undefined : this.byInfoHash(r.infoHash);
    if (!same && !other) return undefined;
    const what = same
      ? `release ${JSON.stringify(r.release)} of ${JSON.stringify(r.product)} is already published with infohash ${same.infoHash}`
      : `infohash ${r.infoHash} is already published as ${JSON.stringify(other!.product)} ${JSON.stringify(other!.release)}`;
    return new IsosyncError('CONFLICT', `Cannot publish ${r.product} ${r.release}: ${what} (use --force to replace it)`, {
      product: r.product,
      release: r.release,
      infoHash: r.infoHash,
    });
  }

  /**
   * Remembers that the file at `path` holds the content of `infoHash` (its
   * size, mtime and inode now, so a later change is noticed). `verified`:
   * every piece was just checked.
   */
  registerImage(path: string, infoHash: string, verified: boolean, now: number = Date.now()): ImageRecord {
    const abs = resolve(path);
    const st = statSync(abs);
    this.db
      .prepare(
        `INSERT INTO images (path, size, mtime_ms, inode, infohash, verified_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, inode = excluded.inode,
           infohash = excluded.infohash, verified_at = excluded.verified_at`,
      )
      .run(abs, st.size, st.mtimeMs, st.ino, infoHash.toLowerCase(), verified ? now : null);
    return { path: abs, size: st.size, mtimeMs: st.mtimeMs, inode: st.ino, infoHash: toInfoHash(infoHash), verifiedAt: verified ? now : null, unchanged: true };
  }

  /** Registered images of `infoHash` that still exist with the registered size; unchanged ones first. */
  imagesFor(infoHash: string): ImageRecord[] {
    const rows = this.db.prepare<[string], ImageRow>('SELECT * FROM images WHERE infohash = ? ORDER BY verified_at DESC').all(infoHash.toLowerCase());
    return rows
      .map((r) => this.checkImage(r))
      .filter((r): r is ImageRecord => r !== undefined)
      .sort((a, b) => Number(b.unchanged) - Number(a.unchanged));
  }

  /** The registration of the file at `path`, if it still exists with the registered size. */
  imageAt(path: string): ImageRecord | undefined {
    const row = this.db.prepare<[string], ImageRow>('SELECT * FROM images WHERE path = ?').get(resolve(path));
    return row && this.checkImage(row);
  }

  /**
   * The registration of another name of the same file (a hard link, or the
   * path a symlink was published through): same inode, size and mtime.
   */
  imageWithIdentity(id: { size: number; mtimeMs: number; ino: number }): ImageRecord | undefined {
    const rows = this.db.prepare<[number, number], ImageRow>('SELECT * FROM images WHERE inode = ? AND size = ?').all(id.ino, id.size);
    for (const r of rows) {
      const rec = this.checkImage(r);
      if (rec?.unchanged && rec.mtimeMs === id.mtimeMs) return rec;
    }
    return undefined;
  }

  /** Changes when another connection (another isosync process) commits to the catalog (SQLite's data_version). */
  get dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  /** Forgets a registered image (e.g. found deleted or failing verification). */
  forgetImage(path: string): void {
    this.db.prepare('DELETE FROM images WHERE path = ?').run(resolve(path));
  }

  /** The info dictionary `isosync serve` generated for the file at `path`, if the file still has this size, mtime and inode. */
  servedTorrent(path: string, id: { size: number; mtimeMs: number; inode: number }): ServedTorrentRecord | undefined {
    const row = this.db
      .prepare<[string], { path: string; size: number; mtime_ms: number; inode: number; piece_length: number; info: Buffer; infohash: string; created: number }>(
        'SELECT * FROM served_torrents WHERE path = ?',
      )
      .get(resolve(path));
    if (!row || row.size !== id.size || row.mtime_ms !== id.mtimeMs || row.inode !== id.inode) return undefined;
    return { path: row.path, size: row.size, mtimeMs: row.mtime_ms, inode: row.inode, pieceLength: row.piece_length, info: new Uint8Array(row.info), infoHash: toInfoHash(row.infohash, 'catalog infohash'), created: row.created };
  }

  /** Stores (replacing) the info dictionary generated for the file at `path`. */
  recordServedTorrent(r: Omit<ServedTorrentRecord, 'created'>, now: number = Date.now()): void {
    this.db
      .prepare(
        `INSERT INTO served_torrents (path, size, mtime_ms, inode, piece_length, info, infohash, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, inode = excluded.inode,
           piece_length = excluded.piece_length, info = excluded.info, infohash = excluded.infohash, created = excluded.created`,
      )
      .run(resolve(r.path), r.size, r.mtimeMs, r.inode, r.pieceLength, r.info, r.infoHash, now);
  }

  /** The DHT state kept from the last run: node id and routing table, newest first. */
  dhtState(): { nodeId?: Uint8Array; nodes: { host: string; port: number }[] } {
    const id = this.db.prepare<[], { node_id: Buffer }>('SELECT node_id FROM dht_identity WHERE id = 1').get();
    const nodes = this.db.prepare<[], { host: string; port: number }>('SELECT host, port FROM dht_nodes ORDER BY seen DESC, host, port').all();
    return { nodes: nodes.map((n) => ({ host: n.host, port: n.port })), ...(id ? { nodeId: new Uint8Array(id.node_id) } : {}) };
  }

  /** Replaces the kept DHT state with this run's (one transaction). */
  saveDhtState(nodeId: Uint8Array, nodes: readonly { host: string; port: number }[], now: number = Date.now()): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT OR REPLACE INTO dht_identity (id, node_id) VALUES (1, ?)').run(nodeId);
      this.db.prepare('DELETE FROM dht_nodes').run();
      const add = this.db.prepare('INSERT OR IGNORE INTO dht_nodes (host, port, seen) VALUES (?, ?, ?)');
      for (const n of nodes) add.run(n.host, n.port, now);
    })();
  }

  private checkImage(r: ImageRow): ImageRecord | undefined {
    let st;
    try {
      st = statSync(r.path);
    } catch {
      return undefined;
    }
    if (!st.isFile() || st.size !== r.size) return undefined;
    return {
      path: r.path,
      size: r.size,
      mtimeMs: r.mtime_ms,
      inode: r.inode,
      infoHash: toInfoHash(r.infohash, 'catalog infohash'),
      verifiedAt: r.verified_at,
      unchanged: st.mtimeMs === r.mtime_ms && st.ino === r.inode,
    };
  }

  private writeLineage(infoHash: string, lineage: readonly LineageEntry[]): void {
    this.db.prepare('DELETE FROM lineage WHERE infohash = ?').run(infoHash);
    const ins = this.db.prepare('INSERT INTO lineage (infohash, position, ancestor, release) VALUES (?, ?, ?, ?)');
    lineage.forEach((e, i) => ins.run(infoHash, i, e.infoHash, e.release));
  }

  private toRecord(row: ReleaseRow): ReleaseRecord {
    return {
      product: row.product,
      release: row.release,
      infoHash: toInfoHash(row.infohash, 'catalog infohash'),
      torrent: new Uint8Array(row.torrent),
      imagePath: row.image_path,
      imageSize: row.image_size,
      created: row.created,
      lineage: this.lineageOf(row.infohash),
    };
  }
}

/** Opens the catalog in the home resolveHome(option) names. */
export function openCatalog(homeOption?: string): Catalog {
  return Catalog.open(resolveHome(homeOption));
}

/**
 * For commands that only read: the catalog when its file exists, else
 * undefined (an empty catalog), so that reading creates no folder or file.
 */
export function openCatalogIfExists(homeOption?: string): Catalog | undefined {
  const home = resolveHome(homeOption);
  if (!existsSync(join(home, CATALOG_FILE))) return undefined;
  return Catalog.open(home);
}
