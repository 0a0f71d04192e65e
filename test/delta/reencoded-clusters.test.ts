import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { erofsReader } from '../../src/layouts/erofs/read.js';
import type { NestedImage } from '../../src/layouts/nested.js';
import { firstChanged, reencodeChangedClusters } from '../../src/delta/reencoded-clusters.js';
import { extentsOf } from '../../src/layouts/erofs/reencode.js';
import { ReencodedStore } from '../../src/delta/reencoded-store.js';
import { alignShift } from '../../src/delta/reencode-align.js';
import { OldContent } from '../../src/delta/reencode-old.js';
import { MemorySource, type ByteSource, type Span } from '../../src/store/byte-source.js';
import { mergeSpans } from '../../src/core/span.js';
import { needTools, tempDir } from '../helpers/env.js';
import { isError } from '../helpers/errors.js';
import { mulberry32 } from '../helpers/random.js';
import { readFrom, run, textBytes } from '../layouts/helpers.js';

/** The target image as a network source: what it reads is counted. */
class Counted implements ByteSource {
  readonly got: Span[] = [];
  constructor(private readonly inner: ByteSource) {}
  get size(): number {
    return this.inner.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    this.got.push({ start: offset, end: offset + length });
    return this.inner.read(offset, length);
  }
}

const whole = (path: string, layout: NestedImage['layout']): NestedImage => ({ path, depth: 1, layout, base: 0, toImage: (s, e) => [{ start: s, end: e }] });

/** Old and new versions of a few files: insertions, a deletion, two edits in one file, an unchanged file. */
function versions(): { old: Map<string, Uint8Array>; neu: Map<string, Uint8Array> } {
  const r = mulberry32(7);
  const cat = (...xs: Uint8Array[]) => Uint8Array.from(xs.flatMap((x) => [...x]));
  const old = new Map<string, Uint8Array>();
  const neu = new Map<string, Uint8Array>();
  for (let i = 0; i < 6; i++) {
    const base = textBytes(100 + i, 200_000 + Math.floor(r() * 100_000));
    const at = 20_000 + Math.floor(r() * 50_000);
    old.set(`/usr/lib/f${i}.so`, base);
    const ins = textBytes(200 + i, 30 + Math.floor(r() * 200));
    if (i === 0) neu.set(`/usr/lib/f${i}.so`, cat(base.subarray(0, at), base.subarray(at + 77))); // a deletion
    else if (i === 1) neu.set(`/usr/lib/f${i}.so`, cat(base.subarray(0, at), ins, base.subarray(at, 150_000), ins, ins, base.subarray(150_000))); // two edits
    else if (i === 2) neu.set(`/usr/lib/f${i}.so`, base); // unchanged
    else neu.set(`/usr/lib/f${i}.so`, cat(base.subarray(0, at), ins, base.subarray(at)));
  }
  return { old, neu };
}

async function image(dir: string, name: string, files: Map<string, Uint8Array>): Promise<string> {
  const root = join(dir, name);
  for (const [p, b] of files) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), b);
  }
  const img = join(dir, `${name}.erofs`);
  run('mkfs.erofs', ['-zlz4hc', '-Eztailpacking', '-T0', '--all-root', img, root]);
  return img;
}

