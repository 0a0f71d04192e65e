import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileTableBuilder } from '../../src/layouts/file-table.js';

test('evidence given as numbers reads back as the string a reader would have written', () => {
  const b = new FileTableBuilder();
  const root = b.add(-1, '/', { type: 'dir', size: 0 });
  b.add(root, 'b', { type: 'file', size: 9000, chunks: [4096, 8192, 8192, 9000], las: [0, 5000] });
  b.add(root, 'a', { type: 'file', size: 9000, chunks: [4096, 8192, 8192, 9000], evidence: '0.3uw' });
  b.add(root, 'c', { type: 'file', size: 10, chunks: [0, 10], las: [7, 9] });
  b.add(root, 'd', { type: 'file', size: 10, chunks: [0, 10], las: [] });
  const t = b.finish();
  assert.deepEqual(Array.from({ length: t.count }, (_, i) => [t.path(i), t.evidence(i)]), [
    ['/', undefined],
    ['/a', '0.3uw'],
    ['/b', '0.3uw'],
    // Not one start per chunk: kept as given, as a string.
    ['/c', '7.9'],
    ['/d', undefined],
  ]);
  assert.equal(t.get(1).evidence, t.get(2).evidence);
});
