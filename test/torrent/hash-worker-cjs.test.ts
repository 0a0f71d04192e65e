/**
 * The piece hashing worker of the CommonJS bundles (torrent/hash-worker-url.ts):
 * a .cjs bundle starts dist/bundle/hash-worker.cjs, an ES module
 * hash-worker.js; and that CommonJS build, run as a shared-pass worker,
 * hashes every piece as OpenSSL's SHA-1 does.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { hashWorkerUrl } from '../../src/torrent/hash-worker-url.js';
import { SHARED_WORKER_MARK, type SharedPass, type SharedReply } from '../../src/torrent/hash-worker.js';
import { tempDir } from '../helpers/env.js';

const BUNDLE = fileURLToPath(new URL('../../bundle/', import.meta.url));

describe('hash worker of the CommonJS bundles', () => {
  it('a .cjs bundle starts hash-worker.cjs beside it, an ES module hash-worker.js', () => {
    assert.equal(hashWorkerUrl('file:///x/dist/bundle/main.cjs').href, 'file:///x/dist/bundle/hash-worker.cjs');
    assert.equal(hashWorkerUrl('file:///x/dist/bundle/quick-publish.cjs').href, 'file:///x/dist/bundle/hash-worker.cjs');
    assert.equal(hashWorkerUrl('file:///x/dist/src/torrent/piece-pool.js').href, 'file:///x/dist/src/torrent/hash-worker.js');
  });

  it('hash-worker.cjs hashes every piece of a shared pass', async () => {
    const file = join(BUNDLE, 'hash-worker.cjs');
    assert.ok(existsSync(file), `${file} is built by scripts/bundle.js`);
    const pieceLength = 16384;
    const data = Buffer.alloc(5 * pieceLength + 1000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    const tmp = tempDir('isosync-hash-worker-cjs-');
    const path = join(tmp.dir, 'image.bin');
    writeFileSync(path, data);
    const count = Math.ceil(data.length / pieceLength);
    const pass: SharedPass = {
      path,
      length: data.length,
      pieceLength,
      jobPieces: 2,
      jobs: Math.ceil(count / 2),
      v2: false,
      control: new SharedArrayBuffer(8),
      digests: new SharedArrayBuffer(count * 20),
    };
    const reply = await new Promise<SharedReply>((resolve, reject) => {
      const w = new Worker(file, { workerData: { mark: SHARED_WORKER_MARK, pass } });
      w.once('message', resolve);
      w.once('error', reject);
    });
    assert.deepEqual(reply, { done: true });
    const digests = new Uint8Array(pass.digests);
    for (let p = 0; p < count; p++) {
      const want = createHash('sha1').update(data.subarray(p * pieceLength, (p + 1) * pieceLength)).digest();
      assert.deepEqual(Buffer.from(digests.subarray(p * 20, p * 20 + 20)), want, `piece ${p}`);
    }
    tmp.cleanup();
  });
});
