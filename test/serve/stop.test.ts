/**
 * Stopping `isosync serve` while a request is still being answered (here:
 * a torrent whose image is being hashed) is not a failed request: the
 * connection is gone and the catalog closed, and no warning is given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, ftruncateSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Warning } from '../../src/core/warnings.js';
import { Catalog } from '../../src/library/catalog.js';
import { IsosyncServer } from '../../src/serve/server.js';
import { tempDir } from '../helpers/env.js';

test('serve stopped while it hashes an image for a torrent gives no warning', async () => {
  const t = tempDir('isosync-serve-stop-');
  const root = join(t.dir, 'root');
  mkdirSync(root);
  // 1 GiB, sparse: hashing it takes far longer than the 100 ms before the stop.
  const fd = openSync(join(root, 'big.iso'), 'w');
  ftruncateSync(fd, 1024 * 1024 * 1024);
  closeSync(fd);
  const catalog = Catalog.open(join(t.dir, 'home'));
  const warnings: Warning[] = [];
  const server = await IsosyncServer.start({ root, minSize: 1024 * 1024, catalog, onWarning: (w) => warnings.push(w) });
  try {
    const asked = new Promise<string>((resolve) => {
      const req = request(`${server.url}/big.iso.torrent`, (res) => {
        res.resume();
        res.on('end', () => resolve(`answered ${res.statusCode}`));
      });
      req.on('error', () => resolve('cut off'));
      req.end();
    });
    await sleep(100);
    await server.close();
    catalog.close();
    assert.equal(await asked, 'cut off', 'the stop came while the torrent was being made');
    await sleep(3000); // the hashing goes on to its end, then finds the catalog closed
    assert.deepEqual(warnings.map((w) => w.code), []);
  } finally {
    await server.close();
    t.cleanup();
  }
});
