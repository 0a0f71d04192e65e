/**
 * A new catalog file, made whole before it takes its name: the first command with a fresh home (every first sync or
 * publish) made it in place, where switching a new file to WAL and migrating it cost 6 fsyncs (a rollback journal
 * for the switch: journal, folder, journal, file; then the WAL's header and the commit), 40-90 ms of wall before
 * the command's own work on the bench machine, while its CPU is ~1 ms.
 *
 * Here the schema is written into `catalog.sqlite.PID.new` with `synchronous = OFF` (no fsync at all), switched to
 * WAL, closed (its WAL checkpointed into it), synced once, and linked to the catalog's name (link, not rename: a
 * catalog another process made meanwhile is kept, and this one dropped); the folder is synced so the link lasts. A
 * crash leaves either no catalog or a whole one, never a half-made file under the catalog's name; the temporary file
 * is removed on every path.
 */
import Database from 'better-sqlite3';
import { closeSync, fsyncSync, linkSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { IsosyncError } from '../errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';

/** Makes the catalog file at `path` when there is none; returns without touching one that exists. */
export function createCatalogFile(path: string): void {
  const tmp = `${path}.${process.pid}.new`;
  try {
    const db = new Database(tmp);
    try {
      db.pragma('synchronous = OFF');
      migrate(db, MIGRATIONS, path);
      db.pragma('journal_mode = WAL');
    } finally {
      db.close();
    }
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
      syncFolder(dirname(path));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  } finally {
    rmSync(tmp, { force: true });
    rmSync(`${tmp}-wal`, { force: true });
    rmSync(`${tmp}-shm`, { force: true });
  }
}

/** Makes a just-made link durable: the folder's entry for it, not only the file's bytes. */
function syncFolder(folder: string): void {
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Brings a database to the newest schema; returns the version it was at. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS, label = 'catalog'): number {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > migrations.length) {
    throw new IsosyncError(
      'UNSUPPORTED',
      `Cannot open catalog ${JSON.stringify(label)}: schema version ${from} is newer than this isosync knows (${migrations.length})`,
    );
  }
  if (from === migrations.length) return from;
  // One transaction for every step: one commit (one fsync in WAL mode) where one per step cost
  // ~30 ms of wall each on a new catalog (every first publish or sync with a fresh --home), and
  // a step that fails leaves the file at the version it was at.
  db.transaction(() => {
    for (let v = from; v < migrations.length; v++) db.exec(migrations[v]!.sql);
    db.pragma(`user_version = ${migrations.length}`);
  })();
  return from;
}
