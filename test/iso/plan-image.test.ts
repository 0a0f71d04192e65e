/**
 * readPlanImage (iso/plan-image.ts) keeps no entry per file: its FileTable
 * must hold readIso's regular files with content, in readIso's path order,
 * with their blocks, sizes and extents, it must fail where readIso fails
 * (same code and message), read the same bytes of its source, and the file
 * map made from it (delta/iso-map.ts) must be the one made from readIso's
 * entries.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { mapIsoFiles } from '../../src/delta/iso-map.js';
import type { IsoImage } from '../../src/iso/entry.js';
import { FileTable, fileTableOf } from '../../src/iso/file-table.js';
import { readPlanImage, type PlanImage } from '../../src/iso/plan-image.js';
import { readIso } from '../../src/iso/read-iso.js';
import { MemorySource, type ByteSource } from '../../src/store/byte-source.js';
import { fixture } from '../helpers/env.js';
import { buildIso, concat, susp } from './tiny-iso.js';

const IMAGES = [
  ...readdirSync(fixture('reader')).filter((n) => n.endsWith('.iso')).map((n) => fixture('reader', n)),
  ...readdirSync(fixture('defects', 'iso')).filter((n) => n.endsWith('.iso')).map((n) => fixture('defects', 'iso', n)),
];

function rows(t: FileTable): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < t.count; i++) out.push({ path: t.path(i), name: t.name(i), lba: t.lba(i), size: t.size(i), extents: t.extents(i).map((x) => ({ lba: x.lba, size: x.size })) });
  return out;
}

/** A source that records every read (offset, length) and announcement. */
class Recording implements ByteSource {
  readonly reads: string[] = [];
  constructor(private readonly inner: ByteSource) {}
  get size(): number {
    return this.inner.size;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    this.reads.push(`${offset}+${length}`);
    return this.inner.read(offset, length);
  }
  prefetch(spans: readonly { start: number; end: number }[]): Promise<void> {
    this.reads.push(`prefetch ${spans.map((s) => `${s.start}-${s.end}`).join(',')}`);
    return Promise.resolve();
  }
}

