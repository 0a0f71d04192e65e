/**
 * A sync with no live source left fails at once and names what it tried,
 * instead of waiting for peers that cannot come: the only --peer refuses,
 * or the torrent's tracker answers with no peer or refuses. "no live source has it" is
 * the verdict given without waiting (the one after the wait says "no
 * source sent it in N s"), so these tests assert the words, not a time.
 * Real sockets on 127.0.0.1: a closed port, a small HTTP tracker.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cli, cliAsync, freePort, tempDir } from '../helpers/env.js';
import { HAVE_RELEASES, RELEASES } from './fixture-pair.js';

const IMAGE = join(RELEASES, 'distro-1.01.iso');

describe('a sync with no live source', { skip: HAVE_RELEASES ? false : 'fixtures/releases not built' }, () => {
  let t: ReturnType<typeof tempDir>;
  let tracker: Server;
  let announces = 0;

  before(async () => {
    t = tempDir('isosync-nosource-');
    // A tracker that knows no peer: `d8:intervali1800e5:peers0:e`.
    tracker = createServer((req, res) => {
      if (req.url?.startsWith('/announce')) announces++;
      res.end('d8:intervali1800e5:peers0:e');
    });
    await new Promise<void>((r) => tracker.listen(0, '127.0.0.1', () => r()));
  });
  after(async () => {
    await new Promise<void>((r) => tracker.close(() => r()));
    t.cleanup();
  });

  test('whose only peer refuses fails at once, naming the peer and why, and leaves no .part', async () => {
    const torrent = join(t.dir, 'plain.torrent');
    assert.equal(cli(['publish', IMAGE, '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub'), '-o', torrent]).status, 0);
    const port = await freePort(); // nothing listens there
    const out = join(t.dir, 'refused.iso');
    const r = await cliAsync(['sync', torrent, '--no-catalog', '--home', join(t.dir, 'h1'), '-o', out, '--peer', `127.0.0.1:${port}`]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`no live source has it \\(tried: peer 127\\.0\\.0\\.1:${port} \\(cannot connect: connection refused\\)\\)`), r.stderr);
    assert.doesNotMatch(r.stderr, /ECONNREFUSED/);
    assert.ok(!existsSync(`${out}.part`), 'a .part that received nothing is removed');
  });

  test('whose only web seed refuses, with an older image to plan from, fails and exits, naming the seed in words', async () => {
    // The plan reads the target's metadata first: its fetch failing stopped nothing, and the engine's timer kept
    // the process alive after the error line (cliAsync kills it after its timeout: status null).
    const seed = `http://127.0.0.1:${await freePort()}/distro-1.01.iso`;
    const torrent = join(t.dir, 'seeded.torrent');
    assert.equal(cli(['publish', IMAGE, '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub4'), '-o', torrent, '--web-seed', seed]).status, 0);
    const out = join(t.dir, 'seeded.iso');
    const r = await cliAsync(['sync', torrent, '--no-catalog', '--home', join(t.dir, 'h4'), '-o', out, '--from', join(RELEASES, 'distro-1.00.iso')], { timeoutMs: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`no live source has it \\(tried: web seed ${seed.replace(/[./]/g, '\\$&')} \\(connection refused\\)\\)`), r.stderr);
    assert.doesNotMatch(r.stderr, /ECONNREFUSED/);
    assert.ok(!existsSync(out), 'no target under its final name');
  });

  test('whose tracker answers with no peer fails after that answer, not after a later announce', async () => {
    const torrent = join(t.dir, 'tracked.torrent');
    const url = `http://127.0.0.1:${(tracker.address() as AddressInfo).port}/announce`;
    assert.equal(cli(['publish', IMAGE, '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub2'), '-o', torrent, '--tracker', url]).status, 0);
    const before = announces;
    const r = await cliAsync(['sync', torrent, '--no-catalog', '--home', join(t.dir, 'h2'), '-o', join(t.dir, 'tracked.iso')]);
    assert.equal(r.status, 1, r.stderr);
    assert.ok(announces > before, 'the tracker was asked');
    assert.match(r.stderr, new RegExp(`Cannot fetch piece \\d+: no live source has it \\(tried: tracker ${url.replace(/[./]/g, '\\$&')} \\(it knew no peer\\)\\)`), r.stderr);
  });

  test('whose tracker refuses fails after that first try, naming the tracker and why', async () => {
    const torrent = join(t.dir, 'refused-tracker.torrent');
    const url = `http://127.0.0.1:${await freePort()}/announce`;
    assert.equal(cli(['publish', IMAGE, '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub3'), '-o', torrent, '--tracker', url]).status, 0);
    const r = await cliAsync(['sync', torrent, '--no-catalog', '--home', join(t.dir, 'h3'), '-o', join(t.dir, 'refused-tracker.iso')]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`no live source has it \\(tried: tracker ${url.replace(/[./]/g, '\\$&')} \\(Cannot announce: connection refused\\)\\)`), r.stderr);
  });
});
