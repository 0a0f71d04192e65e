/**
 * BEP 17 HTTP seeds as BitTornado writes them (Debian's torrents), and the
 * choice of the synced file in a multi-file torrent, including one made by
 * mktorrent from a release folder (ISO, SHA256SUMS, signature).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { chooseSyncFile } from '../../src/torrent/file-choice.js';
import { classifyHttpSeed, classifySeeds, expectedBytes, httpSeedUrl, retryAfterSeconds } from '../../src/torrent/http-seeds.js';
import { parseMetainfo, type FileEntry } from '../../src/torrent/metainfo.js';
import { cli, cliAsync, fixture, needTools, tempDir } from '../helpers/env.js';
import { startRangeServer } from '../helpers/range-server.js';
import { createTorrent } from '../../src/torrent/create.js';
import { hashPieces } from '../../src/torrent/hash-pieces.js';

const NAME = 'debian-12.5.0-amd64-netinst.iso';

/**
 * A torrent laid out by BitTornado's btmakemetafile with --httpseeds, as in
 * Debian's: top-level announce, comment, creation date and httpseeds (no
 * url-list, no created by), and a single-file info dictionary.
 */
function bittornadoTorrent(httpseeds: string[]): Uint8Array {
  const length = 3 * 262144 + 1000;
  const pieces = new Uint8Array(4 * 20).fill(7);
  return encodeBencode({
    announce: 'http://bttracker.debian.org:6969/announce',
    comment: '"Debian CD from cdimage.debian.org"',
    'creation date': 1707566545,
    httpseeds,
    info: { length, name: NAME, 'piece length': 262144, pieces },
  });
}

