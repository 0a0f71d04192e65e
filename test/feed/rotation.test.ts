/**
 * Key rotation with a real `isosync serve`: the publisher moves from key A
 * to key B with `publish --sign B --rotate-from A`; a follower pinned to A
 * accepts it (the new key is announced under A's signature) and pins B. A
 * key announced any other way is refused, and the publisher cannot switch
 * keys without the old one.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseFeed, signFeed, signRotation } from '../../src/feed/feed-format.js';
import { readKeyFile } from '../../src/feed/key-file.js';
import { generateSecretKey } from '../../src/feed/keys.js';
import { cli } from '../helpers/env.js';
import { HAVE_FIXTURES, makeWorld, sameBytes, startServe, type Server, type World } from './world.js';

describe('publisher key rotation', { skip: HAVE_FIXTURES ? false : 'fixtures/releases not built' }, () => {
  let w: World;
  let server: Server;
  let keyB: string;
  let pubB: string;
  before(async () => {
    w = makeWorld();
    keyB = join(w.dir, 'new.key');
    const k = cli(['keygen', '-o', keyB]);
    assert.equal(k.status, 0);
    pubB = k.stdout.trim();
    assert.equal(w.publish('1.00').status, 0);
    server = await startServe(w.pub, w.pubHome);
    assert.equal(w.user(['follow', `${server.url}/feeds/distro`, '--key', w.publicKey]).status, 0);
    assert.equal(w.user(['update', '--yes', '--dir', w.imgs]).status, 0);
  });
  after(async () => {
    await server?.stop();
    w?.cleanup();
  });

  it('the publisher cannot sign the feed with a new key without the old one: exit 2, nothing published', () => {
    const feedBefore = readFileSync(join(w.pub, 'feeds', 'distro'));
    const r = w.publish('1.01', ['--sign', keyB]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^isosync: Cannot sign the feed of "distro" with ed25519:\S+: it is signed by ed25519:\S+; to move to the new key give the old one with --rotate-from KEYFILE\n$/);
    assert.deepEqual(readFileSync(join(w.pub, 'feeds', 'distro')), feedBefore);
    assert.throws(() => readFileSync(join(w.pub, 'distro-1.01.iso.torrent')), /ENOENT/);
  });

  it('a new key announced in a feed signed by the old one is accepted, and pinned', () => {
    const r = w.publish('1.01', ['--sign', keyB, '--rotate-from', w.key]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /key rotated from ed25519:/);
    const feed = parseFeed(readFileSync(join(w.pub, 'feeds', 'distro')), 'feed');
    assert.deepEqual(feed.signatures.map((s) => s.signer).sort(), [w.publicKey, pubB].sort());
    const u = w.user(['update', '--yes']);
    assert.equal(u.status, 0, u.stderr);
    assert.match(u.stdout, new RegExp(`the publisher moved to key ${pubB}, announced under the signature of ${w.publicKey}`));
    assert.ok(sameBytes(join(w.imgs, 'distro-1.01.iso'), w.source('1.01')));
    assert.equal(w.userJson(['status']).json[0].key, pubB);
  });

  it('later feeds signed by the new key alone are accepted; rollback still trusts the release the old key signed', () => {
    assert.equal(w.publish('1.02', ['--sign', keyB]).status, 0);
    const u = w.userJson(['update', '--yes']);
    assert.equal(u.status, 0, u.stderr);
    assert.equal(u.json.products[0].to.release, '1.02');
    const r = w.userJson(['rollback', 'distro', '--to', '1.00']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(sameBytes(join(w.imgs, 'distro-1.00.iso'), w.source('1.00')));
  });

  it('a key announced by a rotation the pinned key did not sign is refused', async () => {
    const feedPath = join(w.pub, 'feeds', 'distro');
    const genuine = readFileSync(feedPath);
    const body = parseFeed(genuine, 'feed').body;
    const intruder = generateSecretKey();
    const cases: [string, Uint8Array][] = [
      // B -> intruder, "signed" by the intruder itself.
      ['a rotation signed by the new key itself', signFeed({ ...body, sequence: body.sequence + 1, key: intruder.publicKey, rotations: [...body.rotations, { ...signRotation('distro', intruder, intruder.publicKey), key: readKeyFile(keyB).publicKey }] }, [intruder])],
      ['no rotation at all', signFeed({ ...body, sequence: body.sequence + 1, key: intruder.publicKey }, [intruder])],
      // A rotation from the retired key A: A no longer speaks for the feed once B is pinned.
      ['a rotation signed by the retired key', signFeed({ ...body, sequence: body.sequence + 1, key: intruder.publicKey, rotations: [...body.rotations, signRotation('distro', readKeyFile(w.key), intruder.publicKey)] }, [intruder])],
    ];
    const before = w.images();
    try {
      for (const [what, bytes] of cases) {
        writeFileSync(feedPath, bytes);
        const r = w.user(['update', '--yes']);
        assert.equal(r.status, 4, `${what}: ${r.stderr}`);
        assert.match(r.stderr, /^isosync: Cannot accept feed "[^"]+": it is signed by ed25519:\S+, not by the key you follow \(ed25519:\S+\), and no rotation signed by that key announces it\n$/, what);
        assert.deepEqual(w.images(), before);
        assert.equal(w.userJson(['status']).json[0].key, pubB, `${what}: the pinned key did not move`);
      }
    } finally {
      writeFileSync(feedPath, genuine);
    }
  });
});
