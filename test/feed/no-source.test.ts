/**
 * `update` when no network source is left, with a real `isosync serve`: the
 * feed and the torrent are there but the image is gone from the mirror (and
 * no peer has it), and then the server is gone. Each fails in one line with
 * exit 1 and changes nothing: no image, no .part, the same release in use.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { followingWorld, HAVE_FIXTURES, type Server, type World } from './world.js';

describe('update with no network source left', { skip: HAVE_FIXTURES ? false : 'fixtures/releases not built' }, () => {
  let w: World;
  let server: Server;
  before(async () => {
    ({ w, server } = await followingWorld());
  });
  after(async () => {
    await server?.stop();
    w?.cleanup();
  });

  it('fails cleanly when the mirror lost the new image: exit 1, no .part left, 1.00 still in use', () => {
    assert.equal(w.publish('1.01').status, 0);
    rmSync(join(w.pub, 'distro-1.01.iso'));
    const r = w.user(['update', '--yes']);
    assert.equal(r.status, 1, r.stdout);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('isosync: ') && !l.startsWith('isosync: warning: '));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, /^isosync: Cannot fetch/);
    assert.deepEqual(w.images(), ['distro-1.00.iso'], 'no image and no .part');
    const s = w.userJson(['status']).json[0];
    assert.equal(s.inUse.release, '1.00');
    assert.match(s.lastCheck.outcome, /^failed: Cannot fetch/);
  });

  it('fails cleanly when the server is gone: exit 1, one line, nothing changed', async () => {
    const before = w.userJson(['status']).json;
    await server.stop();
    const r = w.user(['update', '--yes']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^isosync: Cannot fetch feed http:\/\/127\.0\.0\.1:\d+\/feeds\/distro: connection refused\n$/);
    assert.deepEqual(w.images(), ['distro-1.00.iso']);
    assert.deepEqual(w.userJson(['status']).json, before);
  });
});
