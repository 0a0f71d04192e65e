import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { readEntryChunks, readIso, regionMap, type IsoImage } from '../../src/iso/index.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { fixture } from '../helpers/env.js';
import { buildIso, concat, susp, type TinyRecord } from './tiny-iso.js';

const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000;
const rrRoot = () => concat(susp.sp(), susp.px(S_IFDIR | 0o755, 2), susp.er());
const file = (id: string, lba: number, size: number, extra: Partial<TinyRecord> = {}): TinyRecord => ({ id: `${id};1`, lba, size, ...extra });
const read = (bytes: Uint8Array) => readIso(new MemorySource(bytes), { name: 'tiny.iso' });
const byPath = (img: IsoImage, p: string) => {
  const e = img.entries.find((x) => x.path === p);
  assert.ok(e, `no entry ${p}`);
  return e;
};

test('plain ISO 9660 names lose their ";1" version and a trailing dot', async () => {
  const img = await read(buildIso({
    totalSectors: 24,
    root: { lba: 20, records: [file('README.TXT', 21, 5), file('NOEXT.', 22, 3)] },
    data: [{ lba: 21, bytes: new TextEncoder().encode('hello') }],
  }));
  assert.equal(img.tree, 'iso9660');
  assert.deepEqual(img.entries.map((e) => e.path), ['/', '/NOEXT', '/README.TXT']);
  assert.equal(byPath(img, '/README.TXT').mtimeMs, Date.UTC(2023, 10, 14, 22, 13, 20));
});

test('multi-extent records of one name become one file with every extent in order', async () => {
  const img = await read(buildIso({
    totalSectors: 30,
    root: { lba: 20, records: [file('BIG.BIN', 21, 4096, { flags: 0x80 }), file('BIG.BIN', 25, 2048, { flags: 0x80 }), file('BIG.BIN', 23, 100), file('Z.TXT', 26, 1)] },
  }));
  const big = byPath(img, '/BIG.BIN');
  assert.deepEqual(big.extents, [{ lba: 21, size: 4096 }, { lba: 25, size: 2048 }, { lba: 23, size: 100 }]);
  assert.equal(big.size, 6244);
  assert.equal(big.lba, 21);
  assert.equal(byPath(img, '/Z.TXT').size, 1);
});

test('readEntryChunks yields all extents in order in bounded chunks', async () => {
  const bytes = buildIso({
    totalSectors: 30,
    root: { lba: 20, records: [file('BIG.BIN', 22, 2048, { flags: 0x80 }), file('BIG.BIN', 21, 10)] },
    data: [{ lba: 22, bytes: new Uint8Array(2048).fill(7) }, { lba: 21, bytes: new Uint8Array(10).fill(9) }],
  });
  const src = new MemorySource(bytes);
  const img = await readIso(src);
  const chunks: Uint8Array[] = [];
  for await (const c of readEntryChunks(src, byPath(img, '/BIG.BIN'), 1000)) chunks.push(c);
  assert.ok(chunks.every((c) => c.length <= 1000));
  const all = concat(...chunks);
  assert.equal(all.length, 2058);
  assert.ok(all.subarray(0, 2048).every((b) => b === 7) && all.subarray(2048).every((b) => b === 9));
});

