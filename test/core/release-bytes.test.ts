/**
 * releaseBytes (src/core/release-bytes.ts): a buffer that owns its whole
 * ArrayBuffer is detached (its memory moved to a new, unreferenced one);
 * views into shared or larger memory are left alone.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { releaseBytes } from '../../src/core/release-bytes.js';

describe('releaseBytes', () => {
  it('detaches buffers that own their whole ArrayBuffer', () => {
    const owned = [Buffer.allocUnsafeSlow(1 << 20), new Uint8Array(64 * 1024)];
    releaseBytes(owned);
    for (const b of owned) {
      assert.equal(b.byteLength, 0, 'detached');
      assert.equal(b.buffer.byteLength, 0);
    }
  });

  const untouched: [string, () => Uint8Array][] = [
    ['a small Buffer from the shared pool', () => Buffer.from('pooled bytes')],
    ['a view into part of a larger buffer', () => new Uint8Array(1024).subarray(0, 512)],
    ['a view that starts past its buffer\'s start', () => new Uint8Array(1024).subarray(1)],
    ['shared memory', () => new Uint8Array(new SharedArrayBuffer(4096))],
    ['a WebAssembly memory', () => new Uint8Array(new (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly.Memory({ initial: 1 }).buffer)],
    ['an empty buffer', () => new Uint8Array(0)],
  ];
  for (const [what, make] of untouched) {
    it(`leaves ${what} alone`, () => {
      const b = make();
      const n = b.byteLength;
      b.fill(7);
      releaseBytes([b]);
      assert.equal(b.byteLength, n);
      assert.ok(b.every((x) => x === 7));
    });
  }

  it('skips a buffer already released', () => {
    const b = Buffer.allocUnsafeSlow(4096);
    releaseBytes([b]);
    assert.doesNotThrow(() => releaseBytes([b]));
    assert.equal(b.byteLength, 0);
  });
});
