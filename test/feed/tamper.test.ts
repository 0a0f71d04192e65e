/**
 * Tampered feeds and torrents, served by a real `isosync serve`: each is
 * refused with one line and exit 4, and nothing is downloaded (the server
 * sends the feed, and for a torrent check the torrent, and not one byte
 * more; the follower's images folder does not change). Then the genuine
 * feed is served again and the update goes through.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseFeed, signFeed } from '../../src/feed/feed-format.js';
import { readKeyFile } from '../../src/feed/key-file.js';
import { generateSecretKey } from '../../src/feed/keys.js';
import { signTorrent } from '../../src/feed/torrent-signature.js';
import { decodeBencode, type BDict } from '../../src/torrent/bencode-decode.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { cli } from '../helpers/env.js';
import { HAVE_FIXTURES, makeWorld, startServe, type Server, type World } from './world.js';

describe('tampered feeds and torrents are refused before any image byte', { skip: HAVE_FIXTURES ? false : 'fixtures/releases not built' }, () => {
  let w: World;
  let server: Server;
  let feedPath: string;
  let v1: Buffer;
  let v2: Buffer;
  const torrent101 = () => join(w.pub, 'distro-1.01.iso.torrent');
  let genuineTorrent: Buffer;

  before(async () => {
    w = makeWorld();
    assert.equal(w.publish('1.00').status, 0);
    feedPath = join(w.pub, 'feeds', 'distro');
    v1 = readFileSync(feedPath);
    server = await startServe(w.pub, w.pubHome);
    assert.equal(w.user(['follow', `${server.url}/feeds/distro`]).status, 0);
    assert.equal(w.user(['update', '--yes', '--dir', w.imgs]).status, 0);
    assert.equal(w.publish('1.01').status, 0);
    v2 = readFileSync(feedPath);
    genuineTorrent = readFileSync(torrent101());
    // The follower sees feed 2 (update available) without applying it.
    assert.equal(w.user(['update']).status, 5);
  });
  after(async () => {
    await server?.stop();
    w?.cleanup();
  });

  /** Serves `feed` (and optionally a torrent), runs update, checks the refusal and that only they were sent. */
  async function refused(feed: Uint8Array, why: RegExp, torrent?: Uint8Array): Promise<void> {
    writeFileSync(feedPath, feed);
    if (torrent) writeFileSync(torrent101(), torrent);
    const imagesBefore = w.images();
    const before = await server.sent();
    const r = w.user(['update', '--yes']);
    const after = await server.sent();
    writeFileSync(feedPath, v2);
    writeFileSync(torrent101(), genuineTorrent);
    assert.equal(r.status, 4, `${r.stdout}\n${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^isosync: Cannot accept (feed|torrent) "http:\/\/127\.0\.0\.1:\d+\/[^"]+": /);
    assert.match(lines[0]!, why);
    assert.deepEqual(w.images(), imagesBefore, 'no image or .part appeared');
    assert.equal(after.bittorrent - before.bittorrent, 0);
    assert.equal(after.http - before.http, feed.length + (torrent?.length ?? 0), 'the server sent the feed (and the torrent) and nothing else');
    const status = w.userJson(['status']).json[0];
    assert.equal(status.inUse.release, '1.00');
    assert.match(status.lastCheck.outcome, /^refused: /);
  }

  it('a feed with one flipped byte', async () => {
    const bad = Buffer.from(v2);
    bad[bad.indexOf('distro-1.01.iso.torrent') + 7]! ^= 0x01;
    await refused(bad, /its signature by ed25519:\S+ does not verify \(the feed was altered or damaged\)$/);
  });

  it('a feed cut short', async () => {
    await refused(v2.subarray(0, v2.length - 10), /: not a feed \(/);
  });

  it('a replayed older feed (sequence 1 after sequence 2 was seen)', async () => {
    await refused(v1, /its sequence 1 is older than sequence 2 already seen \(a replayed or frozen feed\)$/);
  });

  it('a feed signed by another key', async () => {
    const other = generateSecretKey();
    const body = { ...parseFeed(v2, 'v2').body, key: other.publicKey, sequence: 9 };
    await refused(signFeed(body, [other]), /it is signed by ed25519:\S+, not by the key you follow \(ed25519:\S+\)/);
  });

  it('an unsigned feed', async () => {
    const body = { ...parseFeed(v2, 'v2').body, sequence: 9 };
    await refused(signFeed(body, []), /it is not signed$/);
  });

  it('an expired feed, validly signed', async () => {
    const key = readKeyFile(w.key);
    const body = { ...parseFeed(v2, 'v2').body, sequence: 3, updated: 1_000_000_000, expires: 1_000_086_400 };
    await refused(signFeed(body, [key]), /it expired at 2001-09-10T01:46:40Z/);
  });

  it('a torrent whose signature does not match the feed\'s key (same infohash, signed by another key)', async () => {
    const top = new Map(decodeBencode(genuineTorrent).value as BDict) as Map<string, unknown>;
    top.delete('signatures');
    const resigned = signTorrent(encodeBencode(top), generateSecretKey(), 'x');
    await refused(v2, /its signature does not match the feed's key ed25519:\S+: signed by ed25519:/, resigned);
  });

  it('a torrent with its signature stripped', async () => {
    const top = new Map(decodeBencode(genuineTorrent).value as BDict) as Map<string, unknown>;
    top.delete('signatures');
    await refused(v2, /it is not signed$/, encodeBencode(top));
  });

  it('a torrent of another release in place of the one the feed names', async () => {
    await refused(v2, /its infohash [0-9a-f]{40} is not [0-9a-f]{40}, which the signed feed names for distro 1\.01/, readFileSync(join(w.pub, 'distro-1.00.iso.torrent')));
  });

  it('follow --key with another key than the feed\'s is refused (exit 4), and nothing is followed', () => {
    const home = join(w.dir, 'fresh-home');
    const r = cli(['follow', `${server.url}/feeds/distro`, '--key', generateSecretKey().publicKey.id, '--home', home]);
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, /^isosync: Cannot accept feed "[^"]+": it is signed by ed25519:\S+, not by the key you follow/);
    assert.equal(r.stderr.split('\n').length, 2);
    assert.deepEqual(JSON.parse(cli(['status', '--json', '--home', home]).stdout), []);
  });

  it('after all that, the genuine feed and torrent update the follower to 1.01', () => {
    const r = w.userJson(['update', '--yes']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json.products[0].to.release, '1.01');
    assert.ok(readFileSync(join(w.imgs, 'distro-1.01.iso')).equals(readFileSync(w.source('1.01'))));
  });
});
