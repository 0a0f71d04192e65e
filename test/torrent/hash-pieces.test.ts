import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { hashPieces, hashPiecesV2, JOB_BYTES, MAX_HASH_THREADS, verifyPieces } from '../../src/torrent/hash-pieces.js';
import { defaultPoolWorkers, POOL_JOB_BYTES, startPieceHashing } from '../../src/torrent/piece-pool.js';
import { PARKED_WORKER, PARKED_WORKER_MARK } from '../../src/torrent/hash-worker.js';
import { tempDir } from '../helpers/env.js';

/** Deterministic pseudo-random bytes (SHA-1 in counter mode). */
function bytes(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; i++) off += createHash('sha1').update(`${seed}:${i}`).digest().copy(out, off);
  return out;
}

/** Deterministic filler for inputs of many jobs, where SHA-1 per 20 bytes would be slow: an xorshift stream. */
function fastBytes(n: number, seed: number): Buffer {
  const words = new Uint32Array(Math.ceil(n / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer, 0, n);
}

function reference(data: Buffer, pieceLength: number): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += pieceLength) parts.push(createHash('sha1').update(data.subarray(off, off + pieceLength)).digest());
  return Buffer.concat(parts);
}

describe('hashPieces', () => {
  const cases: [string, number, number][] = [
    ['one short piece', 1000, 16384],
    ['an exact multiple of the piece length', 4 * 16384, 16384],
    ['a short last piece spanning job borders', JOB_BYTES + 3 * 65536 + 123, 65536],
    ['pieces larger than one read', 20 * 1024 * 1024 + 5, 16 * 1024 * 1024],
  ];
  for (const [what, size, pieceLength] of cases) {
    for (const workers of [0, 2]) {
      it(`matches SHA-1 of each piece for ${what} (${workers === 0 ? 'calling thread' : `${workers} workers`})`, async (t) => {
        const tmp = tempDir();
        t.after(tmp.cleanup);
        const path = join(tmp.dir, 'img');
        const data = bytes(size, what);
        writeFileSync(path, data);
        const seen: number[] = [];
        const got = await hashPieces(path, pieceLength, { workers, onProgress: (done) => seen.push(done) });
        assert.deepEqual(Buffer.from(got), reference(data, pieceLength));
        assert.equal(seen.at(-1), size);
        assert.deepEqual([...seen].sort((a, b) => a - b), seen, 'progress only grows');
      });
    }
  }

  it('shares jobs between the calling thread and the workers, in piece order', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const path = join(tmp.dir, 'img');
    const data = fastBytes(5 * JOB_BYTES + 262144 + 77, 7);
    writeFileSync(path, data);
    for (const workers of [1, 3]) {
      const seen: number[] = [];
      const got = await hashPieces(path, 262144, { workers, onProgress: (done) => seen.push(done) });
      assert.deepEqual(Buffer.from(got), reference(data, 262144), `${workers} workers`);
      assert.equal(seen.length, 6, 'one progress report per job');
      assert.equal(seen.at(-1), data.length);
    }
  });

  it('hashes only the first `length` bytes when asked', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const path = join(tmp.dir, 'img');
    const data = bytes(100000, 'len');
    writeFileSync(path, data);
    assert.deepEqual(Buffer.from(await hashPieces(path, 16384, { length: 50000 })), reference(data.subarray(0, 50000), 16384));
    await assert.rejects(hashPieces(path, 16384, { length: 100001 }), (e: unknown) => e instanceof IsosyncError && e.code === 'IO');
  });

  it('reports a missing file as NOT_FOUND', async () => {
    await assert.rejects(hashPieces('/nonexistent/isosync.iso', 16384), (e: unknown) => e instanceof IsosyncError && e.code === 'NOT_FOUND');
  });
});