test('Rock Ridge NM (continued), PX (44-byte serial), SL components and TF long form are decoded', async () => {
  const img = await read(buildIso({
    totalSectors: 24,
    root: {
      lba: 20, dotSu: rrRoot(),
      records: [
        file('LONGNAME.TXT', 21, 3, { su: concat(susp.nm('a-very-', 1), susp.nm('long-name.txt'), susp.px(S_IFREG | 0o640, 2, 77), susp.tfLong(0x02, '2021010203040500')) }),
        file('LINK', 0, 0, { su: concat(susp.nm('link'), susp.px(S_IFLNK | 0o777), susp.sl([[0x08, ''], [0, 'usr'], [0x01, 'sh'], [0, 'are']], 1), susp.sl([[0x04, ''], [0x02, ''], [0, 'x']])) }),
        file('REL', 0, 0, { su: concat(susp.nm('rel'), susp.px(S_IFLNK | 0o777), susp.sl([[0x04, ''], [0, 'b']])) }),
        file('SHORT', 22, 1, { su: concat(susp.nm('short'), susp.px(S_IFREG | 0o600), susp.tfShort(0x06, [100, 1, 2, 3, 4, 5, 0], [101, 1, 1, 0, 0, 0, 0])) }),
      ],
    },
  }));
  assert.equal(img.tree, 'rockridge');
  assert.equal(img.hasRockRidge, true);
  const long = byPath(img, '/a-very-long-name.txt');
  assert.equal(long.mode, S_IFREG | 0o640);
  assert.equal(long.inode, 77);
  assert.equal(long.nlink, 2);
  assert.equal(long.mtimeMs, Date.UTC(2021, 0, 2, 3, 4, 5));
  const link = byPath(img, '/link');
  assert.equal(link.type, 'symlink');
  assert.equal(link.target, '/usr/share/../.\u002fx'.replace('\u002f', '/'));
  assert.equal(byPath(img, '/rel').target, '../b');
  // TF short form with CREATION absent: MODIFY is the first stamp present, ACCESS the second.
  assert.equal(byPath(img, '/short').mtimeMs, Date.UTC(2000, 0, 2, 3, 4, 5));
});

test('relocated directories appear at their original place and the relocation folder disappears', async () => {
  const img = await read(buildIso({
    totalSectors: 30,
    root: {
      lba: 20, dotSu: rrRoot(),
      records: [
        { id: 'A', lba: 21, size: 2048, flags: 2, su: concat(susp.nm('a'), susp.px(S_IFDIR | 0o755)) },
        { id: 'RR_MOVED', lba: 22, size: 2048, flags: 2, su: concat(susp.nm('rr_moved'), susp.px(S_IFDIR | 0o555)) },
      ],
    },
    dirs: [
      { lba: 21, parentLba: 20, records: [file('DEEP', 0, 0, { su: concat(susp.nm('deep'), susp.px(S_IFDIR | 0o700), susp.cl(23)) })] },
      { lba: 22, parentLba: 20, records: [{ id: 'DEEP', lba: 23, size: 2048, flags: 2, su: concat(susp.nm('deep'), susp.px(S_IFDIR | 0o700), susp.re()) }] },
      { lba: 23, parentLba: 22, dotSu: concat(susp.px(S_IFDIR | 0o700)), records: [file('IN.TXT', 24, 2, { su: concat(susp.nm('in.txt'), susp.px(S_IFREG | 0o644)) })] },
    ],
  }));
  assert.deepEqual(img.entries.map((e) => `${e.type} ${e.path}`), ['dir /', 'dir /a', 'dir /a/deep', 'file /a/deep/in.txt']);
  assert.equal(byPath(img, '/a/deep').lba, 23);
  assert.equal(byPath(img, '/a/deep').size, 2048);
  // The relocation folder's sectors are still metadata in the region map.
  assert.ok(regionMap(img).some((r) => r.kind === 'directory' && r.start === 22 * 2048));
});

test('Joliet names are read as UCS-2 big endian when there is no Rock Ridge', async () => {
  const ucs2 = (s: string) => {
    const b = new Uint8Array(s.length * 2);
    for (let i = 0; i < s.length; i++) {
      b[2 * i] = s.charCodeAt(i) >> 8;
      b[2 * i + 1] = s.charCodeAt(i) & 0xff;
    }
    return b;
  };
  const img = await read(buildIso({
    totalSectors: 26,
    root: { lba: 20, records: [file('LONGFI~1.TXT', 22, 4)] },
    joliet: { lba: 21, records: [{ idBytes: ucs2('Long file näme.txt;1'), lba: 22, size: 4 }] },
  }));
  assert.equal(img.hasJoliet, true);
  assert.equal(img.tree, 'joliet');
  assert.deepEqual(img.entries.map((e) => e.path), ['/', '/Long file näme.txt']);
  // Both trees' directories are metadata.
  const dirs = regionMap(img).filter((r) => r.kind === 'directory').map((r) => r.start / 2048);
  assert.deepEqual(dirs, [20, 21]);
});

