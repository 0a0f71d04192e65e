/**
 * publish's ISO check (library/release-image.ts) runs readIso's steps without
 * making entries: it must refuse exactly the images readIso refuses, with the
 * same reason, and accept the rest. Checked on every ISO fixture and on
 * damaged copies of the small ones (bytes of their metadata sectors changed,
 * cut short).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { readIso } from '../../src/iso/index.js';
import { WindowSource } from '../../src/iso/read-window.js';
import { checkReleaseImage } from '../../src/library/release-image.js';
import { FileSource } from '../../src/store/file-source.js';
import { FIXTURES, tempDir } from '../helpers/env.js';

/** readIso's verdict on the file, worded as publish words it. */
async function readerVerdict(path: string): Promise<string> {
  const src = await FileSource.open(path);
  try {
    await readIso(new WindowSource(src), { name: path });
    return 'ok';
  } catch (e) {
    if (!(e instanceof IsosyncError) || e.code !== 'BAD_ISO') return `${(e as Error).name}: ${(e as Error).message}`;
    return `BAD_ISO Cannot publish ${JSON.stringify(path)}: not a whole ISO 9660 image: ${e.message.replace(/^Cannot read ISO "(?:[^"\\]|\\.)*": /, '')}`;
  } finally {
    await src.close();
  }
}

async function checkVerdict(path: string): Promise<string> {
  try {
    await checkReleaseImage(path);
    return 'ok';
  } catch (e) {
    return e instanceof IsosyncError ? `${e.code} ${e.message}` : `${(e as Error).name}: ${(e as Error).message}`;
  }
}

function isoFixtures(dir = FIXTURES): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? isoFixtures(join(dir, d.name)) : d.name.endsWith('.iso') ? [join(dir, d.name)] : []));
}

describe("publish's ISO check", () => {
  it('gives readIso verdict and reason on every ISO fixture', async () => {
    const all = isoFixtures();
    assert.ok(all.length >= 20, `ISO fixtures found: ${all.length}`);
    let refused = 0;
    for (const path of all) {
      const want = await readerVerdict(path);
      if (want !== 'ok') refused++;
      assert.equal(await checkVerdict(path), want, path);
    }
    assert.ok(refused >= 5, `fixtures readIso refuses: ${refused}`);
  });

  it('gives readIso verdict and reason on damaged copies of the small fixtures', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const copy = join(tmp.dir, 'damaged.iso');
    const small = isoFixtures().filter((p) => statSync(p).size <= 256 * 1024);
    const seen = new Set<string>();
    let n = 0;
    for (const path of small) {
      const bytes = readFileSync(path);
      // Deterministic positions in the descriptors and directories (sectors 16 to 40), then in the
      // primary volume's L and M path tables and its root directory (where its descriptor says).
      const pvd = 16 * 2048;
      const tableBytes = bytes.readUInt32LE(pvd + 132);
      const areas = [bytes.readUInt32LE(pvd + 140) * 2048, bytes.readUInt32BE(pvd + 148) * 2048, bytes.readUInt32LE(pvd + 158) * 2048];
      // The El Torito boot catalog, when a boot record descriptor (type 0) names one.
      for (let d = pvd; d + 2048 <= bytes.length && bytes[d] !== 255; d += 2048) {
        if (bytes[d] === 0 && bytes.toString('latin1', d + 1, d + 6) === 'CD001') areas.push(bytes.readUInt32LE(d + 71) * 2048);
      }
      for (let k = 0; k < 12 * areas.length; k++) {
        const damaged = Buffer.from(bytes);
        const at = k < 24 ? pvd + ((k * 7919 + path.length * 131) % (24 * 2048)) : areas[k % areas.length]! + ((k * 13) % Math.max(1, Math.min(tableBytes, 2048)));
        if (at >= damaged.length) continue;
        damaged[at] = (damaged[at]! + 1 + k * 37) & 0xff;
        const cut = k % 6 === 5 ? damaged.subarray(0, Math.max(17 * 2048, damaged.length - (k + 1) * 4096)) : damaged;
        writeFileSync(copy, cut);
        const want = await readerVerdict(copy);
        seen.add(want === 'ok' ? 'ok' : 'refused');
        assert.equal(await checkVerdict(copy), want, `${path} byte ${at}${cut !== damaged ? ` cut to ${cut.length}` : ''}`);
        n++;
      }
    }
    assert.ok(n > 200 && seen.has('ok') && seen.has('refused'), `${n} damaged copies, verdicts ${[...seen].join(', ')}`);
  });
});
