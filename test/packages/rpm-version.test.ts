/**
 * rpmvercmp against the cases of rpm's own test suite (tests/rpmvercmp.at,
 * including the tilde and caret cases and the "oddities" it documents), and
 * epoch:version-release ordering.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareRpmEvr, compareRpmVersions, formatRpmEvr, parseRpmEvr, rpmvercmp } from '../../src/packages/rpm-version.js';
import { IsosyncError } from '../../src/errors.js';

// [a, b, expected] exactly as RPMVERCMP(a, b, expected) in rpm's tests/rpmvercmp.at.
const RPM_CASES: Array<[string, string, -1 | 0 | 1]> = [
  ['1.0', '1.0', 0], ['1.0', '2.0', -1], ['2.0', '1.0', 1],
  ['2.0.1', '2.0.1', 0], ['2.0', '2.0.1', -1], ['2.0.1', '2.0', 1],
  ['2.0.1a', '2.0.1a', 0], ['2.0.1a', '2.0.1', 1], ['2.0.1', '2.0.1a', -1],
  ['5.5p1', '5.5p1', 0], ['5.5p1', '5.5p2', -1], ['5.5p2', '5.5p1', 1],
  ['5.5p10', '5.5p10', 0], ['5.5p1', '5.5p10', -1], ['5.5p10', '5.5p1', 1],
  ['10xyz', '10.1xyz', -1], ['10.1xyz', '10xyz', 1],
  ['xyz10', 'xyz10', 0], ['xyz10', 'xyz10.1', -1], ['xyz10.1', 'xyz10', 1],
  ['xyz.4', 'xyz.4', 0], ['xyz.4', '8', -1], ['8', 'xyz.4', 1], ['xyz.4', '2', -1], ['2', 'xyz.4', 1],
  ['5.5p2', '5.6p1', -1], ['5.6p1', '5.5p2', 1],
  ['5.6p1', '6.5p1', -1], ['6.5p1', '5.6p1', 1],
  ['6.0.rc1', '6.0', 1], ['6.0', '6.0.rc1', -1],
  ['10b2', '10a1', 1], ['10a2', '10b2', -1],
  ['1.0aa', '1.0aa', 0], ['1.0a', '1.0aa', -1], ['1.0aa', '1.0a', 1],
  ['10.0001', '10.0001', 0], ['10.0001', '10.1', 0], ['10.1', '10.0001', 0],
  ['10.0001', '10.0039', -1], ['10.0039', '10.0001', 1],
  ['4.999.9', '5.0', -1], ['5.0', '4.999.9', 1],
  ['20101121', '20101121', 0], ['20101121', '20101122', -1], ['20101122', '20101121', 1],
  ['2_0', '2_0', 0], ['2.0', '2_0', 0], ['2_0', '2.0', 0],
  // RhBug:178798
  ['a', 'a', 0], ['a+', 'a+', 0], ['a+', 'a_', 0], ['a_', 'a+', 0], ['+a', '+a', 0], ['+a', '_a', 0],
  ['_a', '+a', 0], ['+_', '+_', 0], ['_+', '+_', 0], ['_+', '_+', 0], ['+', '_', 0], ['_', '+', 0],
  // tilde
  ['1.0~rc1', '1.0~rc1', 0], ['1.0~rc1', '1.0', -1], ['1.0', '1.0~rc1', 1],
  ['1.0~rc1', '1.0~rc2', -1], ['1.0~rc2', '1.0~rc1', 1],
  ['1.0~rc1~git123', '1.0~rc1~git123', 0], ['1.0~rc1~git123', '1.0~rc1', -1], ['1.0~rc1', '1.0~rc1~git123', 1],
  // caret
  ['1.0^', '1.0^', 0], ['1.0^', '1.0', 1], ['1.0', '1.0^', -1],
  ['1.0^git1', '1.0^git1', 0], ['1.0^git1', '1.0', 1], ['1.0', '1.0^git1', -1],
  ['1.0^git1', '1.0^git2', -1], ['1.0^git2', '1.0^git1', 1],
  ['1.0^git1', '1.01', -1], ['1.01', '1.0^git1', 1],
  ['1.0^20160101', '1.0^20160101', 0], ['1.0^20160101', '1.0.1', -1], ['1.0.1', '1.0^20160101', 1],
  ['1.0^20160101^git1', '1.0^20160101^git1', 0], ['1.0^20160102', '1.0^20160101^git1', 1],
  ['1.0^20160101^git1', '1.0^20160102', -1],
  // tilde and caret
  ['1.0~rc1^git1', '1.0~rc1^git1', 0], ['1.0~rc1^git1', '1.0~rc1', 1], ['1.0~rc1', '1.0~rc1^git1', -1],
  ['1.0^git1~pre', '1.0^git1~pre', 0], ['1.0^git1', '1.0^git1~pre', 1], ['1.0^git1~pre', '1.0^git1', -1],
  // the "oddities" rpm documents as current behaviour (RhBug:811992, non-ASCII letters are separators)
  ['1b.fc17', '1b.fc17', 0], ['1b.fc17', '1.fc17', -1], ['1.fc17', '1b.fc17', 1],
  ['1g.fc17', '1g.fc17', 0], ['1g.fc17', '1.fc17', 1], ['1.fc17', '1g.fc17', -1],
  ['1.1.α', '1.1.α', 0], ['1.1.α', '1.1.β', 0], ['1.1.β', '1.1.α', 0],
  ['1.1.αα', '1.1.α', 0], ['1.1.α', '1.1.ββ', 0], ['1.1.ββ', '1.1.αα', 0],
];

test('rpmvercmp agrees with every case of rpm\'s tests/rpmvercmp.at', () => {
  const wrong = RPM_CASES.filter(([a, b, want]) => rpmvercmp(a, b) !== want)
    .map(([a, b, want]) => `rpmvercmp(${a}, ${b}) = ${rpmvercmp(a, b)}, want ${want}`);
  assert.deepEqual(wrong, []);
  assert.ok(RPM_CASES.length > 90);
});

test('rpmvercmp compares digit runs of any length without overflow', () => {
  assert.equal(rpmvercmp('1.123456789012345678901234567890', '1.123456789012345678901234567891'), -1);
  assert.equal(rpmvercmp('000000000000000000000000000000042', '42'), 0);
});

test('EVR comparison orders by epoch first, then version, then release', () => {
  assert.equal(compareRpmVersions('1:1.0-1', '2.0-1'), 1);
  assert.equal(compareRpmVersions('0:1.0-1', '1.0-1'), 0);
  assert.equal(compareRpmVersions('1.0-2', '1.0-10'), -1);
  assert.equal(compareRpmVersions('1.0-1.el9', '1.0-1.el9_1'), -1);
  assert.equal(compareRpmVersions('2.0~beta-1', '2.0-1'), -1);
  // a missing release matches any release, as rpmverCmp does
  assert.equal(compareRpmEvr({ version: '1.0' }, { version: '1.0', release: '5' }), 0);
});

test('EVR parsing keeps epoch, version and release apart and formats them back', () => {
  assert.deepEqual(parseRpmEvr('3:4.18.0-513.el8'), { epoch: 3, version: '4.18.0', release: '513.el8' });
  assert.deepEqual(parseRpmEvr('1.0'), { version: '1.0' });
  assert.equal(formatRpmEvr({ epoch: 0, version: '1', release: '2' }), '1-2');
  assert.equal(formatRpmEvr({ epoch: 2, version: '1', release: '2' }), '2:1-2');
  assert.throws(() => parseRpmEvr('1:'), (e: unknown) => e instanceof IsosyncError && /^Cannot parse RPM version "1:"/.test(e.message));
});
