/**
 * The .part checks and writes pieces on a worker thread (store/verified-writes.ts)
 * when opened with verifyInWorker: a piece whose hash matches is written, one
 * that does not is not (and stays unverified), whether its bytes lie in the
 * aligned memory the worker reads or not; when the worker is gone, the pieces
 * it had and every later one are checked and written on this thread. While
 * cacheWritesWhile holds (leechers connected read back what we verify), an
 * aligned piece goes through the page cache instead of past it, on either
 * thread.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pieceIndex } from '../../src/core/ids.js';
import { alignedBytes } from '../../src/store/aligned.js';
import { PartFile } from '../../src/store/part-file.js';
import { MIN_VERIFY_WORKER_BYTES, VerifiedWrites, verifyWorkerDecision, wantsVerifyWorker, WRITE_BATCH_BYTES } from '../../src/store/verified-writes.js';
import { tempDir } from '../helpers/env.js';
import { Rng } from '../helpers/random.js';

const PIECE = 64 * 1024;

function target(pieces: number) {
  const bytes = new Rng(pieces + 11).bytes(pieces * PIECE - 3000);
  const hashes = new Uint8Array(pieces * 20);
  for (let p = 0; p < pieces; p++) hashes.set(createHash('sha1').update(bytes.subarray(p * PIECE, Math.min(bytes.length, (p + 1) * PIECE))).digest(), p * 20);
  return { bytes, t: { length: bytes.length, pieceLength: PIECE, pieces: hashes } };
}

const pieceOf = (bytes: Uint8Array, p: number) => bytes.subarray(p * PIECE, Math.min(bytes.length, (p + 1) * PIECE));

/** A copy of `b` in aligned memory (the worker reads those) or in a plain buffer. */
function copy(b: Uint8Array, aligned: boolean): Uint8Array {
  const out = aligned ? alignedBytes(b.length)! : new Uint8Array(b.length);
  out.set(b);
  return out;
}

const verifierOf = (part: PartFile) => (part as unknown as { verifier: VerifiedWrites | undefined }).verifier;

