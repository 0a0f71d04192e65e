/**
 * lean-dir.ts reads plain directories into columns itself and leaves the
 * rest to TreeWalk: directory by directory, its columns must be those of
 * TreeWalk.readDir's entries (names, types, sizes, blocks, targets,
 * extents, modes, mtimes, link counts, serials, subdirectories, the
 * directory's own size and attributes), and a walk must fail with the same
 * error after the same directories. And `ls`'s table, written from those
 * columns, must be each image's --json entries (read through IsoEntry).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fromDirRead, LeanReader, type LeanDir } from '../../src/iso/lean-dir.js';
import { chooseTree } from '../../src/iso/read-iso.js';
import { WindowSource } from '../../src/iso/read-window.js';
import { TreeWalk, type PendingDir } from '../../src/iso/tree.js';
import { MemorySource, type ByteSource } from '../../src/store/byte-source.js';
import { cli, fixture } from '../helpers/env.js';
import { buildIso, concat, entry, susp, type TinyRecord } from './tiny-iso.js';

const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000;

/** A LeanDir as plain data, comparable with deepEqual. */
function plain(d: LeanDir, attrs: boolean): unknown {
  const n = d.names.length;
  const at = (a: readonly number[]) => (attrs ? a.slice(0, n) : []);
  return {
    names: d.names, types: d.types, sizes: d.sizes, lbas: d.lbas,
    targets: [...(d.targets ?? new Map<number, string>())].filter(([i]) => d.types[i] === 0x6c),
    extents: [...(d.extents ?? new Map())].map(([i, x]) => [i, (x as { lba: number; size: number }[]).map((e) => ({ lba: e.lba, size: e.size }))]),
    modes: at(d.modes), mtimes: at(d.mtimes), nlinks: at(d.nlinks), inodes: at(d.inodes),
    subdirs: d.subdirs.map((s) => ({ ...s, rr: s.rr && { ...s.rr, times: s.rr.times && { ...s.rr.times } } })),
    size: d.hidden ? 0 : d.size, mode: d.mode, mtime: d.mtime, hidden: d.hidden,
  };
}

interface Walked { dirs: unknown[]; error: string | undefined; fallbacks: number; lean: number }

/** Every directory depth first, as TreeWalk reads it (`lean` false) or as LeanReader does, until the first error. */
async function walkAll(src: ByteSource, lean: boolean, times: boolean): Promise<Walked> {
  const out: Walked = { dirs: [], error: undefined, fallbacks: 0, lean: 0 };
  const window = new WindowSource(src);
  let reader: LeanReader | undefined;
  try {
    const t = await chooseTree(window, 'test.iso');
    const root = t.names === 'joliet' ? t.jolietRoot! : t.root;
    const walk = new TreeWalk(t.ctx, { names: t.names, blockSize: t.bs, suspSkip: t.suspSkip, transient: window, times }, false);
    reader = new LeanReader(walk);
    const stack: PendingDir[] = [TreeWalk.rootDir(root)];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      const d = lean ? await reader.read(dir) : fromDirRead(dir, await walk.readDir(dir), times);
      out.dirs.push(plain(d, times));
      if (d.hidden) continue;
      for (let i = d.subdirs.length - 1; i >= 0; i--) stack.push(d.subdirs[i]!);
    }
  } catch (e) {
    out.error = (e as Error).message;
  }
  out.fallbacks = lean ? reader?.fallbacks ?? 0 : 0;
  out.lean = out.dirs.length - out.fallbacks;
  return out;
}

/** Both ways read the same; returns the lean walk's counts. */
async function same(src: ByteSource, what: string): Promise<{ fallbacks: number; lean: number }> {
  let counts = { fallbacks: 0, lean: 0 };
  for (const times of [true, false]) {
    const a = await walkAll(src, false, times);
    const b = await walkAll(src, true, times);
    assert.equal(b.error, a.error, `${what}: error`);
    assert.deepEqual(b.dirs, a.dirs, `${what} (times ${times})`);
    counts = { fallbacks: b.fallbacks, lean: b.lean };
  }
  return counts;
}

const fileSource = (path: string) => new MemorySource(new Uint8Array(readFileSync(path)));
const IMAGES = [
  ...readdirSync(fixture('reader')).filter((n) => n.endsWith('.iso')).map((n) => fixture('reader', n)),
  ...readdirSync(fixture('defects', 'iso')).filter((n) => n.endsWith('.iso')).map((n) => fixture('defects', 'iso', n)),
];

test('lean directories are read as TreeWalk reads them, on every reader and defect fixture', async () => {
  let fallbacks = 0, lean = 0;
  for (const image of IMAGES) {
    const c = await same(fileSource(image), image);
    fallbacks += c.fallbacks;
    lean += c.lean;
  }
  // Both ways were taken: plain directories, and the relocated, multi-extent and continued ones.
  assert.ok(lean > 20, `lean ${lean}`);
  assert.ok(fallbacks > 3, `fallbacks ${fallbacks}`);
});

test('the Rock Ridge fixture (relocations, symlinks, hard links, long names) is read partly lean, partly by TreeWalk', async () => {
  const c = await same(fileSource(fixture('reader', 'rockridge.iso')), 'rockridge.iso');
  assert.ok(c.lean > 0 && c.fallbacks > 0, JSON.stringify(c));
});

