import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LayoutFile } from '../../src/layouts/layout.js';
import type { NestedImage } from '../../src/layouts/nested.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OldContent, onDisk, readStored, readStoredBatch, storedBytes } from '../../src/delta/reencode-old.js';
import { DIRECT_BYTES } from '../../src/store/block-cache.js';
import { MemorySource, type ByteSource, type Span } from '../../src/store/byte-source.js';
import { tempDir } from '../helpers/env.js';
import { randomBytes } from '../layouts/helpers.js';

const BLOCK = 4096;

/** An EROFS-like file entry: its 4 KiB clusters at these physical addresses (each holding 8 KiB of file). */
function file(path: string, pas: number[]): LayoutFile {
  return {
    path,
    type: 'file',
    size: 8192 * pas.length,
    chunks: pas.flatMap((pa) => [pa, pa + BLOCK]),
    evidence: pas.map((_, i) => (8192 * i).toString(36)).join('.'),
  };
}

/** The local image: every read recorded; reads touching `bad` fail. */
class Recorded implements ByteSource {
  readonly reads: Span[] = [];
  constructor(
    private readonly inner: MemorySource,
    private readonly bad?: Span,
  ) {}
  get size(): number {
    return this.inner.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    this.reads.push({ start: offset, end: offset + length });
    if (this.bad && offset < this.bad.end && offset + length > this.bad.start) throw new Error('unreadable');
    return this.inner.read(offset, length);
  }
}

describe('readStoredBatch', () => {
  const image = new MemorySource(randomBytes(40, 2 * 1024 * 1024));
  const img = { path: '/fs.erofs', depth: 1, base: 0, toImage: (s: number, e: number) => [{ start: s, end: e }] } as unknown as NestedImage;
  // Out of image order (as a batch's files come, by path), adjacent and scattered clusters, one far from the rest.
  const files = [
    file('/c', [1_500_000 - (1_500_000 % BLOCK)]),
    file('/a', [8192, 12288, 16384]),
    { path: '/no-index', type: 'file', size: 10, chunks: [0, 10] } as LayoutFile,
    file('/b', [40960, 20480, 24576]),
    file('/d', [2 * 1024 * 1024 - BLOCK]),
  ];

  test("each file's stored clusters as readStored reads them, with reads of DIRECT_BYTES or more (none through a block cache)", async () => {
    const src = new Recorded(image);
    const into = new Uint8Array(files.reduce((n, f) => n + storedBytes(f), 0));
    const got = await readStoredBatch(img, src, files, into);
    assert.equal(got.length, files.length);
    for (const [i, f] of files.entries()) {
      const want = await readStored(img, image, f);
      if (!want) assert.equal(got[i], undefined, f.path);
      else assert.deepEqual({ ...got[i]!, stored: [...got[i]!.stored] }, { ...want, stored: [...want.stored] }, f.path);
    }
    for (const r of src.reads) assert.ok(r.end - r.start >= DIRECT_BYTES, `read of ${r.end - r.start} bytes at ${r.start}`);
    // Nearby runs share a read: a, b and their neighbours in one, c and d one each.
    assert.equal(src.reads.length, 3);
  });

  test('a run that cannot be read loses only the files it holds', async () => {
    const src = new Recorded(image, { start: 1_400_000, end: 1_600_000 });
    const into = new Uint8Array(files.reduce((n, f) => n + storedBytes(f), 0));
    const got = await readStoredBatch(img, src, files, into);
    assert.equal(got[0], undefined);
    assert.deepEqual([...got[1]!.stored], [...(await readStored(img, image, files[1]!))!.stored]);
    assert.deepEqual([...got[4]!.stored], [...(await readStored(img, image, files[4]!))!.stored]);
  });
});

/** A 4 KiB cluster (zeros, then an LZ4 block at its end) that decodes to 8 KiB: `pattern` (4 bytes) repeated. */
function cluster(pattern: number[]): Uint8Array {
  // Token: 4 literals, then a match of 8188 bytes at offset 4 (15 + 255 * 32 + 9 = 8184 beyond the minimum 4).
  const stream = [0x4f, ...pattern, 4, 0, ...new Array<number>(32).fill(255), 8184 - 15 - 255 * 32];
  const out = new Uint8Array(BLOCK);
  out.set(stream, BLOCK - stream.length);
  return out;
}

describe('onDisk', () => {
  test('clusters read from the file where decoded: the bytes the stored clusters give; an unreadable file decodes to zeros; a split cluster is not placed', async () => {
    const { dir, cleanup } = tempDir('isosync-reenc-old-');
    try {
      const bytes = new Uint8Array(64 * 1024);
      const pas = [8192, 4096, 40960];
      pas.forEach((pa, i) => bytes.set(cluster([i + 1, 2, 3, 4 + i]), pa));
      const path = join(dir, 'img');
      writeFileSync(path, bytes);
      const img = { path: '/fs.erofs', depth: 1, base: 0, toImage: (s: number, e: number) => [{ start: s, end: e }] } as unknown as NestedImage;
      const f = file('/a', pas);
      const stored = (await readStored(img, new MemorySource(bytes), f))!;
      const disk = onDisk(img, f, path)!;
      assert.deepEqual({ ...disk, stored: undefined, disk: undefined }, { ...stored, stored: undefined, disk: undefined });
      assert.deepEqual(disk.disk!.at, pas);
      const fromStored = new OldContent(stored);
      const fromDisk = new OldContent(disk);
      fromStored.ensure(0, f.size);
      fromDisk.ensure(0, f.size);
      fromDisk.close();
      assert.deepEqual([...fromDisk.bytes.subarray(8192, 8200)], [2, 2, 3, 5, 2, 2, 3, 5]);
      assert.ok(Buffer.from(fromDisk.bytes).equals(fromStored.bytes));
      const gone = new OldContent({ ...disk, disk: { path: join(dir, 'gone'), at: pas } });
      gone.ensure(0, f.size);
      assert.ok(gone.bytes.every((b) => b === 0));
      const split = { ...img, toImage: (s: number, e: number) => [{ start: s, end: s + 1 }, { start: s + 1, end: e }] } as unknown as NestedImage;
      assert.equal(onDisk(split, f, path), undefined);
    } finally {
      cleanup();
    }
  });
});
