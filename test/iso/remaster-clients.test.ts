/**
 * Stock clients update a remastered release near the floor: a
 * python3-libtorrent leecher that starts from a copy of the old image, and
 * zsync with the old image as its seed file, fetch at most 1.05 x the floor
 * (bench/floor.ts: target content found nowhere in the old image, plus all
 * the target's metadata) from the image `isosync remaster` wrote, which
 * `isosync publish` publishes like any other. Bytes are counted by the other
 * side (libtorrent's payload counter, the HTTP server's body bytes).
 *
 * The torrent uses 8 KiB pieces (libtorrent accepts them): the fixture is a
 * 5 MB image, so that gives it 650 pieces, the piece count of a 160 MB image
 * at the default 256 KiB. At 256 KiB it would have 20, and a stock client's
 * piece granularity, not the layout, would decide (`npm run bench -- remaster`
 * prints several piece lengths on a larger pair). remaster is told that
 * piece length, and its report bounds what libtorrent fetches.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { computeFloor } from '../../bench/floor.js';
import { cli, fixture, needTools, tempDir } from '../helpers/env.js';
import { startRangeServer } from '../helpers/range-server.js';
import { libtorrentPeer } from '../swarm/peers.js';
import { extractTo } from './remaster-check.js';
import { HAVE_RELEASES, sha256 } from '../sync/fixture-pair.js';

const PIECE = 8192;

/** Runs a tool without blocking the event loop (the HTTP server it talks to lives in this process). */
function run(cmd: string, args: string[], cwd: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), 120_000);
    c.on('error', reject);
    c.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}
const OLD = fixture('releases', 'distro-1.00.iso');
const NEW_TREE_FROM = fixture('releases', 'distro-1.01.iso');
const skip = !HAVE_RELEASES ? 'fixtures/releases not built' : needTools('bsdtar', 'libtorrent', 'zsync', 'zsyncmake');

