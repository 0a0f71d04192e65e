/**
 * `isosync serve` hands out v2-only torrents that a client can check: BEP 52
 * keeps `piece layers` outside the info dictionary, so a served torrent
 * carries them from the release's torrent, from FILE.torrent beside the
 * file, or (info cached in the catalog, torrent gone) hashes them again from
 * the file. A v2 release whose mtime changed is still served as that release.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Catalog } from '../../src/library/catalog.js';
import { IsosyncServer } from '../../src/serve/server.js';
import { verifyPieces } from '../../src/torrent/hash-pieces.js';
import { parseMetainfo, type Metainfo } from '../../src/torrent/metainfo.js';
import { cli, tempDir } from '../helpers/env.js';
import { HAVE_RELEASES, RELEASES } from '../sync/fixture-pair.js';

const MIN = 64 * 1024;

/** The torrent the server makes for a file (asked by Accept, so a FILE.torrent beside it is not what answers). */
function getTorrent(url: string): Promise<Metainfo> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { Accept: 'application/x-bittorrent' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          assert.equal(res.statusCode, 200);
          resolve(parseMetainfo(Buffer.concat(chunks), url));
        } catch (e) {
          reject(e);
        }
      });
    })
      .on('error', reject)
      .end();
  });
}

/** The served torrent names the same v2 release and checks every piece of the file. */
async function assertCheckable(m: Metainfo, published: Metainfo, image: string): Promise<void> {
  assert.equal(m.version, 'v2');
  assert.equal(m.infoHash, published.infoHash, 'the release, not a new torrent');
  assert.equal(m.v2?.layersComplete, true, 'piece layers carried');
  const v = await verifyPieces(image, m);
  assert.equal(v.validCount, v.pieceCount);
}

function publishV2(image: string, home: string, out: string): Metainfo {
  const r = cli(['publish', image, '--product', 'distro', '--release', '1.01', '--v2', '--home', home, '-o', out]);
  assert.equal(r.status, 0, r.stderr);
  return parseMetainfo(readFileSync(out), out);
}

describe('isosync serve: v2-only torrents', { skip: HAVE_RELEASES ? false : 'fixture releases missing' }, () => {
  test('a v2-only release is served with its piece layers, and still as that release after its mtime changes', async () => {
    const t = tempDir('isosync-serve-v2-');
    const root = join(t.dir, 'root');
    mkdirSync(root);
    const image = join(root, 'distro-1.01.iso');
    copyFileSync(join(RELEASES, 'distro-1.01.iso'), image);
    const home = join(t.dir, 'home');
    const published = publishV2(image, home, join(t.dir, 'release.torrent'));
    const catalog = Catalog.open(home);
    let server = await IsosyncServer.start({ root, minSize: MIN, catalog });
    try {
      await assertCheckable(await getTorrent(`${server.url}/distro-1.01.iso`), published, image);
      await server.close();
      utimesSync(image, new Date(), new Date(Date.now() + 5000)); // touched, content unchanged
      server = await IsosyncServer.start({ root, minSize: MIN, catalog });
      await assertCheckable(await getTorrent(`${server.url}/distro-1.01.iso`), published, image);
    } finally {
      await server.close();
      catalog.close();
      t.cleanup();
    }
  });

  test('a v2 torrent beside its file: layers carried, and hashed again once the torrent is gone and the info comes from the catalog', async () => {
    const t = tempDir('isosync-serve-v2-');
    const root = join(t.dir, 'root');
    mkdirSync(root);
    const image = join(root, 'distro-1.01.iso');
    copyFileSync(join(RELEASES, 'distro-1.01.iso'), image);
    const beside = join(root, 'distro-1.01.iso.torrent');
    // Published elsewhere: the serving catalog knows nothing of this release.
    const published = publishV2(image, join(t.dir, 'publisher-home'), beside);
    const catalog = Catalog.open(join(t.dir, 'server-home'));
    let server = await IsosyncServer.start({ root, minSize: MIN, catalog });
    try {
      await assertCheckable(await getTorrent(`${server.url}/distro-1.01.iso`), published, image);
      await server.close();
      rmSync(beside);
      server = await IsosyncServer.start({ root, minSize: MIN, catalog });
      await assertCheckable(await getTorrent(`${server.url}/distro-1.01.iso`), published, image);
      assert.equal(server.torrents.loaded, 1, 'the info came from the catalog');
    } finally {
      await server.close();
      catalog.close();
      t.cleanup();
    }
  });
});
