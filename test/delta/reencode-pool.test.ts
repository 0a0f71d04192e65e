import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ChainPool, defaultChainWorkers, MIN_WORKER_BYTES } from '../../src/delta/reencode-pool.js';
import type { ChainInput, ChainOutput } from '../../src/delta/reencode-chain.js';
import { localPath, reencodeChangedClusters } from '../../src/delta/reencoded-clusters.js';
import { BlockCache } from '../../src/store/block-cache.js';
import { FileSource } from '../../src/store/file-source.js';
import { ReencodedStore } from '../../src/delta/reencoded-store.js';
import { erofsReader } from '../../src/layouts/erofs/read.js';
import type { NestedImage } from '../../src/layouts/nested.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { needTools, tempDir } from '../helpers/env.js';
import { mulberry32 } from '../helpers/random.js';
import { readFrom, run, textBytes } from '../layouts/helpers.js';

/** Inputs that are no chain at all (the calling thread's stand-in answers them; a real worker fails on them). */
const dummies = (ks: number[]): ChainInput[] => ks.map((k, i) => ({ size: 0, extents: [], k, plain: new Uint8Array(0), shift: i, level: 9, old: { size: 0, las: [], stored: new Uint8Array(0), ends: [] }, oldExtents: [] }));
const here = (c: ChainInput): ChainOutput => ({ shift: c.shift, want: c.k, kept: [], encoded: new Uint8Array(0) });
const BAD = new URL('./reencode-pool-bad-worker.js', import.meta.url);

describe('re-encoding worker pool', () => {
  test('defaultChainWorkers: one worker only with a core free beyond the caller\'s and enough work', () => {
    const big = MIN_WORKER_BYTES;
    // [name, work bytes, spare cores, workers]
    const cases: [string, number, number, number][] = [
      ['small work', big - 1, 3, 0],
      ['no core spare', big, 0, 0],
      ['one core spare', big, 1, 1],
      ['seven cores spare: still one worker', big, 7, 1],
    ];
    for (const [name, bytes, spare, want] of cases) assert.equal(defaultChainWorkers(bytes, spare), want, name);
  });

  test('a worker that answers with errors: every chain runs on the calling thread, results in order', { timeout: 60_000 }, async () => {
    const pool = ChainPool.start(BAD)!;
    try {
      const outs = await pool.run(dummies([0, 0, 0, 0, 0, 0]), here);
      assert.deepEqual(outs.map((o) => o.shift), [0, 1, 2, 3, 4, 5]);
      assert.equal(pool.ranInWorker, 0);
    } finally {
      await pool.close();
    }
  });

  test('a worker that dies with chains out: they run on the calling thread, and later runs need no worker', { timeout: 60_000 }, async () => {
    const pool = ChainPool.start(BAD)!;
    try {
      const outs = await pool.run(dummies([1, 1, 1, 1]), here);
      assert.deepEqual(outs.map((o) => o.shift), [0, 1, 2, 3]);
      const again = await pool.run(dummies([0, 0]), here);
      assert.deepEqual(again.map((o) => o.shift), [0, 1]);
    } finally {
      await pool.close();
    }
  });

  test('a worker script that cannot load: the chains run on the calling thread; close() returns', { timeout: 60_000 }, async () => {
    const pool = ChainPool.start(new URL('./no-such-reencode-worker.js', import.meta.url));
    if (!pool) return; // refused at once: nothing started
    const outs = await pool.run(dummies([0, 0, 0]), here);
    assert.deepEqual(outs.map((o) => o.shift), [0, 1, 2]);
    await pool.close();
  });

  test('a pool started ahead and handed over with nothing to re-encode is closed by the re-encoding', { timeout: 60_000 }, async () => {
    const pool = ChainPool.start(undefined, true)!;
    const store = new ReencodedStore();
    const res = await reencodeChangedClusters({ targets: [], sources: [], target: new MemorySource(new Uint8Array(0)), store, storeIndex: 1, pool: Promise.resolve(pool) });
    store.close();
    assert.equal(res.files, 0);
    assert.equal((pool as unknown as { alive: boolean }).alive, false, 'closed');
  });

  test('the real worker refuses malformed chains with an error reply (no crash), and close() ends its thread', { timeout: 60_000 }, async () => {
    const pool = ChainPool.start()!;
    const outs = await pool.run(dummies([5, 5, 5]), here);
    assert.deepEqual(outs.map((o) => o.want), [5, 5, 5]);
    assert.equal(pool.ranInWorker, 0, 'every chain the worker got failed there and ran here');
    await pool.close(); // resolves once the thread has exited
  });
});

const whole = (path: string, layout: NestedImage['layout']): NestedImage => ({ path, depth: 1, layout, base: 0, toImage: (s, e) => [{ start: s, end: e }] });

