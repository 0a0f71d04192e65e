import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { globToRegExp, selectEntries } from '../../src/iso/select.js';
import type { IsoEntry } from '../../src/iso/index.js';
import { cli, fixture, tempDir } from '../helpers/env.js';

const BASE = fixture('defects', 'iso', 'base.iso');

test('ls prints one line per entry with type, size, first block, path and symlink target', () => {
  const r = cli(['ls', BASE]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^T +SIZE +LBA PATH$/);
  assert.ok(lines.some((l) => /^- +6 +\d+ \/hello\.txt$/.test(l)));
  assert.ok(lines.some((l) => /^l +0 +\d+ \/s -> \/tmp$/.test(l)));
  assert.ok(lines.some((l) => /^d +2048 +\d+ \/docs$/.test(l)));
});

test('every ls row is its --json entry in the columns of the header', () => {
  const rows = cli(['ls', BASE]).stdout.split('\n').slice(0, -1);
  const entries = JSON.parse(cli(['ls', '--json', BASE]).stdout) as { path: string; type: 'file' | 'dir' | 'symlink'; size: number; lba: number; target?: string }[];
  const header = /^T( +SIZE)( +LBA) PATH$/.exec(rows[0]!);
  assert.ok(header, rows[0]);
  const [sizeW, lbaW] = [header[1]!.length - 1, header[2]!.length - 1];
  const letter = { file: '-', dir: 'd', symlink: 'l' };
  assert.deepEqual(rows.slice(1), entries.map((e) => `${letter[e.type]} ${String(e.size).padStart(sizeW)} ${String(e.lba).padStart(lbaW)} ${e.path}${e.target !== undefined ? ` -> ${e.target}` : ''}`));
});

test('ls --json gives path, type, size, lba, extents, target, mode and mtime', () => {
  const entries = JSON.parse(cli(['ls', '--json', BASE]).stdout) as Record<string, unknown>[];
  const hello = entries.find((e) => e['path'] === '/hello.txt')!;
  assert.equal(hello['type'], 'file');
  assert.equal(hello['size'], 6);
  assert.deepEqual(hello['extents'], [{ lba: hello['lba'], size: 6 }]);
  assert.equal(hello['mtime'], '2023-11-14T22:13:20.000Z');
  assert.equal(typeof hello['mode'], 'number');
  assert.equal(entries.find((e) => e['path'] === '/s')!['target'], '/tmp');
  assert.deepEqual(entries.map((e) => e['path']), [...entries.map((e) => e['path'] as string)].sort());
});

test('regions prints merged runs and --json the full, gapless list', () => {
  const human = cli(['regions', BASE]);
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, /^0-15 +32768 system-area/m);
  assert.match(human.stdout, /boot-catalog/);
  const regions = JSON.parse(cli(['regions', '--json', BASE]).stdout) as { start: number; end: number; kind: string }[];
  assert.equal(regions[0]!.start, 0);
  assert.equal(regions.at(-1)!.end, readFileSync(BASE).length);
  for (let i = 1; i < regions.length; i++) assert.equal(regions[i]!.start, regions[i - 1]!.end);
});

test('extract with globs writes only the selected entries, with modes, mtimes, symlinks and hard links', () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'out');
    const r = cli(['extract', BASE, 'docs', '/s', 'many/file-number-1?', '--json', '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as Record<string, number>;
    assert.equal(summary['files'], 11); // readme.txt + file-number-10..19
    assert.equal(summary['hardlinks'], 1); // readme-link.txt
    assert.equal(summary['symlinks'], 1);
    assert.equal(readFileSync(join(out, 'docs', 'readme.txt'), 'utf8'), 'read me\n');
    assert.equal(lstatSync(join(out, 'docs', 'readme.txt')).ino, lstatSync(join(out, 'docs', 'readme-link.txt')).ino);
    assert.equal(readlinkSync(join(out, 's')), '/tmp');
    assert.equal(lstatSync(join(out, 'docs', 'readme.txt')).mtimeMs, 1_700_000_000_000);
    assert.equal(existsSync(join(out, 'hello.txt')), false);
    assert.equal(existsSync(join(out, 'many', 'file-number-1')), false);
    assert.equal(existsSync(join(out, 'many', 'file-number-12')), true);
  } finally {
    cleanup();
  }
});

test('extract without -o and with a pattern matching nothing fail with exit 2', () => {
  assert.equal(cli(['extract', BASE]).status, 2);
  const { dir, cleanup } = tempDir();
  try {
    const r = cli(['extract', BASE, 'nope/*', '-o', join(dir, 'o')]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `isosync: Cannot select "nope/*" in ${JSON.stringify(BASE)}: no entry matches\n`);
  } finally {
    cleanup();
  }
});

test('globs: * and ? stay within a component, ** crosses components', () => {
  assert.ok(globToRegExp('docs/*.txt').test('/docs/a.txt'));
  assert.ok(!globToRegExp('docs/*.txt').test('/docs/x/a.txt'));
  assert.ok(globToRegExp('/docs/**/a.txt').test('/docs/a.txt'));
  assert.ok(globToRegExp('/docs/**/a.txt').test('/docs/x/y/a.txt'));
  assert.ok(globToRegExp('**.deb').test('/pool/main/a/a_1.deb'));
  assert.ok(globToRegExp('a?c').test('/abc') && !globToRegExp('a?c').test('/a/c'));
  const e = (path: string, type: IsoEntry['type'] = 'file'): IsoEntry => ({ path, name: path.slice(path.lastIndexOf('/') + 1), type, size: 0, lba: 0, extents: [], recordOffset: 0 });
  const all = [e('/', 'dir'), e('/d', 'dir'), e('/d/x'), e('/d2'), e('/e')];
  assert.deepEqual(selectEntries(all, ['d'], 'i').map((x) => x.path), ['/d', '/d/x']);
});
