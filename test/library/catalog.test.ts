import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { Catalog, CATALOG_FILE, migrate } from '../../src/library/catalog.js';
import { createCatalogFile } from '../../src/library/catalog-file.js';
import { MIGRATIONS } from '../../src/library/migrations.js';
import { compareReleases } from '../../src/library/release-order.js';
import type { InfoHash } from '../../src/torrent/info-hash.js';
import { tempDir } from '../helpers/env.js';

const h = (c: string) => c.repeat(40) as InfoHash;
const rel = (release: string, infoHash: InfoHash, lineage: { release: string; infoHash: InfoHash }[] = []) => ({
  product: 'distro',
  release,
  infoHash,
  torrent: new Uint8Array([1, 2, 3]),
  imagePath: null,
  imageSize: 100,
  lineage,
});

function withCatalog(t: { after: (fn: () => void) => void }): { cat: Catalog; home: string } {
  const tmp = tempDir();
  const cat = Catalog.open(join(tmp.dir, 'home'));
  t.after(() => {
    cat.close();
    tmp.cleanup();
  });
  return { cat, home: join(tmp.dir, 'home') };
}

describe('catalog schema', () => {
  it('migrates a version-0 file to the newest version, in WAL mode', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const raw = new Database(join(tmp.dir, CATALOG_FILE));
    assert.equal(raw.pragma('user_version', { simple: true }), 0);
    raw.close();
    const cat = Catalog.open(tmp.dir);
    assert.equal(cat.schemaVersion, MIGRATIONS.length);
    cat.close();
    const db = new Database(join(tmp.dir, CATALOG_FILE));
    t.after(() => db.close());
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
    assert.deepEqual(tables, ['dht_identity', 'dht_nodes', 'follows', 'images', 'lineage', 'published_feeds', 'releases', 'served_torrents']);
  });

  it('re-opening an up-to-date catalog runs no migration and keeps the data', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const a = Catalog.open(tmp.dir);
    a.recordRelease(rel('1.00', h('a')));
    a.close();
    const db = new Database(join(tmp.dir, CATALOG_FILE));
    assert.equal(migrate(db), MIGRATIONS.length, 'already at the newest version');
    db.close();
    const b = Catalog.open(tmp.dir);
    t.after(() => b.close());
    assert.equal(b.findRelease('distro', '1.00')?.infoHash, h('a'));
  });

  it('migrations are append-only, in the order they shipped: 3 the release feeds, 4 the DHT routing table', () => {
    assert.deepEqual(MIGRATIONS.slice(2).map((m) => m.name), ['followed feeds and published feeds', 'the DHT routing table']);
  });

  it('runs migrations in order, each once, from whatever version a file is at', (t) => {
    const db = new Database(':memory:');
    t.after(() => db.close());
    const steps = [
      { name: 'one', sql: 'CREATE TABLE a (x)' },
      { name: 'two', sql: 'INSERT INTO a VALUES (2)' },
      { name: 'three', sql: 'INSERT INTO a VALUES (3)' },
    ];
    assert.equal(migrate(db, steps.slice(0, 2)), 0);
    assert.equal(migrate(db, steps), 2);
    assert.equal(migrate(db, steps), 3);
    assert.deepEqual(db.prepare('SELECT x FROM a ORDER BY x').all(), [{ x: 2 }, { x: 3 }]);
  });

  it('runs the pending migrations as one: a step that fails leaves the file at the version it was at', (t) => {
    const db = new Database(':memory:');
    t.after(() => db.close());
    const steps = [
      { name: 'one', sql: 'CREATE TABLE a (x)' },
      { name: 'two', sql: 'INSERT INTO nowhere VALUES (2)' },
    ];
    assert.throws(() => migrate(db, steps), (e: unknown) => (e as { code?: string }).code === 'SQLITE_ERROR');
    assert.equal(db.pragma('user_version', { simple: true }), 0);
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE name = 'a'").all(), []);
  });

  it('makes a fresh home\'s catalog whole under a temporary name, then links it: WAL, newest schema, nothing left over', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const home = join(tmp.dir, 'home');
    const cat = Catalog.open(home);
    t.after(() => cat.close());
    assert.equal(cat.sql.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(cat.schemaVersion, MIGRATIONS.length);
    assert.deepEqual(readdirSync(home).filter((n) => !n.startsWith(`${CATALOG_FILE}-`)), [CATALOG_FILE]);
  });

  it('keeps a catalog another process made first (the one made here is dropped)', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const path = join(tmp.dir, CATALOG_FILE);
    const first = Catalog.open(tmp.dir);
    first.recordRelease(rel('1', h('a')));
    first.close();
    createCatalogFile(path);
    const again = Catalog.open(tmp.dir);
    t.after(() => again.close());
    assert.equal(again.findRelease('distro', '1')?.infoHash, h('a'));
    assert.deepEqual(readdirSync(tmp.dir).filter((n) => n.endsWith('.new')), []);
  });

  it('refuses a catalog written by a newer isosync', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const raw = new Database(join(tmp.dir, CATALOG_FILE));
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    assert.throws(() => Catalog.open(tmp.dir), (e: unknown) => e instanceof IsosyncError && /newer than this isosync knows/.test(e.message));
  });
});

