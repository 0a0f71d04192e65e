import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { decodeBlock } from '../../src/layouts/codecs.js';
import { xzWasmOf } from '../../src/layouts/xz-wasm.js';

const fail = (problem: string): never => {
  throw new Error(problem);
};

test('the installed xz-decompress file holds its WebAssembly module, found by xzWasmOf', () => {
  const b64 = xzWasmOf(readFileSync(createRequire(import.meta.url).resolve('xz-decompress'), 'utf8'));
  assert.ok(b64 !== undefined);
  // \0asm, version 1 (WebAssembly core spec §5.5.16).
  assert.deepEqual([...Buffer.from(b64, 'base64').subarray(0, 8)], [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  assert.equal(xzWasmOf('module.exports = "data:application/json;base64,e30="'), undefined);
});

test('an xz stream decodes through the module, and a truncated one is refused', async () => {
  const plain = Buffer.from('isosync '.repeat(5000));
  const packed = execFileSync('xz', ['-c', '--check=crc32'], { input: plain });
  assert.deepEqual(Buffer.from(await decodeBlock('xz', packed, plain.length, fail)), plain);
  await assert.rejects(decodeBlock('xz', packed.subarray(0, packed.length - 20), plain.length, fail), /corrupt or truncated/);
  await assert.rejects(decodeBlock('xz', packed, plain.length - 1, fail), /more than/);
});