describe('stock clients fetch a remastered release near the floor', { skip }, () => {
  const t = tempDir('isosync-remaster-clients-');
  const img = join(t.dir, 'distro-1.01.iso');
  let floor = 0;
  let reported = 0;

  before(async () => {
    const tree = join(t.dir, 'tree');
    mkdirSync(tree);
    extractTo(NEW_TREE_FROM, tree);
    const r = cli(['remaster', OLD, tree, '-o', img, '-V', 'DISTRO_1_01', '--piece-length', String(PIECE), '--json'], { env: { SOURCE_DATE_EPOCH: '1702419200' } });
    assert.equal(r.status, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as { pieceLength: number; stockFetchBytes: number };
    assert.equal(rep.pieceLength, PIECE);
    reported = rep.stockFetchBytes;
    const p = cli(['publish', img, '--product', 'distro', '--release', '1.01', '--piece-length', String(PIECE), '--home', join(t.dir, 'home'), '-o', join(t.dir, 'new.torrent')]);
    assert.equal(p.status, 0, p.stderr);
    floor = (await computeFloor(img, [OLD])).floorBytes;
  });
  after(() => t.cleanup());

  test('libtorrent, starting from a copy of the old image, fetches at most 1.05 x the floor', async () => {
    const seedDir = join(t.dir, 'seed'), leechDir = join(t.dir, 'leech');
    mkdirSync(seedDir);
    mkdirSync(leechDir);
    copyFileSync(img, join(seedDir, 'distro-1.01.iso'));
    copyFileSync(OLD, join(leechDir, 'distro-1.01.iso')); // the old release under the new name: a stock client rechecks it
    const seed = await libtorrentPeer('seed', join(t.dir, 'new.torrent'), seedDir);
    const leech = await libtorrentPeer('leech', join(t.dir, 'new.torrent'), leechDir, [`127.0.0.1:${seed.port}`]);
    try {
      const code = await Promise.race([leech.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000).unref())]);
      assert.equal(code, 0, `leecher did not finish: ${leech.output().slice(-1000)}`);
      const got = Number(leech.last().downloaded);
      assert.equal(sha256(join(leechDir, 'distro-1.01.iso')), sha256(img));
      assert.ok(got > 0, 'the release changed, so something was fetched');
      process.stderr.write(`# libtorrent fetched ${got} bytes = ${(got / floor).toFixed(3)} x floor ${floor}\n`);
      assert.ok(got <= 1.05 * floor, `libtorrent fetched ${got} bytes > 1.05 x floor ${floor}`);
      assert.ok(got <= reported, `libtorrent fetched ${got} bytes, more than the ${reported} remaster reported as the most`);
    } finally {
      await leech.stop();
      await seed.stop();
    }
  });

  test('--piece-length auto picks the largest piece length, from publish\'s default down, at which its report stays near the changed bytes', () => {
    const tree = join(t.dir, 'tree');
    const auto = join(t.dir, 'auto.iso'), given = join(t.dir, 'given.iso');
    const env = { env: { SOURCE_DATE_EPOCH: '1702419200' } };
    const r = cli(['remaster', OLD, tree, '-o', auto, '-V', 'DISTRO_1_01', '--piece-length', 'auto', '--json'], env);
    assert.equal(r.status, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as { pieceLength: number; stockFetchBytes: number; newBytes: number; metadataBytes: number };
    assert.ok([262144, 131072, 65536, 32768, 16384].includes(rep.pieceLength), `piece length ${rep.pieceLength}`);
    const changed = rep.newBytes + rep.metadataBytes;
    assert.ok(rep.pieceLength === 16384 || rep.stockFetchBytes <= 1.05 * changed, `${rep.stockFetchBytes} bytes fetched at ${rep.pieceLength} for ${changed} changed`);
    if (rep.pieceLength < 262144) {
      // The next larger piece length was tried and did not keep the fetch near the changed bytes.
      const larger = cli(['remaster', OLD, tree, '-o', join(t.dir, 'larger.iso'), '-V', 'DISTRO_1_01', '--piece-length', String(rep.pieceLength * 2), '--json'], env);
      assert.equal(larger.status, 0, larger.stderr);
      const l = JSON.parse(larger.stdout) as { stockFetchBytes: number; newBytes: number; metadataBytes: number };
      assert.ok(l.stockFetchBytes > 1.05 * (l.newBytes + l.metadataBytes));
    }
    const g = cli(['remaster', OLD, tree, '-o', given, '-V', 'DISTRO_1_01', '--piece-length', String(rep.pieceLength)], env);
    assert.equal(g.status, 0, g.stderr);
    assert.equal(sha256(auto), sha256(given), 'auto writes the image that piece length gives');
  });

  test('zsync with the old image as seed fetches at most 1.05 x the floor', async () => {
    const www = join(t.dir, 'www');
    mkdirSync(www);
    copyFileSync(img, join(www, 'distro-1.01.iso'));
    const server = await startRangeServer({ '/distro-1.01.iso': join(www, 'distro-1.01.iso'), '/distro-1.01.iso.zsync': join(www, 'distro-1.01.iso.zsync') });
    try {
      const mk = await run('zsyncmake', ['-u', `${server.url}/distro-1.01.iso`, '-o', join(www, 'distro-1.01.iso.zsync'), join(www, 'distro-1.01.iso')], t.dir);
      assert.equal(mk.status, 0, mk.stderr);
      const out = join(t.dir, 'zsync-out.iso');
      const z = await run('zsync', ['-q', '-i', OLD, '-o', out, `${server.url}/distro-1.01.iso.zsync`], t.dir);
      assert.equal(z.status, 0, z.stderr);
      assert.equal(sha256(out), sha256(img));
      const got = server.bytesSent();
      process.stderr.write(`# zsync fetched ${got} bytes = ${(got / floor).toFixed(3)} x floor ${floor}\n`);
      assert.ok(got <= 1.05 * floor, `zsync fetched ${got} bytes (control file included) > 1.05 x floor ${floor}`);
    } finally {
      await server.close();
    }
  });
});