test('SUSP continuation areas are followed and attributed in the region map', async () => {
  const ce = concat(susp.nm('continued-name'), susp.px(S_IFREG | 0o644));
  const img = await read(buildIso({
    totalSectors: 26,
    root: { lba: 20, dotSu: rrRoot(), records: [file('X', 22, 1, { su: susp.ce(21, 100, ce.length) })] },
    patches: [{ at: 21 * 2048 + 100, bytes: ce }],
  }));
  assert.equal(byPath(img, '/continued-name').mode, S_IFREG | 0o644);
  assert.ok(regionMap(img).some((r) => r.kind === 'continuation' && r.start === 21 * 2048 && r.end === 22 * 2048));
});

test('a directory record that crosses the end of its extent is refused with its byte offset', async () => {
  // "." and ".." take 68 bytes; the record of A (36 bytes) ends at 104, past the 100-byte extent.
  const bytes = buildIso({ totalSectors: 24, root: { lba: 20, bytes: 100, records: [file('A', 21, 1)] } });
  await assert.rejects(read(bytes), {
    name: 'IsosyncError',
    message: `Cannot read ISO "tiny.iso": directory record at byte ${20 * 2048 + 68} has length 36, running past the end of its directory extent at byte ${20 * 2048 + 100}`,
  });
});

test('a record length below 34 is refused with its byte offset', async () => {
  const bytes = buildIso({ totalSectors: 24, root: { lba: 20, records: [file('A', 21, 1)] } });
  bytes[20 * 2048 + 68] = 3;
  await assert.rejects(read(bytes), { message: `Cannot read ISO "tiny.iso": directory record at byte ${20 * 2048 + 68} has length 3, below the minimum 34` });
});

test('a directory whose child points back to an ancestor is reported as a loop', async () => {
  const bytes = buildIso({
    totalSectors: 24,
    root: { lba: 20, records: [{ id: 'D', lba: 21, size: 2048, flags: 2 }] },
    dirs: [{ lba: 21, parentLba: 20, records: [{ id: 'BACK', lba: 20, size: 2048, flags: 2 }] }],
  });
  await assert.rejects(read(bytes), (e: unknown) => e instanceof IsosyncError && e.code === 'BAD_ISO' && /loop in the directory tree: directory "\/D\/BACK"/.test(e.message));
});

test('regionMap covers the image with sorted, non-overlapping regions and shares hard-linked extents', async () => {
  const img = await readIso(new MemorySource(readFileSync(fixture('defects', 'iso', 'base.iso'))), { name: 'base.iso' });
  const regions = regionMap(img);
  assert.equal(regions[0]!.start, 0);
  assert.equal(regions[regions.length - 1]!.end, img.imageBytes);
  for (let i = 1; i < regions.length; i++) assert.equal(regions[i]!.start, regions[i - 1]!.end, `gap or overlap at region ${i}`);
  assert.ok(regions.every((r) => r.end > r.start));
  assert.equal(regions[0]!.kind, 'system-area');
  assert.ok(regions.some((r) => r.kind === 'boot-catalog'));
  const shared = regions.filter((r) => r.kind === 'file' && r.path === '/docs/readme-link.txt');
  assert.deepEqual(shared.map((r) => r.paths), [['/docs/readme.txt']]);
  for (const e of img.entries) {
    if (e.type !== 'file' || e.size === 0) continue;
    const r = regions.find((x) => x.start <= e.lba * 2048 && e.lba * 2048 < x.end);
    const ok = r && ((r.kind === 'file' && (r.path === e.path || r.paths?.includes(e.path))) || (e.path === '/boot/boot.cat' && r.kind === 'boot-catalog'));
    assert.ok(ok, `file ${e.path} not attributed: ${JSON.stringify(r)}`);
  }
});

