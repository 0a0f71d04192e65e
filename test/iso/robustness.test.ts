import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { readIso, regionMap } from '../../src/iso/index.js';
import { MemorySource, RecordingSource } from '../../src/store/byte-source.js';
import { fixture } from '../helpers/env.js';
import { mulberry32 } from '../helpers/random.js';

/** Small fixture images to corrupt: the defect base and every reader fixture under 8 MB. */
function images(): string[] {
  const out = [fixture('defects', 'iso', 'base.iso')];
  for (const d of ['reader', 'releases']) {
    const dir = fixture(d);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.iso') && statSync(join(dir, f)).size < 8 * 1024 * 1024) out.push(join(dir, f));
  }
  return out;
}

const rng = mulberry32;

const CASE_TIMEOUT_MS = 5_000;   // a hang fails the case; real images parse in milliseconds
const HEAP_LIMIT_BYTES = 512 * 1024 * 1024;

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

test('randomly corrupted images give a listing or an IsosyncError, never a crash, hang or unbounded memory', async () => {
  const MUTATIONS_PER_IMAGE = 300;
  let listed = 0, refused = 0;
  for (const path of images()) {
    const clean = new Uint8Array(readFileSync(path));
    const img = await readIso(new MemorySource(clean));
    // Sectors that hold metadata: where corruption is interesting.
    const meta = regionMap(img).filter((r) => r.kind !== 'file' && r.kind !== 'unused' && r.kind !== 'system-area' && r.kind !== 'boot-image');
    const rand = rng(0x150 + clean.length);
    const pick = (n: number) => Math.floor(rand() * n);
    for (let i = 0; i < MUTATIONS_PER_IMAGE; i++) {
      let bytes = clean.slice();
      const kind = pick(4);
      const region = meta[pick(meta.length)]!;
      const at = () => region.start + pick(region.end - region.start);
      if (kind === 0) {
        for (let k = 1 + pick(8); k > 0; k--) bytes[at()] = pick(256);
      } else if (kind === 1) {
        bytes = bytes.subarray(0, pick(bytes.length));
      } else if (kind === 2) {
        bytes[at()] = pick(2) ? pick(34) : 255; // a length byte below the minimum or huge
      } else {
        const o = at() & ~3;
        const v = pick(2) ? 0xffffffff - pick(1000) : pick(1 << 20);
        new DataView(bytes.buffer, bytes.byteOffset).setUint32(Math.min(o, bytes.length - 8), v, true);
        new DataView(bytes.buffer, bytes.byteOffset).setUint32(Math.min(o + 4, bytes.length - 4), v, false);
      }
      const what = `${path} mutation ${i} (kind ${kind})`;
      try {
        const got = await withTimeout(readIso(new MemorySource(bytes), { name: 'mutant.iso' }), CASE_TIMEOUT_MS, what);
        const regions = regionMap(got);
        assert.equal(regions[regions.length - 1]?.end ?? 0, bytes.length, `${what}: region map does not cover the image`);
        listed++;
      } catch (e) {
        if (!(e instanceof IsosyncError)) assert.fail(`${what}: ${(e as Error)?.stack ?? e}`);
        assert.doesNotMatch(e.message, /\n/, `${what}: multi-line message`);
        refused++;
      }
      assert.ok(process.memoryUsage().heapUsed < HEAP_LIMIT_BYTES, `${what}: heap grew past ${HEAP_LIMIT_BYTES}`);
    }
  }
  // Both outcomes occur: the mutations are neither all harmless nor all fatal.
  assert.ok(listed > 0 && refused > 0, `listed ${listed}, refused ${refused}`);
});

test('readIso reads only metadata: every byte it reads lies outside file content', async () => {
  for (const path of images()) {
    const rec = new RecordingSource(new MemorySource(new Uint8Array(readFileSync(path))));
    const img = await readIso(rec);
    const files = regionMap(img).filter((r) => r.kind === 'file');
    const ranges = rec.ranges();
    assert.ok(ranges.length > 0);
    for (const r of ranges) {
      const hit = files.find((f) => f.start < r.end && r.start < f.end);
      assert.equal(hit, undefined, `${path}: read ${r.start}-${r.end} overlaps file content ${JSON.stringify(hit)}`);
    }
    // And it needs a small part of the image.
    const read = ranges.reduce((n, r) => n + r.end - r.start, 0);
    const content = files.reduce((n, f) => n + f.end - f.start, 0);
    assert.ok(read < img.imageBytes, `${path}: read ${read} of ${img.imageBytes} bytes (content ${content})`);
  }
});