describe('re-encoded EROFS clusters', { skip: needTools('mkfs.erofs') }, () => {
  test('after edits, the clusters that follow are rebuilt byte for byte from the old files, fetching only the clusters that hold the edits', async () => {
    const { dir, cleanup } = tempDir('isosync-reenc-');
    try {
      const { old, neu } = versions();
      const a = readFileSync(await image(dir, 'a', old));
      const b = readFileSync(await image(dir, 'b', neu));
      const src = new MemorySource(a);
      const tgt = new Counted(new MemorySource(b));
      const t = whole('/fs.erofs', await readFrom(erofsReader, new MemorySource(b)));
      const s = whole('/fs.erofs', await readFrom(erofsReader, src));
      const store = new ReencodedStore();
      const r = await reencodeChangedClusters({ targets: [t], sources: [{ nested: [s], bytes: src, index: 3 }], target: tgt, store, storeIndex: 5 });
      assert.equal(r.files, 5, 'the five changed files are tried');
      // Every kept cluster is the target's, byte for byte: compressed again (in the store), or an old cluster that starts where the shifted one does (in the old image).
      for (const g of r.guesses) {
        assert.ok(g.source === 5 || g.source === 3);
        assert.equal(g.reason, 'reencoded');
        const want = b.subarray(g.start, g.end);
        const got = g.source === 5 ? await store.read(g.sourceOffset, g.end - g.start) : a.subarray(g.sourceOffset, g.sourceOffset + g.end - g.start);
        assert.ok(Buffer.from(got).equals(want), `cluster at ${g.start}`);
      }
      store.close();
      const fromOld = r.guesses.filter((g) => g.source === 3).reduce((n, g) => n + g.end - g.start, 0);
      assert.equal(fromOld, r.resynced * 4096, 'resynchronised clusters come from the old image');
      // Clusters after each file's first changed one, but its tail: all rebuilt, but those that hold the second edit of f1.
      let after = 0;
      const oldFiles = new Map([...s.layout.files].map((f) => [f.path, f]));
      for (const f of t.layout.files) {
        const from = oldFiles.get(f.path);
        if (f.type !== 'file' || !from || f.path === '/usr/lib/f2.so') continue;
        const te = extentsOf(f)!.extents;
        after += te.length - firstChanged(te, extentsOf(from)!.extents, f.size, from.size) - 2;
      }
      assert.ok(r.kept >= after - 2 && r.kept <= after, `${r.kept} of ${after} clusters rebuilt`);
      assert.ok(r.fetched <= 5 * 4, `${r.fetched} clusters fetched`);
      const fetchedBytes = mergeSpans(tgt.got).reduce((n, x) => n + x.end - x.start, 0);
      assert.ok(fetchedBytes <= r.fetched * 4096, 'only the fetched clusters were read from the target');
    } finally {
      cleanup();
    }
  });
});

describe('alignShift', () => {
  const old = textBytes(1, 50_000);
  const cases: [string, number, number | undefined][] = [
    ['no edit', 0, 0],
    ['30 bytes inserted', 30, 30],
    ['12 bytes deleted', -12, -12],
  ];
  for (const [name, shift, want] of cases) {
    test(`${name}: shift ${want}`, () => {
      const guess = new Uint8Array(60_000);
      const end = 20_000;
      // The new bytes up to `end` are the old ones shifted by `shift`.
      guess.set(old.subarray(end - 1000 - shift, end - shift), end - 1000);
      assert.equal(alignShift(guess, end, OldContent.of(old), 0), want);
    });
  }
  test('bytes found nowhere (still inside the edit): undefined', () => {
    const guess = new Uint8Array(30_000).fill(0xee);
    assert.equal(alignShift(guess, 20_000, OldContent.of(old), 0), undefined);
  });
});

describe('ReencodedStore', () => {
  test('reads across the clusters it keeps, keeps a key once, refuses ranges past its end', async () => {
    const store = new ReencodedStore();
    assert.equal(store.put(100, Uint8Array.from([1, 2, 3])), 0);
    assert.equal(store.put(200, Uint8Array.from([4, 5])), 3);
    assert.equal(store.put(100, Uint8Array.from([9, 9, 9])), 0, 'the same key again: the first bytes stay');
    assert.equal(store.put(300, Uint8Array.from([6, 7, 8, 9])), 5);
    assert.equal(store.size, 9);
    assert.deepEqual([...(await store.read(2, 5))], [3, 4, 5, 6, 7]);
    assert.deepEqual([...(await store.read(0, 9))], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await assert.rejects(store.read(5, 5), isError('INTERNAL'));
    store.close();
  });

  test('spilled to its file: reads across the file and the bytes still gathered, keeps copies, and refuses spilled bytes once closed', async () => {
    const store = new ReencodedStore(4);
    const a = Uint8Array.from([1, 2, 3]);
    assert.equal(store.put(1, a), 0);
    a.fill(0); // the store kept a copy: a caller's scratch buffer may be reused
    assert.equal(store.put(2, Uint8Array.from([4, 5])), 3); // 5 bytes gathered: written out
    assert.equal(store.put(3, Uint8Array.from([6, 7])), 5); // gathered only
    assert.equal(store.put(4, Uint8Array.from([8, 9, 10, 11, 12])), 7); // written out with the two before
    assert.equal(store.put(5, Uint8Array.from([13])), 12);
    assert.deepEqual([...(await store.read(0, 13))], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    assert.deepEqual([...(await store.read(4, 4))], [5, 6, 7, 8]);
    assert.deepEqual([...(await store.read(11, 2))], [12, 13], 'across the file and the gathered bytes');
    store.close();
    assert.deepEqual([...(await store.read(12, 1))], [13], 'gathered bytes are still in memory');
    await assert.rejects(store.read(0, 2), isError('INTERNAL'));
  });
});