describe('catalog releases', () => {
  it('records releases with lineage and finds them by product, release and infohash', (t) => {
    const { cat } = withCatalog(t);
    assert.equal(cat.recordRelease(rel('1.9', h('a'))), 'created');
    assert.equal(cat.recordRelease(rel('1.10', h('b'), [{ release: '1.9', infoHash: h('a') }])), 'created');
    cat.recordRelease({ ...rel('7', h('c')), product: 'other' });
    assert.deepEqual(cat.products(), ['distro', 'other']);
    assert.deepEqual(cat.releasesOf('distro').map((r) => r.release), ['1.10', '1.9']);
    assert.equal(cat.byInfoHash(h('b').toUpperCase())?.release, '1.10');
    assert.deepEqual(cat.lineageOf(h('b')), [{ release: '1.9', infoHash: h('a') }]);
    assert.deepEqual(cat.findRelease('distro', '1.10')?.lineage, [{ release: '1.9', infoHash: h('a') }]);
    assert.deepEqual(cat.findRelease('distro', '1.10')?.torrent, new Uint8Array([1, 2, 3]));
    assert.equal(cat.findRelease('distro', '2.0'), undefined);
  });

  it('treats the same content again as no change, and other content under the same release as a CONFLICT unless forced', (t) => {
    const { cat } = withCatalog(t);
    cat.recordRelease(rel('1.01', h('a')));
    assert.equal(cat.recordRelease(rel('1.01', h('a'))), 'unchanged');
    assert.throws(
      () => cat.recordRelease(rel('1.01', h('b'))),
      (e: unknown) => e instanceof IsosyncError && e.code === 'CONFLICT' && e.exitCode === 2 && /already published with infohash a{40}/.test(e.message),
    );
    assert.equal(cat.findRelease('distro', '1.01')?.infoHash, h('a'));
    assert.equal(cat.recordRelease(rel('1.01', h('b')), { force: true }), 'replaced');
    assert.equal(cat.findRelease('distro', '1.01')?.infoHash, h('b'));
    assert.equal(cat.byInfoHash(h('a')), undefined);
  });
});

describe('catalog images', () => {
  it('finds registered images that still exist with their size, and notices changed ones', (t) => {
    const { cat, home } = withCatalog(t);
    const a = join(home, 'a.iso');
    const b = join(home, 'b.iso');
    writeFileSync(a, 'aaaa');
    writeFileSync(b, 'bbbb');
    cat.registerImage(a, h('1'), true, 1000);
    cat.registerImage(b, h('1'), false);
    assert.deepEqual(cat.imagesFor(h('1')).map((i) => [i.path, i.verifiedAt, i.unchanged]), [
      [a, 1000, true],
      [b, null, true],
    ]);
    writeFileSync(b, 'bbbbb'); // size changed: no longer a source
    renameSync(a, join(home, 'moved.iso')); // gone from its path
    assert.deepEqual(cat.imagesFor(h('1')), []);
    writeFileSync(a, 'zzzz'); // same size but a new file (new inode): listed, marked changed
    const [again] = cat.imagesFor(h('1'));
    assert.equal(again?.path, a);
    assert.equal(again?.unchanged, false);
    assert.equal(cat.imageAt(a)?.infoHash, h('1'));
    cat.forgetImage(a);
    assert.equal(cat.imageAt(a), undefined);
  });
});

describe('release order', () => {
  it('orders digit runs as numbers', () => {
    const sorted = ['2.0', '1.10', '1.9', '1.9-rc2', '1.9-rc10', '10', '1.09.1'].sort(compareReleases);
    assert.deepEqual(sorted, ['1.9', '1.9-rc2', '1.9-rc10', '1.09.1', '1.10', '2.0', '10']);
  });
});
