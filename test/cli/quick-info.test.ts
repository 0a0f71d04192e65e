/**
 * `isosync info`, `isosync ls` and `isosync extract` without commander
 * (src/cli/quick-info.ts, quick-ls.ts, quick-extract.ts): which forms bin/isosync
 * runs on the short path, and that they print (and extract) exactly what the
 * full command line (main.ts) does for the same words, reports and errors alike.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { quickInfoArgs } from '../../src/cli/quick-info.js';
import { quickExtractArgs } from '../../src/cli/quick-extract.js';
import { quickLsArgs } from '../../src/cli/quick-ls.js';
import { cli, fixture, ROOT, tempDir } from '../helpers/env.js';

/** The same words run through main.ts (commander), in a child like cli()'s. */
function viaMain(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const main = pathToFileURL(join(ROOT, 'dist', 'src', 'cli', 'main.js')).href;
  const code = `const { main } = await import(${JSON.stringify(main)}); await main(['node', 'isosync', ...${JSON.stringify(args)}]);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', input: '', env: { ...process.env, ISOSYNC_DEBUG: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('isosync info on the short path', () => {
  it('takes the plain forms only', () => {
    assert.deepEqual(quickInfoArgs(['a.torrent']), { target: 'a.torrent', json: false });
    assert.deepEqual(quickInfoArgs(['--json', 'a.torrent', '--home', 'h']), { target: 'a.torrent', json: true, home: 'h' });
    assert.deepEqual(quickInfoArgs(['a.torrent', '--home=h2']), { target: 'a.torrent', json: false, home: 'h2' });
    for (const words of [[], ['--json'], ['a', 'b'], ['a', '--help'], ['a', '-q'], ['--', 'a'], ['a', '--home'], ['a', '--home', '--json'], ['a', '--home=']]) {
      assert.equal(quickInfoArgs(words), undefined, words.join(' '));
    }
  });

  it('prints what the full command line prints, reports and errors', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const img = join(tmp.dir, 'distro-1.01.iso');
    copyFileSync(fixture('releases', 'distro-1.01.iso'), img);
    const home = join(tmp.dir, 'h');
    assert.equal(cli(['publish', img, '--previous', fixture('releases', 'distro-1.00.iso'), '--product', 'distro', '--release', '1.01', '--home', home]).status, 0);
    const cases = [
      ['info', `${img}.torrent`],
      ['info', `${img}.torrent`, '--json', '--home', home],
      ['info', join(tmp.dir, 'missing.torrent')],
      ['info', img, '--json'],
    ];
    sameAsMain(cases);
    assert.equal(cli(cases[0]!).status, 0);
    assert.notEqual(cli(cases[2]!).status, 0);
  });
});

/** Runs each case through bin/isosync and through main.ts: same exit status, stdout and stderr. */
function sameAsMain(cases: string[][]): void {
  for (const args of cases) {
      const quick = cli(args);
      const full = viaMain(args);
      assert.equal(quick.status, full.status, args.join(' '));
      assert.equal(quick.stdout, full.stdout, args.join(' '));
    assert.equal(quick.stderr, full.stderr, args.join(' '));
  }
}

describe('isosync ls on the short path', () => {
  it('takes the plain forms only', () => {
    assert.deepEqual(quickLsArgs(['a.iso']), { image: 'a.iso', json: false });
    assert.deepEqual(quickLsArgs(['--json', 'a.iso']), { image: 'a.iso', json: true });
    assert.deepEqual(quickLsArgs(['a.iso', '--json']), { image: 'a.iso', json: true });
    for (const words of [[], ['--json'], ['a', 'b'], ['a', '--deep'], ['a', '--help'], ['a', '-q'], ['--', 'a'], ['-'], ['a', '--home', 'h']]) {
      assert.equal(quickLsArgs(words), undefined, words.join(' '));
    }
  });

  it('prints what the full command line prints, listings and errors', () => {
    const rr = fixture('reader', 'rockridge.iso');
    const cases = [
      ['ls', rr],
      ['ls', '--json', rr],
      ['ls', fixture('reader', 'joliet-only.iso'), '--json'],
      ['ls', fixture('reader', 'multi-extent.iso')],
      ['ls', fixture('reader', 'missing.iso')],
      ['ls', fixture('defects', 'iso', 'directory-loop.iso')],
    ];
    sameAsMain(cases);
    assert.equal(cli(cases[0]!).status, 0);
    assert.notEqual(cli(cases[4]!).status, 0);
  });
});

/** Every path below `dir` with its mode, size, mtime, link count and content (or link target). */
function treeOf(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort().map((p) => {
    const st = lstatSync(join(dir, p));
    const body = st.isFile() ? readFileSync(join(dir, p)).toString('hex') : st.isSymbolicLink() ? readlinkSync(join(dir, p)) : '';
    return `${p} ${st.mode} ${st.size} ${st.mtimeMs} ${st.nlink} ${body}`;
  });
}

describe('isosync extract on the short path', () => {
  it('takes the plain forms only', () => {
    assert.deepEqual(quickExtractArgs(['a.iso', '-o', 'd']), { image: 'a.iso', output: 'd', json: false });
    assert.deepEqual(quickExtractArgs(['--output', 'd', '--json', 'a.iso']), { image: 'a.iso', output: 'd', json: true });
    assert.deepEqual(quickExtractArgs(['a.iso', '--output=d']), { image: 'a.iso', output: 'd', json: false });
    for (const words of [[], ['a.iso'], ['a.iso', 'p', '-o', 'd'], ['a.iso', '-o'], ['a.iso', '-o', '-q'], ['a.iso', '-o', 'd', '-o', 'e'], ['a.iso', '-o', 'd', '--changed-from', 'b.iso'], ['a.iso', '-od'], ['--', 'a.iso', '-o', 'd']]) {
      assert.equal(quickExtractArgs(words), undefined, words.join(' '));
    }
  });

  it('extracts and prints what the full command line does, and fails alike', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const images = [fixture('reader', 'rockridge.iso'), fixture('reader', 'multi-extent.iso'), fixture('reader', 'missing.iso'), fixture('defects', 'iso', 'directory-loop.iso')];
    images.forEach((img, i) => {
      for (const json of [[], ['--json']]) {
        const [a, b] = [join(tmp.dir, `q${i}${json.length}`), join(tmp.dir, `m${i}${json.length}`)];
        const quick = cli(['extract', img, '-o', a, ...json]);
        const full = viaMain(['extract', img, '-o', b, ...json]);
        assert.equal(quick.status, full.status, img);
        assert.equal(quick.stdout.split(a).join(b), full.stdout, img);
        assert.equal(quick.stderr, full.stderr, img);
        if (quick.status === 0) assert.deepEqual(treeOf(a), treeOf(b), img);
      }
    });
    assert.equal(cli(['extract', images[0]!, '-o', join(tmp.dir, 'again')]).status, 0);
    assert.notEqual(cli(['extract', images[3]!, '-o', join(tmp.dir, 'bad')]).status, 0);
  });
});
