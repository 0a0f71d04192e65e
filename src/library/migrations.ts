/**
 * The catalog's schema as an ordered list of migrations. Migration i brings
 * the database from `PRAGMA user_version` i to i + 1; a database is migrated
 * by running, in one transaction each, every migration past its version.
 * Append new migrations; never edit a released one.
 *
 * Tables (version 1):
 *   releases  one row per published release: product, release, infohash (hex,
 *             unique), the .torrent as published, the image path and size
 *             when published, created (ms since 1970). (product, release) is unique.
 *   lineage   earlier releases of a release, nearest first: infohash (the
 *             later release) -> ancestor infohash + its release label, by position.
 *   images    local images known to hold a torrent's content: path (absolute,
 *             unique), size, mtime_ms and inode when registered (to notice a
 *             changed file), infohash, verified_at (ms since 1970, NULL if never
 *             verified piece by piece).
 */

export interface Migration {
  /** What the migration does, for errors and tests. */
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    name: 'releases, lineage and images',
    sql: `
      CREATE TABLE releases (
        id          INTEGER PRIMARY KEY,
        product     TEXT    NOT NULL,
        release     TEXT    NOT NULL,
        infohash    TEXT    NOT NULL UNIQUE,
        torrent     BLOB    NOT NULL,
        image_path  TEXT,
        image_size  INTEGER NOT NULL,
        created     INTEGER NOT NULL,
        UNIQUE (product, release)
      );
      CREATE TABLE lineage (
        infohash  TEXT    NOT NULL,
        position  INTEGER NOT NULL,
        ancestor  TEXT    NOT NULL,
        release   TEXT    NOT NULL,
        PRIMARY KEY (infohash, position)
      );
      CREATE TABLE images (
        path         TEXT    PRIMARY KEY,
        size         INTEGER NOT NULL,
        mtime_ms     REAL    NOT NULL,
        inode        INTEGER NOT NULL,
        infohash     TEXT    NOT NULL,
        verified_at  INTEGER
      );
      CREATE INDEX images_by_infohash ON images (infohash);
    `,
  },
];
