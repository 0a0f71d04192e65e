/**
 * SpillFile: an unlinked scratch file that gives back what was appended, at
 * the offsets append returned, and leaves nothing in its folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpillFile } from '../../src/store/spill-file.js';
import { IsosyncError } from '../../src/errors.js';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

test('appended chunks read back at the offsets append returned, and the folder stays empty', () => {
  const dir = mkdtempSync(join(tmpdir(), 'isosync-spill-test-'));
  try {
    const f = SpillFile.open(dir);
    assert.deepEqual(readdirSync(dir), [], 'unlinked as soon as it is open');
    const cases: { name: string; chunk: Uint8Array }[] = [
      { name: 'empty', chunk: bytes(0, 1) },
      { name: 'one byte', chunk: bytes(1, 2) },
      { name: 'a sector', chunk: bytes(2048, 3) },
      { name: 'a slab', chunk: bytes(256 * 1024, 4) },
      { name: 'a view into a larger buffer', chunk: bytes(5000, 5).subarray(100, 4100) },
    ];
    const at = cases.map((c) => f.append(c.chunk));
    assert.deepEqual(at, [0, 0, 1, 2049, 2049 + 256 * 1024]);
    assert.equal(f.size, 1 + 2048 + 256 * 1024 + 4000);
    // Read back in another order, whole and in parts, at an offset of the destination.
    for (const k of [4, 2, 0, 3, 1]) {
      const c = cases[k]!;
      const out = new Uint8Array(c.chunk.length + 7);
      f.readInto(out, 7, at[k]!, c.chunk.length);
      assert.deepEqual(out.subarray(7), c.chunk, c.name);
    }
    const part = new Uint8Array(10);
    f.readInto(part, 0, at[3]! + 1000, 10);
    assert.deepEqual(part, cases[3]!.chunk.subarray(1000, 1010));
    assert.throws(() => f.readInto(new Uint8Array(10), 0, f.size - 5, 10), (e: unknown) => e instanceof IsosyncError && e.code === 'INTERNAL', 'past the end');
    f.close();
    f.close();
    assert.throws(() => f.append(bytes(1, 0)), (e: unknown) => e instanceof IsosyncError && e.code === 'INTERNAL', 'used after close');
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a folder it cannot create a file in is an IO error naming the folder', () => {
  assert.throws(() => SpillFile.open('/nonexistent/isosync'), (e: unknown) => e instanceof IsosyncError && e.code === 'IO' && /\/nonexistent\/isosync/.test(e.message));
});
