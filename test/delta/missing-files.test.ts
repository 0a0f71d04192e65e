/**
 * missingIsoFiles (delta/iso-map.ts), the changed-files report's part of the
 * file map, must give mapIsoFiles' missingFiles and missingExtents: on every
 * pair of reader fixtures (each as target, each other as source, and none),
 * read as IsoImages and as columns, with loose files and nested containers.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { mapIsoFiles, missingIsoFiles, type LooseFile, type MappedImage } from '../../src/delta/iso-map.js';
import type { IsoImage } from '../../src/iso/entry.js';
import { readPlanImage } from '../../src/iso/plan-image.js';
import { readIso } from '../../src/iso/read-iso.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { fixture } from '../helpers/env.js';

const IMAGES = readdirSync(fixture('reader')).filter((n) => n.endsWith('.iso')).map((n) => fixture('reader', n));

async function readAll(): Promise<{ iso: IsoImage; plan: MappedImage; size: number }[]> {
  const out: { iso: IsoImage; plan: MappedImage; size: number }[] = [];
  for (const image of IMAGES) {
    const bytes = new Uint8Array(readFileSync(image));
    try {
      out.push({ iso: await readIso(new MemorySource(bytes), { name: 'x.iso' }), plan: await readPlanImage(new MemorySource(bytes), { name: 'x.iso' }), size: bytes.length });
    } catch {
      // Not every reader fixture is a whole image: those that fail to read map nothing.
    }
  }
  return out;
}

test('missingIsoFiles gives mapIsoFiles\' missing files and extents on every pair of reader fixtures', async () => {
  const images = await readAll();
  assert.ok(images.length >= 3, `images ${images.length}`);
  let missing = 0;
  let found = 0;
  for (const [ti, t] of images.entries()) {
    const files = t.plan.files;
    // A loose file with the name and size of the target's first file, and its last file as a nested container.
    const loose: LooseFile[] = files.count > 0 ? [{ index: 9, name: files.name(0), size: files.size(0) }] : [];
    const containers = new Set(files.count > 1 ? [files.path(files.count - 1)] : []);
    for (const sources of [[], ...images.flatMap((s, si) => (si === ti ? [] : [[s]]))]) {
      for (const view of ['iso', 'plan'] as const) {
        const infos = sources.map((s, i) => ({ index: i, image: s[view], size: s.size }));
        for (const [l, c] of [[[], new Set<string>()], [loose, containers]] as const) {
          const want = mapIsoFiles(t[view], infos, l, c);
          const got = missingIsoFiles(t[view], infos, l, c);
          assert.deepEqual(got, { missingFiles: want.missingFiles, missingExtents: want.missingExtents });
          missing += got.missingFiles.length;
          found += files.count - got.missingFiles.length;
        }
      }
    }
  }
  // Both outcomes were met: files found locally and files missing.
  assert.ok(missing > 0 && found > 0, `missing ${missing}, found ${found}`);
});
