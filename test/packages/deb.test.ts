/**
 * Reading .deb control fields from real packages built by dpkg-deb, with
 * each control-member compression dpkg-deb writes; and refusing broken ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { readDebControl } from '../../src/packages/deb.js';
import { field } from '../../src/packages/deb822.js';
import { decompress, sniffCompression } from '../../src/packages/compression.js';
import { zstdViaBinary } from '../../src/packages/zstd-binary.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { IsosyncError } from '../../src/errors.js';
import { needTools, tempDir } from '../helpers/env.js';
import { makeDeb } from './make-deb.js';

for (const compression of ['xz', 'gzip', 'none'] as const) {
  test(`reads the control fields of a dpkg-deb package whose control member is ${compression}`, { skip: needTools('dpkg-deb') }, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const path = makeDeb(dir, { name: 'hello-tool', version: '2:1.0~rc1-3', arch: 'amd64', compression, depends: 'libc6 (>= 2.17)', payloadBytes: 200_000 });
      const ctl = await readDebControl(new MemorySource(readFileSync(path)), path);
      assert.equal(ctl.name, 'hello-tool');
      assert.equal(ctl.version, '2:1.0~rc1-3');
      assert.equal(ctl.arch, 'amd64');
      assert.equal(ctl.compression, compression);
      assert.equal(field(ctl.stanza, 'depends'), 'libc6 (>= 2.17)');
      // Agrees with dpkg-deb's own reading of the same file.
      const dpkg = spawnSync('dpkg-deb', ['--field', path, 'Description'], { encoding: 'utf8' }).stdout.trimEnd();
      assert.equal(field(ctl.stanza, 'Description'), dpkg);
    } finally {
      cleanup();
    }
  });
}

test('reads a zstd control member through the zstd program', { skip: needTools('dpkg-deb', 'zstd') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = makeDeb(dir, { name: 'zed', version: '0.1-1', compression: 'zstd' });
    const bytes = new MemorySource(readFileSync(path));
    await assert.rejects(readDebControl(bytes, path), (e: unknown) => e instanceof IsosyncError && e.code === 'UNSUPPORTED' && /zstd/.test(e.message));
    const ctl = await readDebControl(bytes, path, { zstd: zstdViaBinary() });
    assert.deepEqual([ctl.name, ctl.version, ctl.compression], ['zed', '0.1-1', 'zstd']);
  } finally {
    cleanup();
  }
});

test('decodes multi-block and concatenated xz as the xz program writes them', { skip: needTools('xz') }, async () => {
  const input = Buffer.alloc(3_000_000);
  for (let i = 0; i < input.length; i++) input[i] = (i * 2654435761) >>> 24;
  const multi = spawnSync('xz', ['-c', '-T2', '--block-size=400000'], { input }).stdout;
  const out = await decompress(Buffer.concat([multi, multi]), sniffCompression(multi), 'x.xz', { maxBytes: 10_000_000 });
  assert.equal(Buffer.compare(Buffer.from(out), Buffer.concat([input, input])), 0);
  await assert.rejects(decompress(multi, 'xz', 'x.xz', { maxBytes: 1_000_000 }), /exceeds the limit of 1000000 bytes/);
  await assert.rejects(decompress(multi.subarray(0, 5000), 'xz', 'x.xz', { maxBytes: 10_000_000 }), /^IsosyncError: Cannot decompress "x.xz": xz data is corrupt or truncated/);
});

test('broken packages give one-line errors naming the package and the defect', { skip: needTools('dpkg-deb') }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const good = readFileSync(makeDeb(dir, { name: 'b', version: '1', compression: 'gzip' }));
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['not ar', Buffer.from('PK\u0003\u0004 not a deb at all'), /^Cannot read package "p.deb": not an ar archive/],
      ['truncated', good.subarray(0, 100), /^Cannot read package "p.deb": member header at byte 72 runs past the end \(100 bytes\)$/],
      ['bad size', Buffer.concat([good.subarray(0, 8 + 48), Buffer.from('12x4567890'), good.subarray(66)]), /has size "12x4567890"/],
    ];
    const corrupt = Buffer.from(good);
    corrupt[8 + 60 + 4 + 60 + 20] = corrupt[8 + 60 + 4 + 60 + 20]! ^ 0xff; // inside the gzip control member
    cases.push(['corrupt gzip', corrupt, /gzip data is corrupt/]);
    for (const [label, bytes, want] of cases) {
      await assert.rejects(readDebControl(new MemorySource(bytes), 'p.deb'), (e: unknown) => {
        assert.ok(e instanceof IsosyncError, label);
        assert.equal(e.code, 'BAD_PACKAGE', label);
        assert.match(e.message, want, label);
        assert.ok(!e.message.includes('\n'), label);
        return true;
      });
    }
  } finally {
    cleanup();
  }
});
