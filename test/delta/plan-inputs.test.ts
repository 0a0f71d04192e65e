/**
 * The planning decisions of a sync (delta/plan-inputs.ts) as tables: which
 * image a hint set applies to (with a fake probe), when the target's
 * metadata is read, which guess layers, what a failed metadata read means.
 * No files, no network.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { infoHashFromBytes, type InfoHash } from '../../src/core/ids.js';
import { IsosyncError } from '../../src/errors.js';
import { encodeHints, type HintSet } from '../../src/delta/hint-format.js';
import { chooseHints, guessLayers, HINTED_READ_AHEAD, metadataFailure, metadataPolicy, planLayers, reusedBySource, type ImageFacts, type Verdict } from '../../src/delta/plan-inputs.js';
import { buildPlan } from '../../src/delta/plan.js';
import { segmentArray } from '../../src/delta/segments.js';
import { decodeBencode } from '../../src/torrent/bencode-decode.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';

const hash = (n: number) => new Uint8Array(20).fill(n);
const H = (n: number): InfoHash => infoHashFromBytes(hash(n));
const set = (direction: 'from' | 'to', other: number, target = 0): HintSet => ({ direction, other: hash(other), runs: [{ target, source: 0, length: 10 }], zeros: [] });
/** Hints as they sit decoded in an info dictionary. */
const raw = (...sets: HintSet[]) => decodeBencode(encodeBencode(encodeHints({ sets }) as never)).value;
const image = (index: number, o: Partial<ImageFacts> = {}): ImageFacts => ({ index, size: 100, via: 'from', ...o });

/** A probe that answers per image index, and records what it was asked. */
function probe(answers: Record<number, Verdict>) {
  const asked: number[] = [];
  return { asked, fn: async (_s: HintSet, img: ImageFacts) => (asked.push(img.index), answers[img.index] ?? 'no') };
}

describe('which image a hint set applies to', () => {
  it('a "from" set tries the image the catalog says is its release first, then images of unknown release', async () => {
    const p = probe({ 2: 'yes' });
    const r = await chooseHints({ length: 100, infoHash: H(9), hints: raw(set('from', 1)) }, [image(0, { infoHash: H(5) }), image(1), image(2, { infoHash: H(1) })], p.fn);
    assert.deepEqual(p.asked, [2], 'the known one first, and it proved right');
    assert.deepEqual([...r.use], [[2, 'from']]);
    assert.equal(r.layers.length, 1);
  });
  it('an image of unknown release that proves right learns it, without changing the source (and serves one "from" set only)', async () => {
    const img = image(0);
    const r = await chooseHints({ length: 100, hints: raw(set('from', 1), set('from', 2, 50)) }, [img], probe({ 0: 'yes' }).fn);
    assert.deepEqual([...r.learned], [[0, H(1)]]);
    assert.equal(img.infoHash, undefined, 'the image facts are not mutated');
    assert.equal(r.layers.length, 1, 'the second set found no image of unknown release left');
  });
  it('"unknown" (no whole piece covered) is accepted only for an image already known to be the release', async () => {
    const unknownRelease = await chooseHints({ length: 100, hints: raw(set('from', 1)) }, [image(0)], probe({ 0: 'unknown' }).fn);
    assert.equal(unknownRelease.layers.length, 0);
    const known = await chooseHints({ length: 100, hints: raw(set('from', 1)) }, [image(0, { infoHash: H(1) })], probe({ 0: 'unknown' }).fn);
    assert.equal(known.layers.length, 1);
  });
  it('a newer torrent\'s "to" set back to this target applies to its image (rollback)', async () => {
    const r = await chooseHints({ length: 100, infoHash: H(3), hints: undefined }, [image(0, { infoHash: H(4), newerHints: raw(set('to', 3), set('to', 7)) })], probe({ 0: 'unknown' }).fn);
    assert.deepEqual([...r.use], [[0, 'to']]);
    assert.equal(r.layers.length, 1, 'only the set back to this target');
  });
  it('a registered copy of the target itself comes first, as one exact layer', async () => {
    const r = await chooseHints({ length: 100, hints: raw(set('from', 1)) }, [image(0, { infoHash: H(1) }), image(1, { via: 'self' })], probe({ 0: 'yes' }).fn);
    assert.deepEqual(r.layers[0]!.toArray(), [{ start: 0, end: 100, source: 1, sourceOffset: 0, reason: 'same-file' }]);
  });
  it("malformed hints are ignored with the error kept (the sync warns), not thrown", async () => {
    const r = await chooseHints({ length: 100, hints: 42 }, [image(0)], probe({}).fn);
    assert.ok(r.ignored instanceof IsosyncError);
    assert.equal(r.layers.length, 0);
  });
});