describe('re-encoded clusters with a worker thread', { skip: needTools('mkfs.erofs') }, () => {
  test('the same guesses and the same cluster bytes with the worker as without, some chains run by it', { timeout: 300_000 }, async () => {
    const { dir, cleanup } = tempDir('isosync-reenc-pool-');
    try {
      const r = mulberry32(11);
      const image = (name: string, files: Map<string, Uint8Array>): Uint8Array => {
        const root = join(dir, name);
        for (const [p, b] of files) {
          mkdirSync(join(root, p, '..'), { recursive: true });
          writeFileSync(join(root, p), b);
        }
        run('mkfs.erofs', ['-zlz4hc', '-Eztailpacking', '-T0', '--all-root', join(dir, `${name}.erofs`), root]);
        return readFileSync(join(dir, `${name}.erofs`));
      };
      // Twelve files, each with a few bytes inserted: twelve chains.
      const old = new Map<string, Uint8Array>();
      const neu = new Map<string, Uint8Array>();
      for (let i = 0; i < 12; i++) {
        const base = textBytes(300 + i, 60_000 + Math.floor(r() * 60_000));
        const at = 5_000 + Math.floor(r() * 20_000);
        old.set(`/usr/lib/g${i}.so`, base);
        neu.set(`/usr/lib/g${i}.so`, Uint8Array.from([...base.subarray(0, at), ...textBytes(400 + i, 40), ...base.subarray(at)]));
      }
      const a = image('a', old);
      const b = image('b', neu);
      const results = [];
      // 'disk' and 'disk-worker': the old image a file (under the sync's block cache): its clusters read where decoded.
      for (const workers of [0, 1, 'ahead', 'disk', 'disk-worker'] as const) {
        const file = workers === 'disk' || workers === 'disk-worker' ? await FileSource.open(join(dir, 'a.erofs')) : undefined;
        const src = file ? new BlockCache(file) : new MemorySource(a);
        const tgt = new MemorySource(b);
        const t = whole('/fs.erofs', await readFrom(erofsReader, tgt));
        const s = whole('/fs.erofs', await readFrom(erofsReader, src));
        const store = new ReencodedStore();
        // 'ahead': a pool started before the work was known, its encoder warmed up (as planning starts it).
        const res = await reencodeChangedClusters({ targets: [t], sources: [{ nested: [s], bytes: src, index: 3 }], target: tgt, store, storeIndex: 5, ...(workers === 'ahead' ? { pool: Promise.resolve(ChainPool.start(undefined, true)) } : { workers: workers === 'disk' ? 0 : workers === 'disk-worker' ? 1 : workers }) });
        results.push({ res, bytes: await store.read(0, store.size) });
        store.close();
        await file?.close();
      }
      const [without, withWorker, ahead, disk, diskWorker] = results as [(typeof results)[0], (typeof results)[0], (typeof results)[0], (typeof results)[0], (typeof results)[0]];
      assert.equal(localPath(new BlockCache(new MemorySource(a))), undefined, 'no file under a memory source');
      assert.deepEqual(disk.res.guesses, without.res.guesses, 'the same guesses with the clusters read from the file');
      assert.ok(Buffer.from(disk.bytes).equals(without.bytes), 'the same cluster bytes read from the file');
      assert.ok(diskWorker.res.inWorker > 0, 'the worker ran some chains reading the file itself');
      assert.deepEqual(diskWorker.res.guesses, without.res.guesses);
      assert.ok(Buffer.from(diskWorker.bytes).equals(without.bytes), 'the same cluster bytes from the worker reading the file');
      assert.ok(ahead.res.inWorker > 0, 'the warmed-up worker ran some chains');
      assert.deepEqual(ahead.res.guesses, without.res.guesses);
      assert.ok(Buffer.from(ahead.bytes).equals(without.bytes), 'the same cluster bytes from the warmed-up worker');
      assert.ok(without.res.kept > 12, `${without.res.kept} clusters rebuilt`);
      assert.equal(without.res.inWorker, 0);
      assert.ok(withWorker.res.inWorker > 0, 'the worker ran some chains');
      assert.deepEqual(withWorker.res.guesses, without.res.guesses);
      assert.ok(Buffer.from(withWorker.bytes).equals(without.bytes), 'the same cluster bytes');
      // And they are the target's.
      for (const g of withWorker.res.guesses) {
        const got = g.source === 5 ? withWorker.bytes.subarray(g.sourceOffset, g.sourceOffset + g.end - g.start) : a.subarray(g.sourceOffset, g.sourceOffset + g.end - g.start);
        assert.ok(Buffer.from(got).equals(b.subarray(g.start, g.end)), `cluster at ${g.start}`);
      }
    } finally {
      cleanup();
    }
  });
});
