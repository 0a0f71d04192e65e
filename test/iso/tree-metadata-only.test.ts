import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { IsoContext, SECTOR_BYTES } from '../../src/iso/context.js';
import { PVD, readDescriptors } from '../../src/iso/descriptors.js';
import { readIso } from '../../src/iso/index.js';
import { MIN_RECORD_BYTES, parseRecord } from '../../src/iso/records.js';
import { walkTree } from '../../src/iso/tree.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { fixture } from '../helpers/env.js';

test('a walk that keeps no entries reads the same metadata areas as a full walk of the Joliet tree', async () => {
  const src = new MemorySource(readFileSync(fixture('releases', 'distro-1.01.iso')));
  const ctx = new IsoContext(src, 'distro-1.01.iso');
  const set = await readDescriptors(ctx);
  const joliet = set.joliet;
  assert.ok(joliet, 'the fixture has a Joliet tree');
  const root = parseRecord(ctx, joliet.rootRecord, 0, joliet.sector * SECTOR_BYTES + PVD.rootDirectoryRecord.at, MIN_RECORD_BYTES, 'root directory record');
  const opts = { names: 'joliet' as const, blockSize: joliet.logicalBlockSize, suspSkip: 0 };
  const full = await walkTree(ctx, root, opts);
  const lean = await walkTree(ctx, root, { ...opts, entries: false });
  assert.ok(full.entries.length > 10, 'the full walk lists the files');
  assert.equal(lean.entries.length, 0);
  assert.deepEqual(lean.metadata, full.metadata);

  // readIso lists the Rock Ridge tree and still counts every Joliet directory sector as metadata.
  const img = await readIso(src, { name: 'distro-1.01.iso' });
  assert.equal(img.tree, 'rockridge');
  for (const m of full.metadata) assert.ok(img.metadata.some((x) => x.start === m.start && x.end === m.end && x.kind === m.kind), `Joliet area ${m.start}-${m.end} missing`);
});
