/** The ranges one web seed request asks: runs closer than a multipart part's framing joined. Table, no sockets. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MULTIPART_PART_BYTES } from '../../src/core/ports.js';
import { requestRanges } from '../../src/webseed/coalesce.js';

const spans = (s: string) => (s ? s.split(' ').map((x) => ({ start: Number(x.split('-')[0]), end: Number(x.split('-')[1]) })) : []);
const text = (x: readonly { start: number; end: number }[]) => x.map((r) => `${r.start}-${r.end}`).join(' ');

describe('request ranges', () => {
  const P = MULTIPART_PART_BYTES;
  const rows: [string, string, string][] = [
    ['nothing', '', ''],
    ['one run stays whole', '0-10', '0-10'],
    ['one run far from nothing stays', '500-600', '500-600'],
    ['a gap of one byte is joined', '0-64 65-129', '0-129'],
    ['a gap just under a part is joined', `0-64 ${64 + P - 1}-${128 + P}`, `0-${128 + P}`],
    ['a gap of a whole part is not', `0-64 ${64 + P}-${128 + P}`, `0-64 ${64 + P}-${128 + P}`],
    ['samples of a changed block: near ones joined, far ones kept apart', '1000-1064 1100-1164 9000-9064 20000-20064 20080-20144', '1000-1164 9000-9064 20000-20144'],
    ['a chain of close runs becomes one range', '0-10 20-30 40-50 60-70', '0-70'],
  ];
  for (const [name, runs, want] of rows) it(name, () => assert.equal(text(requestRanges(spans(runs))), want));

  it('a smaller framing joins fewer runs', () => {
    assert.equal(text(requestRanges(spans('0-10 40-50 100-110'), 30)), '0-10 40-50 100-110');
    assert.equal(text(requestRanges(spans('0-10 40-50 100-110'), 51)), '0-110');
  });
});
