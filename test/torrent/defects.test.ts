/**
 * Every defect fixture (fixtures/defects/torrent, made by make-defects.mjs)
 * gives its one-line error and exit code 2 through the real CLI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, fixture, tempDir } from '../helpers/env.js';

const DIR = fixture('defects', 'torrent');

const EXPECTED: Record<string, string> = {
  'missing-pieces-key': 'info.pieces is missing',
  'pieces-not-multiple-of-20': 'info.pieces length 59 is not a multiple of 20',
  'negative-length': 'info.length -1 is negative',
  'missing-length': 'info.length is missing',
  'non-integer-length': 'info.length is a byte string ("98204"), expected an integer',
  'zero-length': 'info.length 0 is not positive',
  'length-disagrees-with-piece-count': 'info.length 327680 needs 10 pieces of 32768 bytes, but info.pieces holds 3',
  'bad-utf8-name': 'info.name 0x64697374726f2dfffe2e69736f is not valid UTF-8',
  'name-with-slash': 'info.name "isos/distro-1.01.iso" contains "/"',
  'name-dotdot': 'info.name ".." is not a file name',
  'empty-name': 'info.name is empty',
  'missing-name': 'info.name is missing',
  'piece-length-not-power-of-two': 'info.piece length 30000 is not a positive power of two',
  'piece-length-zero': 'info.piece length 0 is not a positive power of two',
  'unsorted-keys': 'dictionary keys are not sorted: "length" at byte 103 comes after "name"',
  'duplicate-keys': 'duplicate dictionary key "name" at byte 118',
  'trailing-garbage': '8 bytes of trailing data after the top-level value (at byte 213)',
  'nested-lists-deep': 'lists and dictionaries nested deeper than 64 levels at byte 285',
  'nested-dicts-deep': 'lists and dictionaries nested deeper than 64 levels at byte 474',
  'integer-leading-zero': 'integer "098204" at byte 87 is not canonical (leading zero or -0)',
  'integer-negative-zero': 'integer "-0" at byte 220 is not canonical (leading zero or -0)',
  'string-longer-than-input': 'byte string at byte 11 declares length 999999, past the end of the data (26 bytes left)',
  truncated: 'byte string at byte 148 has no ":" after its length',
  'top-level-list': 'the top level is a list, expected a dictionary',
  'missing-info': 'info is missing',
  'info-not-a-dictionary': 'info is a byte string ("distro-1.01.iso"), expected a dictionary',
  'length-and-files': 'info has both length and files',
  'multi-file-path-dotdot': 'info.files[0].path[0] ".." is not a file name',
  'multi-file-empty-path': 'info.files[0].path is an empty list',
  'private-not-boolean': 'info.private 2 is not 0 or 1',
  'announce-list-not-list-of-lists': 'announce-list[0] is a byte string ("http://127.0.0.1:6969/announce"), expected a list',
  'url-list-integer': 'url-list is an integer (7), expected a byte string or a list',
  'similar-wrong-length': 'info.similar[0] has length 19, expected 20',
  'isosync-lineage-bad-infohash': 'info.x-isosync.lineage[0].infohash has length 10, expected 20',
  'isosync-missing-product': 'info.x-isosync.product is missing',
};

describe('torrent defect fixtures', () => {
  it('has exactly one fixture per expected defect', () => {
    const names = readdirSync(DIR).filter((f) => f.endsWith('.torrent')).map((f) => f.slice(0, -'.torrent'.length)).sort();
    assert.deepEqual(names, Object.keys(EXPECTED).sort());
  });

  it('are what make-defects.mjs makes (the script is deterministic and the committed files are current)', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const r = spawnSync(process.execPath, [join(DIR, 'make-defects.mjs'), tmp.dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const name of Object.keys(EXPECTED)) {
      assert.deepEqual(readFileSync(join(tmp.dir, `${name}.torrent`)), readFileSync(join(DIR, `${name}.torrent`)), name);
    }
  });

  for (const [name, detail] of Object.entries(EXPECTED)) {
    it(`${name}.torrent gives its one-line error and exit code 2`, () => {
      const rel = `fixtures/defects/torrent/${name}.torrent`;
      const r = cli(['info', rel]);
      assert.equal(r.status, 2);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `isosync: Cannot read torrent ${JSON.stringify(rel)}: ${detail}\n`);
    });
  }
});