describe('the .part checks and writes pieces on a worker thread', () => {
  it('writes the pieces that match, aligned or not, and none that does not; the image is whole once finished', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(6);
      const out = join(tmp.dir, 'img.iso');
      const part = await PartFile.open(out, t, { verifyInWorker: true });
      assert.ok(verifierOf(part), 'a worker for a SHA-1 torrent');
      const wrong = copy(pieceOf(bytes, 2), true);
      wrong[100]! ^= 1;
      assert.equal(await part.writeIfMatches(pieceIndex(2), 2 * PIECE, wrong), false);
      assert.equal(await part.writeIfMatches(pieceIndex(3), 3 * PIECE, copy(pieceOf(bytes, 2), true)), false, 'the bytes of another piece');
      assert.equal(await part.writeIfMatches(pieceIndex(4), 4 * PIECE, copy(pieceOf(bytes, 4), false)), true, 'a plain buffer: checked here');
      assert.deepEqual(part.have, [false, false, false, false, true, false]);
      assert.ok((await part.read(2 * PIECE, PIECE)).every((x) => x === 0), 'a piece that failed is not written');
      // Several at once, as assembly has them in flight.
      const all = await Promise.all([0, 1, 2, 3, 5].map((p) => part.writeIfMatches(pieceIndex(p), p * PIECE, copy(pieceOf(bytes, p), true))));
      assert.deepEqual(all, [true, true, true, true, true]);
      assert.ok(part.have.every(Boolean));
      const worker = verifierOf(part)!;
      await part.finish();
      assert.ok(readFileSync(out).equals(bytes));
      // It ends beside the sync and rename, but finish waits for it.
      assert.equal(worker.alive, false, 'the worker ended once finished');
    } finally {
      tmp.cleanup();
    }
  });

  it('once the worker is gone, pieces are checked and written on this thread', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(3);
      const out = join(tmp.dir, 'img.iso');
      const part = await PartFile.open(out, t, { verifyInWorker: true });
      const v = verifierOf(part)!;
      const pending = part.writeIfMatches(pieceIndex(0), 0, copy(pieceOf(bytes, 0), true));
      await (v as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
      assert.equal(await pending, true, 'the piece it had');
      const wrong = copy(pieceOf(bytes, 1), true);
      wrong[0]! ^= 1;
      assert.equal(await part.writeIfMatches(pieceIndex(1), PIECE, wrong), false);
      assert.equal(await part.writeIfMatches(pieceIndex(1), PIECE, copy(pieceOf(bytes, 1), true)), true);
      assert.equal(await part.writeIfMatches(pieceIndex(2), 2 * PIECE, copy(pieceOf(bytes, 2), true)), true);
      await part.finish();
      assert.ok(readFileSync(out).equals(bytes));
    } finally {
      tmp.cleanup();
    }
  });

  it('writes sixteen adjacent pieces sent at once (in batches), each only once its hash matched', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(17);
      const out = join(tmp.dir, 'img.iso');
      const part = await PartFile.open(out, t, { verifyInWorker: Promise.resolve(true) });
      await part.verifierDecided;
      assert.ok(verifierOf(part), 'started once the decision is in');
      assert.equal(part.writeBatchBytes, WRITE_BATCH_BYTES);
      const order = [3, 1, 0, 2, 7, 6, 5, 4, 15, 8, 9, 10, 11, 12, 14, 13];
      const pieces = order.map((p) => {
        const b = copy(pieceOf(bytes, p), true);
        if (p === 9) b[7]! ^= 1;
        return b;
      });
      const all = await Promise.all(order.map((p, i) => part.writeIfMatches(pieceIndex(p), p * PIECE, pieces[i]!)));
      assert.deepEqual(all, order.map((p) => p !== 9));
      assert.ok((await part.read(9 * PIECE, PIECE)).every((x) => x === 0), 'the piece that failed is not written, its neighbours are');
      assert.ok(Buffer.from(await part.read(8 * PIECE, PIECE)).equals(pieceOf(bytes, 8)));
      assert.ok(Buffer.from(await part.read(10 * PIECE, PIECE)).equals(pieceOf(bytes, 10)));
      assert.equal(await part.writeIfMatches(pieceIndex(9), 9 * PIECE, copy(pieceOf(bytes, 9), true)), true);
      assert.equal(await part.writeIfMatches(pieceIndex(16), 16 * PIECE, copy(pieceOf(bytes, 16), true)), true, 'the short last piece');
      await part.finish();
      assert.ok(readFileSync(out).equals(bytes));
    } finally {
      tmp.cleanup();
    }
  });

  it('a decision against the worker starts none', async () => {
    const tmp = tempDir();
    try {
      const { t } = target(2);
      const part = await PartFile.open(join(tmp.dir, 'img.iso'), t, { verifyInWorker: Promise.resolve(false) });
      await part.verifierDecided;
      assert.equal(verifierOf(part), undefined);
      assert.equal(part.writeBatchBytes, undefined);
      await part.discard();
    } finally {
      tmp.cleanup();
    }
  });

  it('without verifyInWorker there is no worker, and writeIfMatches checks on this thread', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(2);
      const part = await PartFile.open(join(tmp.dir, 'img.iso'), t);
      assert.equal(verifierOf(part), undefined);
      assert.equal(await part.writeIfMatches(pieceIndex(1), PIECE, copy(pieceOf(bytes, 0), true)), false);
      assert.equal(await part.writeIfMatches(pieceIndex(1), PIECE, copy(pieceOf(bytes, 1), true)), true);
      await part.discard();
    } finally {
      tmp.cleanup();
    }
  });
});

