import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { lockUpdate } from '../../src/feed/update-lock.js';
import { tempDir } from '../helpers/env.js';

describe('one update of a product at a time', () => {
  it('takes the lock, refuses it while a live process holds it, and releases it', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const path = join(tmp.dir, '.isosync-distro.lock');
    const release = lockUpdate(tmp.dir, 'distro');
    assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
    release();
    assert.equal(existsSync(path), false);
    // The test runner that started this process is alive: its lock holds.
    writeFileSync(path, `${process.ppid}\n`);
    assert.throws(() => lockUpdate(tmp.dir, 'distro'), (e: unknown) => e instanceof IsosyncError && e.code === 'CONFLICT' && e.message === `Cannot update distro: another isosync (pid ${process.ppid}) is updating it in ${tmp.dir}`);
    assert.equal(readFileSync(path, 'utf8'), `${process.ppid}\n`, 'the holder keeps its lock');
  });

  it('takes over a lock whose process is gone (a killed run)', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(join(tmp.dir, '.isosync-distro.lock'), `${dead}\n`);
    const release = lockUpdate(tmp.dir, 'distro');
    assert.equal(readFileSync(join(tmp.dir, '.isosync-distro.lock'), 'utf8'), `${process.pid}\n`);
    release();
  });
});