describe('startPieceHashing', () => {
  it('gives the pieces of hashPieces whether the workers or the calling thread take the jobs', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const path = join(tmp.dir, 'img');
    const data = fastBytes(5 * POOL_JOB_BYTES + 262144 + 77, 11);
    writeFileSync(path, data);
    for (const workers of [0, 1, 3]) {
      const pass = startPieceHashing(path, 262144, { workers });
      assert.equal(pass.workers, workers);
      // The workers hash while this thread waits for something else.
      if (workers > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      const seen: number[] = [];
      const got = await pass.finish((done) => seen.push(done));
      assert.deepEqual(Buffer.from(got.pieces), reference(data, 262144), `${workers} workers`);
      assert.equal(got.layer, undefined);
      assert.equal(seen.at(-1), data.length);
      assert.deepEqual([...seen].sort((a, b) => a - b), seen, 'progress only grows');
    }
  });

  it('gives the v2 piece layer of hashPiecesV2, and the pieces of a `length` prefix', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const path = join(tmp.dir, 'img');
    const data = fastBytes(3 * POOL_JOB_BYTES + 5000, 12);
    writeFileSync(path, data);
    const v2 = await hashPiecesV2(path, 65536, { workers: 0 });
    const got = await startPieceHashing(path, 65536, { v2: true, workers: 2 }).finish();
    assert.deepEqual(Buffer.from(got.pieces), Buffer.from(v2.pieces));
    assert.deepEqual(Buffer.from(got.layer!), Buffer.from(v2.pieceLayer));
    const part = await startPieceHashing(path, 65536, { length: POOL_JOB_BYTES + 10, workers: 1 }).finish();
    assert.deepEqual(Buffer.from(part.pieces), reference(data.subarray(0, POOL_JOB_BYTES + 10), 65536));
  });

  it('fails with IO when the file is shorter than the length to hash, on a worker or on the calling thread', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const path = join(tmp.dir, 'img');
    writeFileSync(path, fastBytes(2 * POOL_JOB_BYTES, 13));
    for (const workers of [0, 2]) {
      const pass = startPieceHashing(path, 65536, { length: 4 * POOL_JOB_BYTES, workers });
      await assert.rejects(pass.finish(), (e: unknown) => e instanceof IsosyncError && e.code === 'IO', `${workers} workers`);
    }
  });

  it('stops its workers when cancelled', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const path = join(tmp.dir, 'img');
    writeFileSync(path, fastBytes(4 * POOL_JOB_BYTES, 14));
    const pass = startPieceHashing(path, 65536, { workers: 2 });
    pass.cancel();
    // Nothing is left running: the test process would not end otherwise.
  });

  it('starts a worker per spare core only, up to MAX_HASH_THREADS threads, none for small inputs', () => {
    assert.equal(defaultPoolWorkers(1 << 30, 1), 1);
    assert.equal(defaultPoolWorkers(1 << 30, 0), 0);
    assert.equal(defaultPoolWorkers(1 << 30, 7), MAX_HASH_THREADS - 1);
    assert.equal(defaultPoolWorkers(1024, 7), 0);
  });

  it('without a number of workers, says how many it started once decided, and hashes as with them', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const path = join(tmp.dir, 'img');
    const data = fastBytes(4 * POOL_JOB_BYTES, 15);
    writeFileSync(path, data);
    const pass = startPieceHashing(path, 262144);
    const n = await pass.decided;
    assert.ok(n >= 0 && n < MAX_HASH_THREADS, `${n} workers`);
    assert.equal(pass.workers, n);
    assert.deepEqual(Buffer.from((await pass.finish()).pieces), reference(data, 262144));
  });
});

describe('the worker bin/isosync parks for publish', () => {
  const park = (): Worker => {
    const w = new Worker(new URL('../../src/torrent/hash-worker.js', import.meta.url), { workerData: { mark: PARKED_WORKER_MARK } });
    w.unref();
    (globalThis as { [PARKED_WORKER]?: Worker })[PARKED_WORKER] = w;
    return w;
  };

  it('joins the first pass that leaves the count to the pool, once, and the pieces are those of hashPieces', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const path = join(tmp.dir, 'img');
    const data = fastBytes(4 * POOL_JOB_BYTES + 9, 16);
    writeFileSync(path, data);
    park();
    const pass = startPieceHashing(path, 262144);
    assert.equal(pass.workers, 1, 'adopted at once, before the sample');
    assert.equal(PARKED_WORKER in globalThis, false);
    // It hashes while this thread waits.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(Buffer.from((await pass.finish()).pieces), reference(data, 262144));
    const next = startPieceHashing(path, 262144, { workers: 0 });
    assert.equal(next.workers, 0);
    assert.deepEqual(Buffer.from((await next.finish()).pieces), reference(data, 262144));
  });

  it('is left alone by a pass given its number of workers, and not adopted once it has ended', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const path = join(tmp.dir, 'img');
    const data = fastBytes(3 * POOL_JOB_BYTES, 17);
    writeFileSync(path, data);
    const w = park();
    assert.equal(startPieceHashing(path, 262144, { workers: 0 }).workers, 0);
    assert.equal((globalThis as { [PARKED_WORKER]?: Worker })[PARKED_WORKER], w);
    await w.terminate();
    const pass = startPieceHashing(path, 262144);
    assert.equal(pass.workers, 0);
    assert.equal(PARKED_WORKER in globalThis, false);
    pass.cancel();
  });

  it('is spelt in bin/isosync as in hash-worker.ts', () => {
    const bin = readFileSync(new URL('../../../bin/isosync', import.meta.url), 'utf8');
    assert.ok(bin.includes(`mark: '${PARKED_WORKER_MARK}'`));
    assert.ok(bin.includes(`Symbol.for('${PARKED_WORKER.description!}')`));
  });
});

describe('verifyPieces', () => {
  it('tells which pieces of a file match, with missing and partial pieces invalid', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const data = bytes(5 * 16384 + 10, 'verify');
    const expected = { length: data.length, pieceLength: 16384, pieces: new Uint8Array(reference(data, 16384)) };
    const path = join(tmp.dir, 'img');

    const damaged = Buffer.from(data);
    damaged.writeUInt8(damaged.readUInt8(16384 * 2 + 7) ^ 1, 16384 * 2 + 7);
    writeFileSync(path, damaged);
    let r = await verifyPieces(path, expected);
    assert.deepEqual(r.valid, [true, true, false, true, true, true]);
    assert.equal(r.validCount, 5);

    writeFileSync(path, data.subarray(0, 3 * 16384 + 100)); // truncated inside piece 3
    r = await verifyPieces(path, expected);
    assert.deepEqual(r.valid, [true, true, true, false, false, false]);

    writeFileSync(path, data);
    appendFileSync(path, 'extra bytes past the end are ignored');
    r = await verifyPieces(path, expected);
    assert.equal(r.validCount, 6);
  });
});