describe('the worker fills a piece of local bytes itself (fillAndWriteIfMatches)', () => {
  it('reads the runs of local files and zeros it is given, and writes the piece only when its hash matches', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(4);
      // The old image: piece 1's first half 5000 bytes in, its second half at 200,000; piece 3 of the target is short.
      const old = new Uint8Array(300_000);
      const half = PIECE / 2;
      old.set(pieceOf(bytes, 1).subarray(0, half), 5000);
      old.set(pieceOf(bytes, 1).subarray(half), 200_000);
      writeFileSync(join(tmp.dir, 'old.iso'), old);
      const fd = openSync(join(tmp.dir, 'old.iso'), 'r');
      try {
        const out = join(tmp.dir, 'img.iso');
        const part = await PartFile.open(out, t, { verifyInWorker: true });
        const buf = () => alignedBytes(PIECE)!;
        assert.equal(await part.fillAndWriteIfMatches(pieceIndex(1), PIECE, buf(), [fd, 5000, 0, half, fd, 200_000, half, half]), true);
        assert.equal(await part.fillAndWriteIfMatches(pieceIndex(2), 2 * PIECE, buf(), [fd, 5000, 0, half, fd, 200_000, half, half]), false, 'the bytes of another piece');
        assert.equal(await part.fillAndWriteIfMatches(pieceIndex(2), 2 * PIECE, buf(), [fd, 290_000, 0, PIECE]), false, 'the file ends first');
        assert.equal(await part.fillAndWriteIfMatches(pieceIndex(2), 2 * PIECE, buf(), [-1, 0, 0, PIECE]), false, 'zeros, not the piece');
        assert.equal(await part.fillAndWriteIfMatches(pieceIndex(0), 0, new Uint8Array(PIECE), [fd, 5000, 0, half, fd, 200_000, half, half]), false, 'not in aligned memory: not filled');
        assert.deepEqual(part.have, [false, true, false, false]);
        assert.ok(Buffer.from(await part.read(PIECE, PIECE)).equals(pieceOf(bytes, 1)));
        assert.ok((await part.read(2 * PIECE, PIECE)).every((x) => x === 0), 'a piece that failed is not written');
        await part.discard();
      } finally {
        closeSync(fd);
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('a zero run fills a piece of zeros; without a worker nothing is filled', async () => {
    const tmp = tempDir();
    try {
      const zeros = new Uint8Array(PIECE);
      const t = { length: 2 * PIECE, pieceLength: PIECE, pieces: new Uint8Array([...createHash('sha1').update(zeros).digest(), ...createHash('sha1').update(zeros).digest()]) };
      const withWorker = await PartFile.open(join(tmp.dir, 'a.iso'), t, { verifyInWorker: true });
      const dirty = alignedBytes(PIECE)!;
      dirty.fill(7);
      assert.equal(await withWorker.fillAndWriteIfMatches(pieceIndex(1), PIECE, dirty, [-1, 0, 0, PIECE]), true);
      assert.deepEqual(withWorker.have, [false, true]);
      await withWorker.discard();
      const without = await PartFile.open(join(tmp.dir, 'b.iso'), t);
      assert.equal(await without.fillAndWriteIfMatches(pieceIndex(1), PIECE, alignedBytes(PIECE)!, [-1, 0, 0, PIECE]), false);
      assert.deepEqual(without.have, [false, false]);
      await without.discard();
    } finally {
      tmp.cleanup();
    }
  });
});

describe('pieces go through the page cache while peers may read them back', () => {
  it('the worker writes an aligned piece to the O_DIRECT descriptor, or to the buffered one when told cached', async () => {
    const tmp = tempDir();
    const { bytes, t } = target(3); // pieces 0 and 1 are whole, aligned
    // Two files stand for the .part's two descriptors: where a piece lands says which one it went through.
    const [pastCache, throughCache] = ['direct', 'buffered'].map((n) => join(tmp.dir, n));
    for (const f of [pastCache!, throughCache!]) writeFileSync(f, new Uint8Array(2 * PIECE));
    const fds = [openSync(pastCache!, 'r+'), openSync(throughCache!, 'r+')] as const;
    const v = VerifiedWrites.start(t.pieces, fds[0], fds[1]);
    try {
      assert.ok(v, 'aligned memory and a worker');
      assert.equal(await v.verifyAndWrite(0, copy(pieceOf(bytes, 0), true), 0), true);
      assert.equal(await v.verifyAndWrite(1, copy(pieceOf(bytes, 1), true), PIECE, true), true);
      await v.close();
      const [a, b] = [readFileSync(pastCache!), readFileSync(throughCache!)];
      assert.ok(a.subarray(0, PIECE).equals(pieceOf(bytes, 0)) && b.subarray(0, PIECE).every((x) => x === 0), 'piece 0 past the cache');
      assert.ok(b.subarray(PIECE, 2 * PIECE).equals(Buffer.from(pieceOf(bytes, 1))) && a.subarray(PIECE).every((x) => x === 0), 'piece 1 through it');
    } finally {
      for (const fd of fds) closeSync(fd);
      tmp.cleanup();
    }
  });

  it('on this thread, an aligned piece skips the O_DIRECT write while cacheWritesWhile holds', async () => {
    const tmp = tempDir();
    try {
      const { bytes, t } = target(3);
      const part = await PartFile.open(join(tmp.dir, 'img.iso'), t);
      let direct = 0;
      (part as unknown as { direct: { write(): Promise<boolean>; close(): Promise<void>; usable: boolean } }).direct = { write: async () => (direct++, false), close: async () => undefined, usable: true };
      let peers = true;
      part.cacheWritesWhile(() => peers);
      await part.writePiece(pieceIndex(0), 0, copy(pieceOf(bytes, 0), true));
      assert.equal(direct, 0, 'leechers connected: through the cache');
      peers = false;
      await part.writePiece(pieceIndex(1), PIECE, copy(pieceOf(bytes, 1), true));
      assert.equal(direct, 1, 'alone with seeds: past it');
      assert.ok(Buffer.from(await part.read(0, PIECE)).equals(Buffer.from(pieceOf(bytes, 0))));
      await part.discard();
    } finally {
      tmp.cleanup();
    }
  });
});

describe('a sync starts the verifying worker only where it pays', () => {
  const M = MIN_VERIFY_WORKER_BYTES;
  // [target bytes, cores spare beyond the caller's (core/idle-cores.ts), worker?]
  const table: [number, number, boolean][] = [
    [M, 1, true], // a large target, a free core
    [4 * M, 6, true], // several free
    [M - 1, 1, false], // too small: its SHA-1s barely pay for the worker's start
    [150 * 1024 * 1024, 1, true], // a live image of 150 MB: its wall time is the main thread's
    [150 * 1024 * 1024, 0, false], // the same on a busy machine
    [64 * 1024 * 1024, 1, false], // a small image
    [4 * M, 0, false], // no core beside the caller's: the two threads would take turns
  ];
  for (const [bytes, spare, want] of table) {
    it(`${bytes} bytes, ${spare} spare cores: ${want ? 'a worker' : 'none'}`, () => {
      assert.equal(wantsVerifyWorker(bytes, spare), want);
    });
  }
});

describe('the worker is decided while planning runs, at the latest when assembly starts', () => {
  const M = MIN_VERIFY_WORKER_BYTES;
  /** A decision over a watch whose spare cores at each tick are `spares` (one tick per 60 ms), ticked by hand. */
  const setup = (bytes: number, spares: number[]) => {
    let ms = 0;
    let tick: (() => void) | undefined;
    let stopped = false;
    const watch = { get elapsedMs() { return ms; }, spare: () => spares[Math.min(spares.length - 1, Math.floor(ms / 60) - 1)]! };
    const d = verifyWorkerDecision(bytes, () => watch, (f) => ((tick = f), () => (stopped = true)), 60);
    let answer: boolean | undefined;
    void d.decided.then((yes) => (answer = yes));
    const step = async (to: number) => {
      ms = to;
      tick?.();
      await new Promise((r) => setImmediate(r));
    };
    return { d, step, answer: () => answer, stopped: () => stopped, ticking: () => tick !== undefined };
  };
  it('a core seen free at the third tick starts the worker then, and the ticks stop', async () => {
    const s = setup(M, [0, 0, 1, 0]);
    await s.step(60);
    await s.step(120);
    assert.equal(s.answer(), undefined);
    await s.step(180);
    assert.equal(s.answer(), true);
    assert.equal(s.stopped(), true);
  });
  it('never a free core: no until assembly, then no', async () => {
    const s = setup(M, [0]);
    await s.step(60);
    await s.step(120);
    assert.equal(s.answer(), undefined);
    s.d.decideNow();
    await s.step(130);
    assert.equal(s.answer(), false);
    assert.equal(s.stopped(), true);
  });
  it('assembly before the first 60 ms: answered at once over the span so far (the unref\'d tick may never come)', async () => {
    const s = setup(M, [0]);
    await s.step(30);
    assert.equal(s.answer(), undefined);
    s.d.decideNow();
    await s.step(30);
    assert.equal(s.answer(), false);
    assert.equal(s.stopped(), true);
  });
  it('a small target: no at once, no watch', async () => {
    const s = setup(M - 1, [1]);
    await s.step(0);
    assert.equal(s.answer(), false);
    assert.equal(s.ticking(), false);
  });
  it('a failed sync stops it: no', async () => {
    const s = setup(M, [0]);
    s.d.stop();
    await s.step(60);
    assert.equal(s.answer(), false);
    assert.equal(s.stopped(), true);
  });
});