const rrRoot = () => concat(susp.sp(), susp.px(S_IFDIR | 0o755, 2), susp.er());
const file = (id: string, lba: number, size: number, su?: Uint8Array, extra: Partial<TinyRecord> = {}): TinyRecord => ({ id: `${id};1`, lba, size, ...(su ? { su } : {}), ...extra });

test('system use areas at the edges of the lean reading: NM parts and flags, PX forms, TF forms, ST, a symlink by its mode, a continuation', async () => {
  const unset = [0, 0, 0, 0, 0, 0, 0];
  const d1 = [100, 1, 2, 3, 4, 5, 0], d2 = [101, 6, 7, 8, 9, 10, 4];
  const ce = concat(susp.nm('continued'), susp.px(S_IFREG | 0o644));
  const bytes = buildIso({
    totalSectors: 40,
    root: {
      lba: 20, dotSu: rrRoot(),
      records: [
        file('A', 30, 1, concat(susp.nm('two-'), susp.nm('parts', 1), susp.px(S_IFREG | 0o640))),
        file('B', 30, 1, concat(susp.nm('current', 0x02), susp.px(S_IFREG | 0o644))),
        file('C', 30, 1, concat(susp.nm('serial'), susp.px(S_IFREG | 0o600, 3, 0xfffffff0))),
        file('D', 30, 1, concat(susp.nm('tf-both'), susp.px(S_IFREG | 0o644), susp.tfShort(0x03, d1, d2))),
        file('E', 30, 1, concat(susp.nm('tf-long'), susp.tfLong(0x02, '2021010203040500'))),
        file('F', 30, 1, concat(susp.nm('tf-torn'), entry('TF', [0x03, ...d1]))),
        file('G', 30, 1, concat(susp.nm('tf-unset'), susp.tfShort(0x02, unset))),
        file('H', 30, 1, concat(susp.nm('stopped'), entry('ST', []), susp.nm('after-st'))),
        file('I', 30, 1, concat(susp.px(S_IFREG | 0o644), susp.nm('two-px'), susp.px(S_IFREG | 0o600, 5))),
        file('J', 30, 1, concat(entry('NM', []), susp.px(S_IFREG | 0o644))),
        file('K', 0, 0, concat(susp.nm('link-by-mode'), susp.px(S_IFLNK | 0o777))),
        file('L', 0, 0, concat(susp.nm('link'), susp.px(S_IFLNK | 0o777), susp.sl([[0, 'target']]))),
        file('M', 30, 1, concat(susp.nm('short-px'), entry('PX', [1, 2, 3, 4]))),
        file('N', 30, 1),
        file('O', 30, 1, concat(susp.nm('assoc')), { flags: 0x04 }),
        file('P', 30, 1, concat(susp.nm('empty-name-next'), entry('NM', [0]))),
        { id: 'SUB', lba: 21, size: 2048, flags: 2, su: concat(susp.nm('sub'), susp.px(S_IFDIR | 0o750), susp.tfShort(0x02, d1)) },
        { id: 'CONT', lba: 22, size: 2048, flags: 2, su: concat(susp.nm('cont'), susp.px(S_IFDIR | 0o755)) },
        { id: 'ODD', lba: 24, size: 2048, flags: 2, su: concat(susp.nm('odd'), susp.px(S_IFREG | 0o700)) },
      ],
    },
    dirs: [
      { lba: 21, parentLba: 20, records: [file('X', 30, 1, concat(susp.nm('x'), susp.px(S_IFREG | 0o644), susp.tfShort(0x02, d2)))] },
      { lba: 22, parentLba: 20, records: [file('Y', 30, 1, concat(susp.nm('y'))), file('Z', 30, 1, susp.ce(23, 100, ce.length))] },
      { lba: 24, parentLba: 20, dotSu: concat(susp.px(S_IFDIR | 0o711)), records: [] },
    ],
    data: [{ lba: 30, bytes: new Uint8Array([7]) }],
    patches: [{ at: 23 * 2048 + 100, bytes: ce }],
  });
  const c = await same(new MemorySource(bytes), 'crafted');
  // The root, /sub and /odd lean; /cont (a continuation area) by TreeWalk.
  assert.deepEqual(c, { fallbacks: 1, lean: 3 });
});

test('every ls row of every fixture is its --json entry in the columns of the header', () => {
  const letter = { file: '-', dir: 'd', symlink: 'l' };
  for (const image of IMAGES) {
    const table = cli(['ls', image]);
    const json = cli(['ls', '--json', image]);
    assert.equal(table.status, json.status, image);
    if (json.status !== 0) {
      assert.equal(table.stderr, json.stderr);
      continue;
    }
    const rows = table.stdout.split('\n').slice(0, -1);
    const entries = JSON.parse(json.stdout) as { path: string; type: 'file' | 'dir' | 'symlink'; size: number; lba: number; target?: string }[];
    const header = /^T( +SIZE)( +LBA) PATH$/.exec(rows[0]!);
    assert.ok(header, rows[0]);
    const [sizeW, lbaW] = [header[1]!.length - 1, header[2]!.length - 1];
    assert.deepEqual(rows.slice(1), entries.map((e) => `${letter[e.type]} ${String(e.size).padStart(sizeW)} ${String(e.lba).padStart(lbaW)} ${e.path}${e.target !== undefined ? ` -> ${e.target}` : ''}`), image);
  }
});
