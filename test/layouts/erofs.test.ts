import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { erofsReader } from '../../src/layouts/erofs/read.js';
import { needTools, tempDir } from '../helpers/env.js';
import { makeTree, md5, readFrom, readLayout, run } from './helpers.js';
import { SB, SUPERBLOCK_OFFSET } from '../../src/layouts/erofs/format.js';
import type { LayoutFile } from '../../src/layouts/layout.js';
import { FileSource } from '../../src/store/file-source.js';
import type { ByteSource } from '../../src/store/byte-source.js';
import { mergeBounds, mergeSpans, spanBounds, subtractSpans, type Span } from '../../src/core/span.js';

/** dump.erofs -e: "N: la..le | llen : pa..pe | plen" per extent. */
function dumpExtents(img: string, path: string): { la: number; pa: number; plen: number }[] {
  const out: { la: number; pa: number; plen: number }[] = [];
  for (const line of run('dump.erofs', [`--path=${path}`, '-e', img]).split('\n')) {
    const m = /^\s*\d+:\s+(\d+)\.\.\s*(\d+)\s+\|\s+(\d+)\s+:\s+(\d+)\.\.\s*(\d+)\s+\|\s+(\d+)/.exec(line);
    if (m) out.push({ la: Number(m[1]), pa: Number(m[4]), plen: Number(m[6]) });
  }
  return out;
}

function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name), `${prefix}/${d.name}`) : d.isFile() ? [`${prefix}/${d.name}`] : []));
}

const VARIANTS: [string, string[]][] = [
  ['uncompressed', []],
  ['lz4 (compact index)', ['-zlz4']],
  ['lz4hc legacy (full) index', ['-zlz4hc', '-Elegacy-compress']],
  ['lz4hc with tail packing', ['-zlz4hc', '-Eztailpacking']],
  ['lz4hc with 16 KiB big pclusters', ['-zlz4hc', '-C16384']],
];

describe('EROFS reader against dump.erofs and fsck.erofs', { skip: needTools('mkfs.erofs', 'dump.erofs', 'fsck.erofs') }, () => {
  for (const [name, opts] of VARIANTS) {
    test(`${name}: every file's clusters are dump.erofs's extents and its content is what fsck.erofs extracts`, async () => {
      const { dir, cleanup } = tempDir('isosync-erofs-');
      try {
        makeTree(join(dir, 'root'));
        const img = join(dir, 'fs.erofs');
        run('mkfs.erofs', [...opts, '-T0', '--all-root', img, join(dir, 'root')]);
        run('fsck.erofs', [`--extract=${join(dir, 'out')}`, img]);
        const { layout, src } = await readLayout(erofsReader, img);
        try {
          const files = layout.files.filter((f) => f.type === 'file');
          assert.deepEqual(files.map((f) => f.path).sort(), walk(join(dir, 'out')).sort());
          assert.equal(layout.files.find((f) => f.path === '/etc/link')?.target, '../usr/bin/big');
          for (const f of files) {
            const want = readFileSync(join(dir, 'out', f.path));
            assert.equal(f.size, statSync(join(dir, 'out', f.path)).size, f.path);
            assert.equal(md5(await layout.readContent(f, 1 << 24)), md5(want), f.path);
            if (f.evidence === undefined) continue; // plain: no extent list to compare
            const ext = dumpExtents(img, f.path);
            const got: { la: number; pa: number; plen: number }[] = [];
            for (let i = 0; i < f.chunks.length; i += 2) got.push({ la: parseInt(f.evidence.split('.')[i / 2]!, 36), pa: f.chunks[i]!, plen: f.chunks[i + 1]! - f.chunks[i]! });
            // Inline (tail-packed) extents are compared too: dump.erofs prints where they sit in the metadata.
            const cmp = (xs: typeof got) => xs.filter((x) => x.pa > 0);
            assert.deepEqual(cmp(got), cmp(ext), f.path);
          }
        } finally {
          await src.close();
        }
      } finally {
        cleanup();
      }
    });
  }
});

/** A source read as over a network: the parts it would fetch (prefetched or read, minus what it holds already). */
class PartCounter implements ByteSource {
  readonly parts: Span[] = [];
  private held: Span[] = [];
  constructor(private readonly inner: ByteSource) {}
  get size(): number {
    return this.inner.size;
  }
  private take(ranges: readonly Span[]): void {
    for (const p of subtractSpans(mergeSpans(ranges), this.held)) this.parts.push(p);
    this.held = mergeSpans([...this.held, ...ranges]);
  }
  async prefetch(ranges: readonly Span[]): Promise<void> {
    this.take(ranges);
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    this.take([{ start: offset, end: offset + length }]);
    return this.inner.read(offset, length);
  }
}

describe('EROFS reader over a network source', { skip: needTools('mkfs.erofs') }, () => {
  test('a compressed file of one or two clusters costs one part (inode, map header and index together), a longer index one more', async () => {
    const { dir, cleanup } = tempDir('isosync-erofs-');
    try {
      makeTree(join(dir, 'root'));
      const img = join(dir, 'fs.erofs');
      run('mkfs.erofs', ['-zlz4hc', '-Eztailpacking', '-T0', '--all-root', img, join(dir, 'root')]);
      const src = await FileSource.open(img);
      try {
        const net = new PartCounter(src);
        const layout = await readFrom(erofsReader, net);
        const sb = await src.read(SUPERBLOCK_OFFSET, 128);
        const metaBase = new DataView(sb.buffer, sb.byteOffset).getUint32(SB.metaBlkaddr, true) * 4096;
        const indexStarts = (f: LayoutFile) => metaBase + f.ref! * 32 + 40; // compact inode, no xattrs: header, then the index
        const compressed = layout.files.filter((f) => f.type === 'file' && f.evidence !== undefined && f.size > 0);
        const small = compressed.filter((f) => f.size <= 8192);
        const large = compressed.filter((f) => f.size > 8192);
        assert.ok(small.length >= 3 && large.length >= 2, 'the tree has small and large compressed files');
        const starts = new Set(net.parts.map((p) => p.start));
        for (const f of small) assert.ok(!starts.has(indexStarts(f)), `${f.path}: its index came with its inode`);
        for (const f of large) assert.ok(starts.has(indexStarts(f) + 16), `${f.path}: the rest of its index is a part of its own`);
      } finally {
        await src.close();
      }
    } finally {
      cleanup();
    }
  });
});

test('a walk\'s metadata spans merge to the union mergeSpans gives, touching spans joined', async () => {
  const { SpanList } = await import('../../src/layouts/erofs/image.js');
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  for (let round = 0; round < 200; round++) {
    const list = new SpanList();
    const spans: Span[] = [];
    for (let k = 0, n = rnd(60); k < n; k++) {
      const start = rnd(500);
      const end = start + rnd(40);
      list.push(start, end);
      if (end > start) spans.push({ start, end });
    }
    assert.deepEqual([...mergeBounds(list.bounds())], [...spanBounds(mergeSpans(spans))], `round ${round}`);
  }
});