async function both(src: () => ByteSource, otherTree: boolean): Promise<{ iso?: IsoImage; plan?: PlanImage; isoError?: string; planError?: string; isoReads: string[]; planReads: string[] }> {
  const a = new Recording(src());
  const b = new Recording(src());
  const out: { iso?: IsoImage; plan?: PlanImage; isoError?: string; planError?: string; isoReads: string[]; planReads: string[] } = { isoReads: a.reads, planReads: b.reads };
  try {
    out.iso = await readIso(a, { name: 'test.iso', otherTree });
  } catch (e) {
    out.isoError = `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
  try {
    out.plan = await readPlanImage(b, { name: 'test.iso', otherTree });
  } catch (e) {
    out.planError = `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
  return out;
}

test('readPlanImage keeps readIso\'s files with content, in its order, on every reader and defect fixture, and fails alike', async () => {
  let files = 0;
  for (const image of IMAGES) {
    const bytes = new Uint8Array(readFileSync(image));
    for (const otherTree of [true, false]) {
      const r = await both(() => new MemorySource(bytes), otherTree);
      assert.equal(r.planError, r.isoError, image);
      if (!r.iso) continue;
      assert.deepEqual(rows(r.plan!.files), rows(fileTableOf(r.iso.entries)), image);
      assert.equal(r.plan!.rootLba, r.iso.entries.find((e) => e.path === '/')?.lba ?? 0, image);
      assert.equal(r.plan!.descriptors.length, r.iso.descriptors.length);
      assert.deepEqual(r.plan!.boot, r.iso.boot, image);
      files += r.plan!.files.count;
    }
  }
  assert.ok(files > 20, `files ${files}`);
});

/** Each read or announcement at its first time: a directory the lean reader leaves to TreeWalk is read again from its start (from a cache, for a fetching source). */
const firsts = (reads: string[]) => reads.filter((r, i) => r.startsWith('prefetch') || reads.indexOf(r) === i);

test('readPlanImage reads and announces the bytes readIso reads, in the same order', async () => {
  for (const image of IMAGES) {
    const bytes = new Uint8Array(readFileSync(image));
    const r = await both(() => new MemorySource(bytes), true);
    if (r.isoError) continue;
    assert.deepEqual(firsts(r.planReads), firsts(r.isoReads), image);
  }
});

test('the file map from readPlanImage is the one from readIso, with a moved, a renamed-elsewhere and a changed file', async () => {
  const S_IFDIR = 0o040000, S_IFREG = 0o100000;
  const rr = (name: string, mode = S_IFREG | 0o644) => concat(susp.nm(name), susp.px(mode));
  const rrRoot = () => concat(susp.sp(), susp.px(S_IFDIR | 0o755, 2), susp.er());
  const data = (lba: number, fill: number, n: number) => ({ lba, bytes: new Uint8Array(n).fill(fill) });
  const old = buildIso({
    totalSectors: 60,
    root: {
      lba: 20, dotSu: rrRoot(),
      records: [
        { id: 'A;1', lba: 30, size: 3000, su: rr('a.deb') },
        { id: 'B;1', lba: 32, size: 100, su: rr('b.deb') },
        { id: 'P', lba: 21, size: 2048, flags: 2, su: rr('pool', S_IFDIR | 0o755) },
      ],
    },
    dirs: [{ lba: 21, parentLba: 20, records: [{ id: 'C;1', lba: 34, size: 5000, su: rr('c.deb') }, { id: 'D;1', lba: 40, size: 10, su: rr('d.deb') }] }],
    data: [data(30, 1, 3000), data(32, 2, 100), data(34, 3, 5000), data(40, 4, 10)],
  });
  const cur = buildIso({
    totalSectors: 60,
    root: {
      lba: 20, dotSu: rrRoot(),
      records: [
        { id: 'A;1', lba: 36, size: 3000, su: rr('a.deb') },
        { id: 'C;1', lba: 30, size: 5000, su: rr('c.deb') },
        { id: 'Q', lba: 21, size: 2048, flags: 2, su: rr('pool', S_IFDIR | 0o755) },
      ],
    },
    dirs: [{ lba: 21, parentLba: 20, records: [{ id: 'D;1', lba: 40, size: 11, su: rr('d.deb') }, { id: 'E;1', lba: 42, size: 100, su: rr('b.deb') }] }],
    data: [data(36, 1, 3000), data(30, 3, 5000), data(40, 5, 11), data(42, 2, 100)],
  });
  const iso = (b: Uint8Array) => readIso(new MemorySource(b), { name: 'x.iso' });
  const plan = (b: Uint8Array) => readPlanImage(new MemorySource(b), { name: 'x.iso' });
  const a = mapIsoFiles(await iso(cur), [{ index: 0, image: await iso(old), size: old.length }], [{ index: 1, name: 'd.deb', size: 11 }]);
  const b = mapIsoFiles(await plan(cur), [{ index: 0, image: await plan(old), size: old.length }], [{ index: 1, name: 'd.deb', size: 11 }]);
  assert.deepEqual(b, a);
  const reasons = new Set(a.exact.toArray().map((s) => s.reason));
  assert.ok(reasons.has('moved-file') && reasons.has('loose-file'), JSON.stringify([...reasons]));
});

test('the file map maps a shared extent once, for its first file in path order, and merges file spans', async () => {
  const S_IFDIR = 0o040000, S_IFREG = 0o100000;
  const rr = (name: string) => concat(susp.nm(name), susp.px(S_IFREG | 0o644));
  const rrRoot = () => concat(susp.sp(), susp.px(S_IFDIR | 0o755, 2), susp.er());
  const fill = (lba: number, v: number, n: number) => ({ lba, bytes: new Uint8Array(n).fill(v) });
  const cur = buildIso({
    totalSectors: 50,
    root: { lba: 20, dotSu: rrRoot(), records: [{ id: 'B;1', lba: 30, size: 100, su: rr('b.deb') }, { id: 'A;1', lba: 30, size: 100, su: rr('a.deb') }, { id: 'C;1', lba: 31, size: 2048, su: rr('c.deb') }] },
    data: [fill(30, 1, 100), fill(31, 2, 2048)],
  });
  const old = buildIso({
    totalSectors: 50,
    root: { lba: 20, dotSu: rrRoot(), records: [{ id: 'B;1', lba: 40, size: 100, su: rr('b.deb') }, { id: 'C;1', lba: 41, size: 2048, su: rr('c.deb') }] },
    data: [fill(40, 1, 100), fill(41, 2, 2048)],
  });
  const m = mapIsoFiles(await readPlanImage(new MemorySource(cur)), [{ index: 0, image: await readPlanImage(new MemorySource(old)), size: old.length }]);
  // /a.deb comes first in path order: /b.deb, its hard link, is not mapped again (though the source has it).
  assert.deepEqual(m.missingFiles, [{ path: '/a.deb', size: 100 }]);
  assert.deepEqual(m.exact.toArray(), [{ start: 31 * 2048, end: 32 * 2048, source: 0, sourceOffset: 41 * 2048, reason: 'moved-file' }]);
  assert.deepEqual(m.fileSpans, [{ start: 30 * 2048, end: 30 * 2048 + 100 }, { start: 31 * 2048, end: 32 * 2048 }]);
  // Each file's padding is a zero guess (the hard link's too, as before: the overlay keeps one).
  const pad = { start: 30 * 2048 + 100, end: 31 * 2048, source: -1, sourceOffset: 0, reason: 'zero' };
  assert.deepEqual(m.guesses.at(-1)!.toArray().filter((s) => s.start === pad.start), [pad, pad]);
});

test('a FileTable answers by path and by name with the first file of that size in path order', () => {
  const t = new FileTable();
  const root = t.dir('/');
  const a = t.dir('/a');
  const b = t.dir('/b');
  // In path order: /a/x.deb (10), /a/x.deb (20, a second record of the name), /a/y.deb, /b/x.deb (10), /z.deb.
  t.push(a, 'x.deb', 100, 10);
  t.push(a, 'x.deb', 101, 20);
  t.push(a, 'y.deb', 102, 10);
  t.push(b, 'x.deb', 103, 10);
  t.push(root, 'z.deb', 104, 30, [{ lba: 104, size: 15 }, { lba: 110, size: 15 }]);
  t.trim();
  assert.equal(t.findPath('/a/x.deb', 10), 0);
  assert.equal(t.findPath('/a/x.deb', 20), 1);
  assert.equal(t.findPath('/a/x.deb', 30), -1);
  assert.equal(t.findPath('/b/x.deb', 10), 3);
  assert.equal(t.findPath('/c/x.deb', 10), -1);
  assert.equal(t.findPath('/z.deb', 30), 4);
  assert.equal(t.findName('x.deb', 10), 0);
  assert.equal(t.findName('x.deb', 20), 1);
  assert.equal(t.findName('y.deb', 10), 2);
  assert.equal(t.findName('w.deb', 10), -1);
  assert.equal(t.path(3), '/b/x.deb');
  assert.equal(t.path(4), '/z.deb');
  assert.deepEqual(t.extents(4), [{ lba: 104, size: 15 }, { lba: 110, size: 15 }]);
  assert.deepEqual(t.extents(2), [{ lba: 102, size: 10 }]);
});

test('with yieldEveryMs the walk gives the event loop turns between directories, and keeps the same files', async () => {
  let walked = 0;
  for (const image of IMAGES.filter((i) => /reader/.test(i))) {
    const bytes = new Uint8Array(readFileSync(image));
    let plain: PlanImage;
    try {
      plain = await readPlanImage(new MemorySource(bytes), { name: 'test.iso' });
    } catch {
      continue;
    }
    // A turn of the event loop counted while the walk runs: an in-memory source's reads resolve at once, so only the yields make them.
    let turns = 0;
    let on = true;
    const tick = () => {
      turns++;
      if (on) setImmediate(tick);
    };
    setImmediate(tick);
    const yielding = await readPlanImage(new MemorySource(bytes), { name: 'test.iso', yieldEveryMs: 0 });
    on = false;
    assert.deepEqual(rows(yielding.files), rows(plain.files), image);
    if (new Set(rows(plain.files).map((r) => (r as { path: string }).path.replace(/\/[^/]*$/, ''))).size > 1) {
      assert.ok(turns > 0, `${image}: no turn of the event loop during the walk`);
      walked++;
    }
  }
  assert.ok(walked > 0, 'no fixture with two directories');
});
