/**
 * `isosync diff` with torrents: a user sees what 1.01 changes before
 * downloading it. Only the pieces holding metadata and package indexes are
 * rebuilt (locally where possible) or fetched, and verified.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cliAsync, fixture } from '../helpers/env.js';
import { startRangeServer, type RangeServer } from '../helpers/range-server.js';
import { HAVE_RELEASES, publishChain, type Published } from '../sync/fixture-pair.js';

const skip = HAVE_RELEASES ? false : 'fixtures/releases not built';

describe('diff against a torrent', { skip }, () => {
  let pub: Published;
  let server: RangeServer;
  before(async () => {
    pub = publishChain(['distro-1.00', 'distro-1.01']);
    server = await startRangeServer({ '/distro-1.01.iso': pub.image('distro-1.01'), '/distro-1.00.iso': pub.image('distro-1.00') });
  });
  after(async () => {
    await server?.close();
    pub?.cleanup();
  });

  test('diff OLD.iso NEW.torrent lists exactly the changed packages, fetching a fraction of the image', async () => {
    const truth = JSON.parse(readFileSync(fixture('releases', 'CHANGES.json'), 'utf8'));
    const before = server.bytesSent();
    const r = await cliAsync(['diff', pub.image('distro-1.00'), pub.torrent('distro-1.01'), '--json', '--no-catalog', '--from', pub.image('distro-1.00'), '--web-seed', `${server.url}/distro-1.01.iso`]);
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    for (const k of ['upgraded', 'downgraded', 'added', 'removed', 'changedFiles']) assert.deepEqual(d[k], truth[k], k);
    const sent = server.bytesSent() - before;
    assert.ok(sent < statSync(pub.image('distro-1.01')).size / 4, `sent ${sent}`);
  });

  test('diff of two torrents rebuilds both from the catalog images, with nothing to fetch', async () => {
    const truth = JSON.parse(readFileSync(fixture('releases', 'CHANGES.json'), 'utf8'));
    const before = server.bytesSent();
    const r = await cliAsync(['diff', pub.torrent('distro-1.00'), pub.torrent('distro-1.01'), '--json', '--home', pub.home]);
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.deepEqual(d.upgraded, truth.upgraded);
    assert.deepEqual(d.removed, truth.removed);
    assert.equal(server.bytesSent() - before, 0, 'the publisher has both images: nothing is fetched');
  });
});