describe('BEP 17 HTTP seeds', () => {
  const file = `https://cdimage.debian.org/cdimage/release/12.5.0/amd64/iso-cd/${NAME}`;
  const archive = `https://cdimage.debian.org/cdimage/archive/12.5.0/amd64/iso-cd/${NAME}`;
  const script = 'http://seed.example.org/seed.php';

  it("reads a BitTornado torrent's httpseeds beside url-list, and uses Debian's file URLs as web seeds", () => {
    const m = parseMetainfo(bittornadoTorrent([file, archive, script]), 'debian.torrent');
    assert.deepEqual(m.httpSeeds, [file, archive, script]);
    assert.deepEqual(m.urlList, []);
    assert.deepEqual(classifySeeds(m), { webSeeds: [file, archive], scripts: [script] });
  });

  it('syncs a Debian-style torrent from the image URL in its httpseeds, bit-identical', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const image = fixture('releases', 'distro-1.01.iso');
    const server = await startRangeServer({ '/cdimage/distro-1.01.iso': image });
    t.after(() => server.close());
    const { metainfo } = createTorrent({ name: 'distro-1.01.iso', length: readFileSync(image).length, pieceLength: 262144, pieces: await hashPieces(image, 262144) });
    // BitTornado's layout: creation date, httpseeds, info (keys sorted), no url-list.
    const url = `${server.url}/cdimage/distro-1.01.iso`;
    const head = Buffer.from(`d13:creation datei1707566545e9:httpseedsl${Buffer.byteLength(url)}:${url}e4:info`);
    const torrent = join(tmp.dir, 'debian.torrent');
    writeFileSync(torrent, Buffer.concat([head, metainfo.rawInfo, Buffer.from('e')]));
    const out = join(tmp.dir, 'distro-1.01.iso');
    const r = await cliAsync(['sync', torrent, '-o', out, '--no-catalog', '--home', join(tmp.dir, 'home'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(out).equals(readFileSync(image)));
    assert.ok(server.bytesSent() >= readFileSync(image).length, 'the bytes came from the HTTP seed');
  });

  it('tells file URLs from scripts', () => {
    const cases: [string, 'file' | 'script'][] = [
      [file, 'file'],
      ['http://m/pub/other-name.iso', 'file'],
      ['http://m/pub/disk.IMG', 'file'],
      [`http://m/pub/${encodeURIComponent('a b.iso')}`, 'file'],
      [script, 'script'],
      ['http://m/seed?x=1', 'script'],
      [`http://m/${NAME}?token=1`, 'script'],
      ['not a url', 'script'],
    ];
    for (const [u, kind] of cases) assert.equal(classifyHttpSeed(u, NAME), kind, u);
  });

  it('builds the request of the BEP example and checks 200 and 503 answers', () => {
    const ih = Buffer.from('9cd9698af555751a9186ae066c57ea2157233 5e0'.replace(/ /g, ''), 'hex');
    assert.equal(httpSeedUrl('http://www.whatever.com/seed.php', ih, 3), 'http://www.whatever.com/seed.php?info_hash=%9C%D9i%8A%F5Uu%1A%91%86%AE%06lW%EA%21W%235%E0&piece=3');
    const ranged = httpSeedUrl('http://www.whatever.com/seed.php', ih, 8, [{ start: 49152, end: 131072 }, { start: 180224, end: 262144 }]);
    assert.equal(ranged, 'http://www.whatever.com/seed.php?info_hash=%9C%D9i%8A%F5Uu%1A%91%86%AE%06lW%EA%21W%235%E0&piece=8&ranges=49152-131071,180224-262143');
    assert.ok(httpSeedUrl('http://h/s.php?k=v', ih, 0).startsWith('http://h/s.php?k=v&info_hash='));
    assert.equal(expectedBytes(262144, []), 262144);
    assert.equal(expectedBytes(262144, [{ start: 49152, end: 131072 }, { start: 180224, end: 262144 }]), 81920 + 81920);
    assert.deepEqual(['30', ' 5\n', 'soon', '-1', '99999999'].map(retryAfterSeconds), [30, 5, undefined, undefined, undefined]);
    assert.throws(() => httpSeedUrl('http://h/', new Uint8Array(19), 0), IsosyncError);
  });
});

function files(...spec: [string, number, string?][]): FileEntry[] {
  let offset = 0;
  return spec.map(([p, length, attr]) => {
    const f = { path: p.split('/'), length, offset, attr: attr ?? '' };
    offset += length;
    return f;
  });
}

describe('the synced file of a multi-file torrent', () => {
  const PL = 65536;
  const torrent = (fs: FileEntry[]) => ({ name: 'release', files: fs, pieceLength: PL, length: fs.reduce((n, f) => n + f.length, 0) });

  const cases: [string, FileEntry[], ((i: number) => boolean) | undefined, string, boolean][] = [
    ['the image among its sums', files(['SHA256SUMS', 100], ['SHA256SUMS.sign', 566], ['distro.iso', 300_000]), undefined, 'distro.iso', true],
    ['the image even when a file is larger', files(['big.tar', 900_000], ['distro.img', 300_000]), undefined, 'distro.img', true],
    ['the largest image', files(['a.iso', 70_000], ['b.iso', 90_000]), undefined, 'b.iso', true],
    ['the largest file without images', files(['x', 10], ['y', 20]), undefined, 'y', true],
    ['what so= selects', files(['a.iso', 90_000], ['b.iso', 70_000]), (i) => i === 1, 'b.iso', true],
    ['never a pad file', files(['a.iso', 40_000], ['.pad/25536', 25_536, 'p'], ['pad.iso', 65_536]), undefined, 'pad.iso', false],
  ];
  for (const [name, fs, sel, want, shares] of cases) {
    it(`picks ${name}`, () => {
      const c = chooseSyncFile(torrent(fs), sel);
      assert.equal(c.file.path.join('/'), want);
      assert.equal(c.sharesPieces, shares);
      assert.match(c.summary, new RegExp(`^syncs "${want.replace('.', '\\.')}" \\(file ${c.index + 1} of ${fs.length} in "release"`));
      assert.ok(!c.others.some((f) => f.attr.includes('p')));
    });
  }

  it('refuses a selection without data', () => {
    assert.throws(() => chooseSyncFile(torrent(files(['a', 0], ['b', 5])), (i) => i === 0), (e: unknown) => e instanceof IsosyncError && /no selected file holds data/.test(e.message));
  });

  it('picks the ISO of a release folder torrent made by mktorrent, and info says so', { skip: needTools('mktorrent') }, (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const dir = join(tmp.dir, 'distro-1.01');
    mkdirSync(dir);
    writeFileSync(join(dir, 'distro-1.01.iso'), createHash('sha256').update('x').digest().subarray(0, 7).toString('hex').repeat(20000));
    writeFileSync(join(dir, 'SHA256SUMS'), 'abc  distro-1.01.iso\n');
    writeFileSync(join(dir, 'SHA256SUMS.gpg'), 'signature');
    const out = join(tmp.dir, 'r.torrent');
    const r = spawnSync('mktorrent', ['-l', '16', '-o', out, dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const m = parseMetainfo(readFileSync(out), out);
    const c = chooseSyncFile(m);
    assert.equal(c.file.path.join('/'), 'distro-1.01.iso');
    assert.deepEqual(c.others.map((f) => f.path.join('/')).sort(), ['SHA256SUMS', 'SHA256SUMS.gpg']);
    const info = cli(['info', out, '--json']);
    assert.equal(info.status, 0, info.stderr);
    assert.equal((JSON.parse(info.stdout) as { syncs: string }).syncs, c.summary);
    const sync = cli(['sync', out, '--home', join(tmp.dir, 'home'), '-o', join(tmp.dir, 'out.iso')]);
    assert.equal(sync.status, 1);
    assert.match(sync.stderr, /it is a torrent of 3 files; isosync would sync "distro-1\.01\.iso" \(file \d of 3 in "distro-1\.01", the image\)/);
  });
});
