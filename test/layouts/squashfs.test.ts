import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { chunkBytes } from '../../src/layouts/layout.js';
import { squashfsReader } from '../../src/layouts/squashfs/read.js';
import { needTools, tempDir } from '../helpers/env.js';
import { makeTree, md5, readLayout, run } from './helpers.js';

describe('squashfs reader against unsquashfs', { skip: needTools('mksquashfs', 'unsquashfs') }, () => {
  for (const comp of ['gzip', 'xz', 'zstd', 'lz4']) {
    test(`a ${comp} image lists what unsquashfs -lls lists, with the same content and stored blocks`, async () => {
      const { dir, cleanup } = tempDir('isosync-sqfs-');
      try {
        const files = makeTree(join(dir, 'root'));
        const img = join(dir, 'fs.sqfs');
        run('mksquashfs', [join(dir, 'root'), img, '-comp', comp, '-noappend', '-quiet', '-all-root']);
        const { layout, src } = await readLayout(squashfsReader, img);
        try {
          // unsquashfs -lls: "perm owner size date time squashfs-root/path [-> target]"
          const want = new Map<string, { type: string; size: number; target?: string }>();
          for (const line of run('unsquashfs', ['-lls', '-d', '', img]).split('\n')) {
            const m = /^([dl-])\S+ \S+\s+(\d+) \S+ \S+ (\/?.*?)(?: -> (.*))?$/.exec(line);
            if (!m || m[3] === '' || m[3] === '/') continue;
            want.set(m[3]!.startsWith('/') ? m[3]! : `/${m[3]}`, { type: m[1]!, size: Number(m[2]), ...(m[4] ? { target: m[4] } : {}) });
          }
          const got = new Map(layout.files.filter((f) => f.path !== '/').map((f) => [f.path, f]));
          assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
          for (const [p, w] of want) {
            const f = got.get(p)!;
            assert.equal({ d: 'dir', l: 'symlink', '-': 'file' }[w.type], f.type, p);
            if (f.type === 'file') assert.equal(f.size, w.size, p);
            if (f.type === 'symlink') assert.equal(f.target, w.target, p);
          }
          for (const [p, bytes] of files) assert.equal(md5(await layout.readContent(got.get(p)!, 1 << 24)), md5(bytes), p);
          // -stat: block size, fragments and the filesystem size agree; stored chunks lie inside it.
          const stat = run('unsquashfs', ['-s', img]);
          assert.equal(layout.size, Number(/Filesystem size (\d+) bytes/.exec(stat)?.[1] ?? /Filesystem size [\d.]+ Kbytes \((\d+)/.exec(stat)?.[1]), 'filesystem size');
          assert.equal(layout.shared.length, Number(/Number of fragments (\d+)/.exec(stat)![1]));
          const big = got.get('/usr/bin/big')!;
          // mksquashfs puts only files smaller than a block into fragments by default: big has 6 blocks, no tail.
          assert.equal(big.chunks.length / 2, Math.ceil(700_000 / Number(/Block size (\d+)/.exec(stat)![1])));
          assert.equal(big.tail, undefined);
          const small = got.get('/usr/share/doc/a/copyright')!;
          assert.equal(small.chunks.length, 0);
          assert.equal(small.tail?.length, 1200, 'a small file is a tail in a fragment block');
          for (const f of layout.files) for (let i = 0; i < f.chunks.length; i++) assert.ok(f.chunks[i]! <= layout.size);
          assert.ok(chunkBytes(big.chunks) > 0);
          assert.ok([...layout.metadata].some((m) => m.end === layout.size), 'the tables at the end are metadata');
        } finally {
          await src.close();
        }
      } finally {
        cleanup();
      }
    });
  }
});

test('files whose inodes lie past the first metadata blocks read back by their ref, which fits 32 bits', { skip: needTools('mksquashfs') }, async () => {
  const { dir, cleanup } = tempDir('isosync-sqfs-refs-');
  try {
    const root = join(dir, 'root');
    const want = new Map<string, string>();
    // 1,500 files of some 32 bytes of inode each: several 8 KiB inode blocks.
    for (let d = 0; d < 3; d++) {
      mkdirSync(join(root, `d${d}`), { recursive: true });
      for (let i = 0; i < 500; i++) {
        const body = `file ${d}/${i} `.repeat(1 + (i % 7));
        writeFileSync(join(root, `d${d}`, `f${i}`), body);
        want.set(`/d${d}/f${i}`, md5(Buffer.from(body)));
      }
    }
    const img = join(dir, 'fs.sqfs');
    run('mksquashfs', [root, img, '-comp', 'gzip', '-noappend', '-quiet', '-all-root']);
    const { layout, src } = await readLayout(squashfsReader, img);
    try {
      const refs = new Set<number>();
      for (const f of layout.files) {
        if (f.type !== 'file') continue;
        assert.ok(f.ref !== undefined && f.ref >= 0 && f.ref < 2 ** 32, `${f.path}: ${f.ref}`);
        refs.add(Math.floor(f.ref / 8192));
        assert.equal(md5(await layout.readContent(f, 1 << 20)), want.get(f.path), f.path);
      }
      assert.equal(refs.size > 2, true, 'inodes in several blocks');
      assert.equal([...layout.files].filter((f) => f.type === 'file').length, want.size);
    } finally {
      await src.close();
    }
  } finally {
    cleanup();
  }
});
