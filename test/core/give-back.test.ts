/**
 * core/give-back.ts: a large array handed back is detached at once (its
 * memory goes at the next scavenge, not the next full collection); small
 * arrays and views of part of a buffer are left as they are.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { giveBack } from '../../src/core/give-back.js';
import { FileTableBuilder } from '../../src/layouts/file-table.js';

const cases: { name: string; make: () => Float64Array | Uint8Array; detached: boolean }[] = [
  { name: 'a large array', make: () => new Float64Array(1 << 16), detached: true },
  { name: 'a small array', make: () => new Uint8Array(1024), detached: false },
  { name: 'a view of part of a large buffer', make: () => new Uint8Array(1 << 20).subarray(4096), detached: false },
  { name: 'a view of all of a large buffer from byte 0', make: () => new Uint8Array(new ArrayBuffer(1 << 20)), detached: true },
];

for (const c of cases) {
  test(`giveBack: ${c.name} is ${c.detached ? '' : 'not '}detached`, () => {
    const a = c.make();
    const length = a.length;
    giveBack(a);
    assert.equal(a.length, c.detached ? 0 : length);
    assert.equal(a.buffer.byteLength === 0, c.detached);
  });
}

test('giveBack of a view of part of a large buffer, told it is the whole buffer, detaches it', () => {
  const a = new Uint8Array(1 << 20).subarray(4096, 8192);
  giveBack(a, true);
  assert.equal(a.length, 0);
  assert.equal(a.buffer.byteLength, 0);
});

const leftAlone: [string, () => Uint8Array][] = [
  ['shared memory', () => new Uint8Array(new SharedArrayBuffer(1 << 20))],
  ['a WebAssembly memory', () => new Uint8Array(new (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly.Memory({ initial: 2 }).buffer)],
  ['a Buffer from the shared pool', () => Buffer.from('pooled bytes')],
];
for (const [what, make] of leftAlone) {
  test(`giveBack leaves ${what} as it is`, () => {
    const a = make();
    const n = a.byteLength;
    a.fill(7);
    giveBack(a);
    assert.equal(a.byteLength, n);
    assert.ok(a.every((x) => x === 7));
  });
}

test('giveBack of an array already given back does nothing', () => {
  const a = Buffer.allocUnsafeSlow(1 << 20);
  giveBack(a);
  assert.equal(a.byteLength, 0);
  assert.doesNotThrow(() => giveBack(a));
});

test('giveBack of nothing does nothing', () => {
  assert.doesNotThrow(() => giveBack(undefined));
});

test("a table whose builder handed its columns back reads every entry (large enough for the columns to be given back)", () => {
  const n = 20_000;
  const b = new FileTableBuilder(n);
  b.add(-1, '/', { type: 'dir', size: 0 });
  for (let i = 1; i < n; i++) b.add(0, `f${(n - i).toString().padStart(6, '0')}`, { type: 'file', size: i, chunks: [i * 10, i * 10 + 5], ref: i, mode: 0o644 });
  const t = b.finish();
  assert.equal(t.count, n);
  assert.equal(t.path(1), '/f000001');
  assert.equal(t.size(1), n - 1);
  assert.deepEqual([...t.chunks(1)], [(n - 1) * 10, (n - 1) * 10 + 5]);
  assert.equal(t.ref(n - 1), 1);
  assert.equal(t.path(n - 1), `/f${String(n - 1).padStart(6, '0')}`);
});
