import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideUpdate, exitCode, imagesToPrune, rollbackTarget, EXIT_CODES, type Installed, type Outcome } from '../../src/feed/update-plan.js';
import type { InfoHash } from '../../src/torrent/info-hash.js';
import { entry } from './samples.js';

const H = (r: string) => r.replace('.', '').padStart(40, '0') as InfoHash;
const img = (release: string, dir = '/imgs'): Installed => ({ release, infoHash: H(release), path: `${dir}/d-${release}.iso` });
const feed = ['1.10', '1.9', '1.2'].map((r) => entry(r, H(r)));

describe('decideUpdate', () => {
  const table: [string, InfoHash | null, Installed[], string][] = [
    ['nothing installed: install the newest, from nothing', null, [], 'install 1.10 from -'],
    ['an older release in use: install the newest from the newest image on disk', H('1.2'), [img('1.2'), img('1.9')], 'install 1.10 from 1.9'],
    ['the newest in use and on disk: up to date', H('1.10'), [img('1.10'), img('1.9')], 'up-to-date 1.10'],
    ['the newest in use but its image deleted: install it again', H('1.10'), [img('1.9')], 'install 1.10 from 1.9'],
    ['rolled back with the newest still on disk: switch back to it', H('1.9'), [img('1.10'), img('1.9')], 'install 1.10 from 1.10'],
  ];
  for (const [what, current, installed, want] of table) {
    it(what, () => {
      const d = decideUpdate(feed, current, installed);
      const got = d.kind === 'install' ? `install ${d.target.release} from ${d.from?.release ?? '-'}` : d.kind === 'up-to-date' ? `up-to-date ${d.newest.release}` : d.kind;
      assert.equal(got, want);
    });
  }
  it('an empty feed: nothing to install', () => assert.equal(decideUpdate([], null, []).kind, 'empty'));
});

describe('imagesToPrune', () => {
  const inDir = (p: string) => p.startsWith('/imgs/');
  const table: [string, Installed[], string, number, string[]][] = [
    ['keep 1: the newest previous stays, older ones go', [img('1.2'), img('1.9'), img('1.10')], '1.10', 1, ['1.2']],
    ['keep 0: only the release in use stays', [img('1.2'), img('1.9'), img('1.10')], '1.10', 0, ['1.9', '1.2']],
    ['keep 5: all stay', [img('1.2'), img('1.9'), img('1.10')], '1.10', 5, []],
    ['images outside the update folder are never removed', [img('1.2', '/home/u'), img('1.9'), img('1.10')], '1.10', 0, ['1.9']],
    ['two copies of a kept release both stay', [img('1.9'), { ...img('1.9'), path: '/imgs/copy.iso' }, img('1.2'), img('1.10')], '1.10', 1, ['1.2']],
  ];
  for (const [what, installed, current, keep, want] of table) {
    it(what, () => assert.deepEqual(imagesToPrune(installed, H(current), keep, inDir).map((i) => i.release), want));
  }
});

describe('rollbackTarget', () => {
  const current = { release: '1.10', infoHash: H('1.10'), lineage: [{ release: '1.9', infoHash: H('1.9') }, { release: '1.2', infoHash: H('1.2') }] };
  it('defaults to the nearest earlier release of the signed lineage', () => assert.equal(rollbackTarget(current, feed)?.release, '1.9'));
  it('goes to a release of the lineage by name', () => assert.equal(rollbackTarget(current, feed, '1.2')?.infoHash, H('1.2')));
  it('goes to a release the feed lists but the lineage does not', () => assert.equal(rollbackTarget({ ...current, lineage: [] }, feed, '1.2')?.infoHash, H('1.2')));
  it('says there is nothing to do for the release in use', () => assert.equal(rollbackTarget(current, feed, '1.10'), undefined));
  it('refuses an unknown release, listing the known ones', () => assert.throws(() => rollbackTarget(current, feed, '0.1'), /Cannot roll back to "0\.1": .* \(known: 1\.9, 1\.2\)/));
  it('refuses when the lineage is empty and no release is named', () => assert.throws(() => rollbackTarget({ ...current, lineage: [] }, feed), /names no earlier release/));
});

describe('exitCode', () => {
  const table: [Outcome[], number][] = [
    [['applied'], EXIT_CODES.applied],
    [['up-to-date'], EXIT_CODES.upToDate],
    [[], EXIT_CODES.upToDate],
    [['available'], EXIT_CODES.available],
    [['refused'], EXIT_CODES.refused],
    [['failed'], EXIT_CODES.failed],
    [['applied', 'up-to-date'], EXIT_CODES.applied],
    [['applied', 'failed'], EXIT_CODES.failed],
    [['failed', 'refused', 'applied'], EXIT_CODES.refused],
    [['available', 'up-to-date'], EXIT_CODES.available],
  ];
  for (const [outcomes, code] of table) it(`${JSON.stringify(outcomes)} -> ${code}`, () => assert.equal(exitCode(outcomes), code));
  it('gives every outcome its own code', () => assert.equal(new Set(Object.values(EXIT_CODES)).size, Object.keys(EXIT_CODES).length));
});
