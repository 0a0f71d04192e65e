/**
 * Property tests: nested images with corrupted metadata (bytes flipped in
 * their metadata ranges, truncation) either read, with fewer or different
 * files, or fail with the project's own IsosyncError; never another error, a
 * hang, or memory beyond the metadata budget. The images are the nested
 * images of the committed live fixtures, so this runs with Node alone.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { readIso } from '../../src/iso/index.js';
import { isoLayout } from '../../src/layouts/iso-layout.js';
import { DEFAULT_LIMITS, MetadataBudget, type Layout } from '../../src/layouts/layout.js';
import { findNested, READERS } from '../../src/layouts/nested.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { fixture } from '../helpers/env.js';
import { mulberry32 } from '../helpers/random.js';

const CASE_TIMEOUT_MS = 10_000; // a hang fails the case; these images read in milliseconds
const CASES = 60;

async function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), CASE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** The nested images of a fixture ISO, as bytes. */
async function nestedBytes(iso: string): Promise<{ path: string; format: string; bytes: Uint8Array; metadata: { start: number; end: number }[] }[]> {
  const all = readFileSync(iso);
  const src = new MemorySource(all);
  const img = await readIso(src);
  const found = await findNested(src, isoLayout(img, src));
  return found.map((n) => ({ path: n.path, format: n.layout.format, bytes: all.subarray(n.base!, n.base! + n.layout.size), metadata: [...n.layout.metadata] }));
}

function corrupt(bytes: Uint8Array, metadata: readonly { start: number; end: number }[], seed: number): Uint8Array {
  const r = mulberry32(seed);
  const out = new Uint8Array(bytes);
  const kind = seed % 4;
  if (kind === 3) return out.subarray(0, Math.floor(r() * out.length));
  const flips = 1 + Math.floor(r() * 16);
  for (let i = 0; i < flips; i++) {
    const m = metadata[Math.floor(r() * metadata.length)]!;
    const at = m.start + Math.floor(r() * Math.max(1, Math.min(m.end, out.length) - m.start));
    out[at] = kind === 0 ? Math.floor(r() * 256) : kind === 1 ? 0xff : 0;
  }
  return out;
}

async function readAll(layout: Layout): Promise<void> {
  for (const f of layout.files) if (f.type === 'file') await layout.readContent(f, 1 << 22).catch((e: unknown) => {
    if (!(e instanceof IsosyncError)) throw e;
  });
}

describe('corrupted nested images', () => {
  for (const iso of ['live/live-1.iso', 'live/live-erofs-1.iso']) {
    test(`${iso}: every nested image read with corrupted metadata gives a layout or an IsosyncError`, async () => {
      const images = await nestedBytes(fixture(iso));
      assert.ok(images.length >= 1);
      let failed = 0;
      let read = 0;
      for (const img of images) {
        const reader = READERS.find((r) => r.format === img.format)!;
        for (let seed = 1; seed <= CASES; seed++) {
          const bytes = corrupt(img.bytes, img.metadata, seed * 7919 + img.bytes.length);
          const budget = new MetadataBudget(8 * 1024 * 1024);
          try {
            const layout = await withTimeout(reader.read(new MemorySource(bytes), img.path, DEFAULT_LIMITS, budget), `${img.path} seed ${seed}`);
            await withTimeout(readAll(layout), `${img.path} content, seed ${seed}`);
            read++;
          } catch (e) {
            if (!(e instanceof IsosyncError)) throw new Error(`${img.path} seed ${seed}: ${(e as Error).stack}`);
            failed++;
          }
          assert.ok(budget.used <= budget.limit + 64 * 1024, 'metadata read stays within the budget');
        }
      }
      assert.ok(failed > 0, 'some corruptions are detected');
      assert.ok(read + failed === images.length * CASES);
    });
  }

  test('a corrupted squashfs inside the ISO is skipped with a note, and the other nested images still read', async () => {
    const all = new Uint8Array(readFileSync(fixture('live/live-1.iso')));
    const src = new MemorySource(all);
    const img = await readIso(src);
    const clean = await findNested(src, isoLayout(img, src));
    const sq = clean.find((n) => n.layout.format === 'squashfs')!;
    // Break the superblock's table positions: the squashfs no longer reads.
    all.fill(0xff, sq.base! + 64, sq.base! + 80);
    const notes: string[] = [];
    const after = await findNested(src, isoLayout(img, src), { maxDepth: 3, metadataBytes: 1 << 26, limits: DEFAULT_LIMITS, note: (m) => notes.push(m) });
    assert.deepEqual(after.map((n) => n.layout.format), clean.map((n) => n.layout.format).filter((f) => f !== 'squashfs'));
    assert.match(notes.join('\n'), /live\/filesystem\.squashfs is not read as a nested image: Cannot read squashfs/);
  });
});
