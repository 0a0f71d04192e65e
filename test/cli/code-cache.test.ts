/**
 * bin/code-cache.cjs: a long command (here `isosync releases`) writes a V8 code cache at the
 * end of its first run and compiles from it on the next; a cache file that is corrupt, cut
 * short, garbage or made for another key is ignored (the run compiles as without one, prints
 * the same) and made again; a run of another command adds what it compiled. ISOSYNC_CODE_CACHE_DEBUG=1 says which case it was on stderr.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, tempDir } from '../helpers/env.js';

function run(cache: string, extra: NodeJS.ProcessEnv = {}, args = ['--json', 'releases']): { out: string; states: string[] } {
  const r = cli(args, { env: { XDG_CACHE_HOME: cache, ISOSYNC_CODE_CACHE_DEBUG: '1', ISOSYNC_CODE_CACHE: '', ...extra } });
  assert.equal(r.status, 0, r.stderr);
  const states = r.stderr.split('\n').filter((l) => l.startsWith('isosync code cache: ')).map((l) => l.slice(20).split(' ')[0]!);
  return { out: r.stdout, states };
}

describe('the code cache of long commands', () => {
  it('is written by the first run, used by the next, and a bad file is ignored and made again', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const dir = join(tmp.dir, 'isosync');
    assert.deepEqual(run(tmp.dir), { out: '[]\n', states: ['miss', 'written'] });
    const files = readdirSync(dir);
    assert.equal(files.length, 1, files.join());
    const file = join(dir, files[0]!);
    assert.deepEqual(run(tmp.dir), { out: '[]\n', states: ['hit'] });
    // Another command adds what it compiled, once.
    const status = run(tmp.dir, {}, ['status']);
    assert.deepEqual(status.states, ['hit', 'written']);
    assert.deepEqual(run(tmp.dir, {}, ['status']), { out: status.out, states: ['hit'] });
    assert.deepEqual(run(tmp.dir), { out: '[]\n', states: ['hit'] });
    assert.deepEqual(readdirSync(dir), files);

    const good = readFileSync(file);
    const keyEnd = good.indexOf(0x0a, good.indexOf(0x0a) + 1) + 1;
    assert.match(good.subarray(0, keyEnd).toString(), /^v\d+\.\d+\.\d+ \S+ \/\/ isosync-bundle [0-9a-f]{64} .*\nreleases status\n$/);
    // The right key before data V8 refuses: flipped bytes where its header checks are, then cut short.
    const flipped = Buffer.from(good);
    for (let i = keyEnd; i < keyEnd + 32; i++) flipped[i] = flipped[i]! ^ 0xff;
    for (const bad of [flipped, good.subarray(0, keyEnd + (good.length - keyEnd) / 2)]) {
      writeFileSync(file, bad);
      assert.deepEqual(run(tmp.dir), { out: '[]\n', states: ['rejected', 'written'] });
      assert.deepEqual(run(tmp.dir), { out: '[]\n', states: ['hit'] });
    }
    // Another key (another Node, bundle or flags) or no key at all: stale, compiled without it.
    for (const bad of [Buffer.concat([Buffer.from('v0.0.0'), good.subarray(good.indexOf(0x20))]), Buffer.from('garbage')]) {
      writeFileSync(file, bad);
      assert.deepEqual(run(tmp.dir), { out: '[]\n', states: ['stale', 'miss', 'written'] });
      assert.deepEqual(run(tmp.dir), { out: '[]\n', states: ['hit'] });
    }
  });

  it('is neither read nor written with ISOSYNC_CODE_CACHE=0, and a cache folder that cannot be made fails nothing', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    assert.deepEqual(run(tmp.dir, { ISOSYNC_CODE_CACHE: '0' }), { out: '[]\n', states: ['miss'] });
    assert.deepEqual(readdirSync(tmp.dir), []);
    const file = join(tmp.dir, 'a-file');
    writeFileSync(file, '');
    assert.deepEqual(run(file), { out: '[]\n', states: ['miss', 'not'] });
  });
});
