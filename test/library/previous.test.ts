import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLineage, MAX_LINEAGE, releaseLabelOf, type PreviousRelease } from '../../src/library/previous.js';
import type { InfoHash } from '../../src/torrent/info-hash.js';

const h = (n: number) => n.toString(16).padStart(40, '0') as InfoHash;
const prev = (n: number, lineage: number[], product = 'distro'): PreviousRelease => ({
  infoHash: h(n),
  release: `r${n}`,
  product,
  lineage: lineage.map((x) => ({ release: `r${x}`, infoHash: h(x) })),
  via: 'catalog',
});

describe('lineage', () => {
  it('lists the predecessors, then their lineages, nearest first, without duplicates', () => {
    const got = buildLineage([prev(5, [4, 3]), prev(9, [4, 2])], { product: 'distro', release: 'r10' });
    assert.deepEqual(got.map((e) => e.release), ['r5', 'r9', 'r4', 'r3', 'r2']);
  });

  it(`stops at ${MAX_LINEAGE} entries`, () => {
    const got = buildLineage([prev(20, [19, 18, 17, 16, 15, 14, 13, 12, 11])], { product: 'distro', release: 'r21' });
    assert.equal(got.length, MAX_LINEAGE);
    assert.equal(got.at(-1)?.release, 'r13');
  });

  it('leaves out the release being published (a republish names itself as previous)', () => {
    const got = buildLineage([prev(7, [6])], { product: 'distro', release: 'r7' });
    assert.deepEqual(got.map((e) => e.release), ['r6']);
  });

  it('labels an image or torrent file by its name without the extension', () => {
    assert.equal(releaseLabelOf('distro-1.00.iso'), 'distro-1.00');
    assert.equal(releaseLabelOf('distro-1.00.torrent'), 'distro-1.00');
    assert.equal(releaseLabelOf('disk.raw'), 'disk.raw');
  });
});