describe('when the target\'s metadata is read', () => {
  const rows: [string, Parameters<typeof metadataPolicy>[0], ReturnType<typeof metadataPolicy>][] = [
    ['no local source: not read (nothing could map onto it)', { sources: 0, sourcesCoveredByHints: 0, hintLayers: 0, deferHinted: true }, { read: false, deferred: false, hintsCoverAll: false, readAhead: 0 }],
    ['sources, no hints: read', { sources: 2, sourcesCoveredByHints: 0, hintLayers: 0, deferHinted: true }, { read: true, deferred: false, hintsCoverAll: false, readAhead: 0 }],
    ['hints cover every source, sync: deferred', { sources: 1, sourcesCoveredByHints: 1, hintLayers: 1, deferHinted: true }, { read: false, deferred: true, hintsCoverAll: true, readAhead: HINTED_READ_AHEAD }],
    ['hints cover every source, plan: read (it lists changed files)', { sources: 1, sourcesCoveredByHints: 1, hintLayers: 1, deferHinted: false }, { read: true, deferred: false, hintsCoverAll: true, readAhead: HINTED_READ_AHEAD }],
    ['hints cover one of two sources: read', { sources: 2, sourcesCoveredByHints: 1, hintLayers: 1, deferHinted: true }, { read: true, deferred: false, hintsCoverAll: false, readAhead: HINTED_READ_AHEAD }],
  ];
  for (const [name, input, want] of rows) it(name, () => assert.deepEqual(metadataPolicy(input), want));
});

describe('guess layers and a failed metadata read', () => {
  it('the mapping\'s guesses when there is one; none when the hints are exact; else same-offset guesses', () => {
    const g = [[{ start: 0, end: 1, source: 0, sourceOffset: 0, reason: 'zero' as const }]];
    assert.equal(guessLayers({ mappingGuesses: g, deferred: false, targetLength: 10, images: [] }), g);
    assert.deepEqual(guessLayers({ deferred: true, targetLength: 10, images: [image(0)] }), []);
    assert.ok(guessLayers({ deferred: false, targetLength: 10, images: [image(0)] }).length > 0);
  });
  it('with nested images: their free space joins the first guess layer, the containers\' whole-file mapping comes last', () => {
    const seg = (start: number, reason: 'zero' | 'moved-file') => ({ start, end: start + 1, source: 0, sourceOffset: 0, reason });
    const nested = { verified: [], exact: [], freeGuesses: [seg(5, 'zero')], containerGuesses: [seg(7, 'moved-file')] };
    assert.deepEqual(guessLayers({ mappingGuesses: [[seg(0, 'zero')], [seg(2, 'zero')]], nested, deferred: false, targetLength: 10, images: [] }).map(segmentArray), [[seg(0, 'zero'), seg(5, 'zero')], [seg(2, 'zero')], [seg(7, 'moved-file')]]);
  });
  it('plan layers: from the hints alone when they cover every source; else with the nested and ISO mappings, in that order', () => {
    const seg = (start: number) => ({ start, end: start + 1, source: 0, sourceOffset: 0, reason: 'hint' as const });
    const nested = { verified: [seg(3)], exact: [seg(4)], freeGuesses: [], containerGuesses: [] };
    const base = { part: [seg(0)], hints: [[seg(1)]], cached: [seg(2)], nested, isoExact: [seg(5)], guesses: [[seg(6)]] };
    assert.deepEqual(planLayers({ ...base, hintsCoverAll: true }), { exact: [[seg(0)], [seg(1)], [seg(2)]], guesses: [] });
    assert.deepEqual(planLayers({ ...base, hintsCoverAll: false }), { exact: [[seg(0)], [seg(1)], [seg(2)], [seg(3)], [seg(4)], [seg(5)]], guesses: [[seg(6)]] });
  });
  it('a network failure fails the sync when there is a source to fetch from; other failures become a note', () => {
    const net = new IsosyncError('NETWORK', 'x');
    assert.deepEqual(metadataFailure(net, true), { fail: true });
    assert.equal(metadataFailure(net, false).fail, false);
    assert.equal(metadataFailure(new IsosyncError('BAD_ISO', 'y'), true).fail, false);
  });
  it('counts the bytes each source gives (exact and first guess)', () => {
    const plan = buildPlan({ length: 100, pieceLength: 50 }, [[{ start: 0, end: 30, source: 0, sourceOffset: 0, reason: 'hint' }]], [[{ start: 30, end: 40, source: 1, sourceOffset: 30, reason: 'same-offset' }]]);
    assert.deepEqual([...reusedBySource(plan)], [[0, 30], [1, 10]]);
  });
});
