/**
 * `isosync publish` without commander (src/cli/quick-publish.ts): which forms
 * bin/isosync runs on the short path, and that they print, write and record
 * exactly what the full command line (main.ts) does for the same words:
 * reports, torrents and errors alike.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { quickPublishArgs } from '../../src/cli/quick-publish.js';
import { cli, fixture, ROOT, tempDir } from '../helpers/env.js';

/** The same words run through main.ts (commander), in a child like cli()'s. */
function viaMain(args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const main = pathToFileURL(join(ROOT, 'dist', 'src', 'cli', 'main.js')).href;
  const code = `const { main } = await import(${JSON.stringify(main)}); await main(['node', 'isosync', ...${JSON.stringify(args)}]);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', input: '', env: { ...process.env, ISOSYNC_DEBUG: '', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Timings differ from run to run; everything else may not. */
function steady(text: string): string {
  return text.replace(/hashed in \d+\.\d+ s/g, 'hashed in T s').replace(/"hashSeconds": [\d.]+/g, '"hashSeconds": T');
}

describe('isosync publish on the short path', () => {
  it('takes the plain forms only', () => {
    const base = ['a.iso', '--product', 'p', '--release', '1'];
    assert.deepEqual(quickPublishArgs(base), { image: 'a.iso', opts: { product: 'p', release: '1' } });
    assert.deepEqual(
      quickPublishArgs(['--json', 'a.iso', '--product=p', '--release', '1', '--previous', 'o.iso', '--previous=t.torrent', '-o', 'x.torrent', '--home', 'h', '--tracker', 'u1,u2', '--tracker', 'u3', '--web-seed', 'w', '--piece-length', '1M', '--comment', 'c d', '--v1', '--force', '-q', '--no-progress', '--debug']),
      {
        image: 'a.iso',
        opts: { product: 'p', release: '1', output: 'x.torrent', home: 'h', pieceLength: '1M', comment: 'c d', previous: ['o.iso', 't.torrent'], tracker: ['u1,u2', 'u3'], webSeed: ['w'], json: true, v1: true, force: true, quiet: true, progress: false, debug: true },
      },
    );
    assert.deepEqual(quickPublishArgs([...base, '--out-dir', 'd', '--public-url', 'http://m/', '--hybrid', '-v']), {
      image: 'a.iso',
      opts: { product: 'p', release: '1', outDir: 'd', publicUrl: 'http://m/', hybrid: true, verbose: true },
    });
    for (const words of [
      [],
      ['a.iso'],
      ['a.iso', '--product', 'p'],
      ['a.iso', '--release', '1'],
      [...base, 'b.iso'],
      [...base, '--help'],
      [...base, '-h'],
      [...base, '--'],
      [...base, '--sign', 'k'],
      [...base, '--rotate-from', 'k'],
      [...base, '--feed-expires', '3'],
      [...base, '--unknown'],
      [...base, '-qv'],
      [...base, '-ox.torrent'],
      [...base, '-o=x.torrent'],
      [...base, '--comment'],
      [...base, '--comment', '-x'],
      [...base, '--comment='],
      [...base, '--product', 'q'],
      [...base, '--home', 'h', '--home', 'i'],
      ['--product', 'p', '--release', '1', '-'],
    ]) {
      assert.equal(quickPublishArgs(words), undefined, words.join(' '));
    }
  });

  it('prints, writes and records what the full command line does, and fails alike', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const notIso = join(tmp.dir, 'notes.txt');
    writeFileSync(notIso, 'not an image\n'.repeat(5000));
    // Each case runs in its own pair of folders, q (short path) and m (main.ts), holding the same files.
    const cases: ((d: string) => string[])[] = [
      (d) => ['publish', join(d, 'distro-1.00.iso'), '--product', 'distro', '--release', '1.00', '--home', join(d, 'h'), '--tracker', 'http://127.0.0.1:1/a,udp://127.0.0.1:2', '--tracker', 'http://127.0.0.1:3/b', '--web-seed', 'http://127.0.0.1:4/x.iso', '--comment', 'first'],
      (d) => ['publish', join(d, 'distro-1.01.iso'), '--previous', fixture('releases', 'distro-1.00.iso'), '--product', 'distro', '--release=1.01', '--home', join(d, 'h'), '-o', join(d, 'out.torrent'), '--json'],
      (d) => ['publish', join(d, 'distro-1.01.iso'), '--product', 'distro', '--release', '1.01', '--home', join(d, 'h'), '--piece-length', '64K', '--hybrid', '-q'],
      (d) => ['publish', join(d, 'missing.iso'), '--product', 'distro', '--release', '1', '--home', join(d, 'h')],
      (d) => ['publish', join(d, 'distro-1.00.iso'), '--product', 'distro', '--release', '1', '--home', join(d, 'h'), '--piece-length', '3k'],
      (d) => ['publish', join(d, 'distro-1.00.iso'), '--product', 'distro', '--release', '1', '--home', join(d, 'h'), '--v1', '--v2'],
      (d) => ['publish', notIso, '--product', 'distro', '--release', '1', '--home', join(d, 'h'), '-o', join(d, 'n.torrent'), '--json'],
    ];
    cases.forEach((make, i) => {
      const [q, m] = [join(tmp.dir, `q${i}`), join(tmp.dir, `m${i}`)];
      for (const d of [q, m]) {
        mkdirSync(d);
        for (const f of ['distro-1.00.iso', 'distro-1.01.iso']) copyFileSync(fixture('releases', f), join(d, f));
      }
      const [qa, ma] = [make(q), make(m)];
      assert.ok(quickPublishArgs(qa.slice(1)), `case ${i} takes the short path`);
      const quick = cli(qa, { env });
      const full = viaMain(ma, env);
      const label = `case ${i}: ${ma.join(' ')}`;
      assert.equal(quick.status, full.status, label);
      assert.equal(steady(quick.stdout.split(q).join(m)), steady(full.stdout), label);
      assert.equal(quick.stderr.split(q).join(m), full.stderr, label);
      for (const f of ['distro-1.00.iso.torrent', 'distro-1.01.iso.torrent', 'out.torrent', 'n.torrent']) {
        assert.equal(existsSync(join(q, f)), existsSync(join(m, f)), `${label}: ${f}`);
        if (existsSync(join(q, f))) assert.ok(readFileSync(join(q, f)).equals(readFileSync(join(m, f))), `${label}: ${f} differs`);
      }
    });
    // The cases above do succeed and fail.
    assert.equal(cli(['releases', '--home', join(tmp.dir, 'q1', 'h'), '--json']).status, 0);
    assert.match(cli(cases[3]!(join(tmp.dir, 'q3'))).stderr, /no such file/);
  });
});