test('the El Torito catalog lists the no-emulation boot image of the base fixture', async () => {
  const img = await readIso(new MemorySource(readFileSync(fixture('defects', 'iso', 'base.iso'))));
  assert.ok(img.boot);
  const bootImg = byPath(img, '/boot/boot.img');
  assert.deepEqual(img.boot.entries.map((e) => [e.emulation, e.bootable, e.lba, e.sectorCount]), [['none', true, bootImg.lba, 4]]);
  assert.equal(byPath(img, '/boot/boot.cat').lba, img.boot.catalogLba);
  assert.equal(byPath(img, '/s').target, '/tmp');
  assert.equal(byPath(img, '/hello.txt').mtimeMs, 1_700_000_000_000);
});

test('a fetching source is told of every directory before the walk reads it, a queue-full at a time', async () => {
  // A source that fetches (a partly present image) announces directories ahead: one round trip for many.
  const bytes = new Uint8Array(readFileSync(fixture('releases', 'distro-1.01.iso')));
  const inner = new MemorySource(bytes);
  const announced: { start: number; end: number }[] = [];
  const unannounced: number[] = [];
  let rounds = 0;
  let dirs: { start: number; end: number }[] = [];
  const src = {
    size: inner.size,
    read: (offset: number, length: number) => {
      if (dirs.some((d) => d.start === offset) && !announced.some((a) => a.start <= offset && offset + length <= a.end)) unannounced.push(offset);
      return inner.read(offset, length);
    },
    prefetch: async (ranges: readonly { start: number; end: number }[]) => {
      rounds++;
      for (const r of ranges) announced.push(r);
    },
  };
  const plain = await readIso(inner, { name: 'distro-1.01.iso' });
  // The root is read before the walk (its first record tells whether Rock Ridge is there).
  dirs = plain.entries.filter((e) => e.type === 'dir' && e.path !== '/').map((e) => ({ start: e.lba * 2048, end: e.lba * 2048 + e.size }));
  assert.ok(dirs.length > 3, 'the fixture has directories below the root');
  await readIso(src, { name: 'distro-1.01.iso' });
  assert.deepEqual(unannounced, [], 'directories read without being announced first');
  assert.ok(rounds < dirs.length, `${rounds} announcements for ${dirs.length} directories`);
});

test('a fetching source gets the whole tree in a fixed number of rounds, and is announced only sectors the reader reads', async () => {
  // Round trips a network source would make: each announcement, and each read of bytes neither announced nor read before.
  const bytes = new Uint8Array(readFileSync(fixture('releases', 'distro-1.01.iso')));
  const inner = new MemorySource(bytes);
  const sectorsOf = (start: number, end: number) => Array.from({ length: Math.ceil(end / 2048) - Math.floor(start / 2048) }, (_, i) => Math.floor(start / 2048) + i);
  const announced = new Set<number>();
  const read = new Set<number>();
  let rounds = 0;
  const src = {
    size: inner.size,
    read: (offset: number, length: number) => {
      const s = sectorsOf(offset, offset + length);
      if (s.some((x) => !announced.has(x) && !read.has(x))) rounds++;
      for (const x of s) read.add(x);
      return inner.read(offset, length);
    },
    prefetch: async (ranges: readonly { start: number; end: number }[]) => {
      const fresh = ranges.flatMap((r) => sectorsOf(r.start, r.end)).filter((x) => !announced.has(x) && !read.has(x));
      if (fresh.length > 0) rounds++;
      for (const x of fresh) announced.add(x);
    },
  };
  const img = await readIso(src, { name: 'distro-1.01.iso' });
  const depth = Math.max(...img.entries.filter((e) => e.type === 'dir').map((e) => e.path.split('/').length - 1));
  assert.ok(depth >= 3, 'the fixture has directories three levels down');
  // The descriptors one by one, the root (with the path tables), its continuation area if any, then every directory at once.
  assert.ok(rounds <= img.descriptors.length + 4, `${rounds} rounds for ${img.descriptors.length} descriptors and a tree ${depth} deep`);
  assert.deepEqual([...announced].filter((x) => !read.has(x)), [], 'sectors announced that the reader never read');
});
