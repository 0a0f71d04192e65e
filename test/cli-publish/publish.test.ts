/**
 * `isosync publish`, `info` and `releases` as a user runs them: real files, a
 * real catalog in a temporary --home, the CLI in a child process.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { buildInfoDict } from '../../src/torrent/create.js';
import { hashPieces } from '../../src/torrent/hash-pieces.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { cli, tempDir } from '../helpers/env.js';
import { isoAround } from '../helpers/iso-image.js';

/** Deterministic pseudo-random bytes (SHA-1 in counter mode). */
function bytes(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; i++) off += createHash('sha1').update(`${seed}:${i}`).digest().copy(out, off);
  return out;
}

interface Setup {
  dir: string;
  home: string;
  image: (name: string, seed: string, size?: number) => string;
  run: (args: string[], env?: NodeJS.ProcessEnv) => ReturnType<typeof cli>;
  json: (args: string[], env?: NodeJS.ProcessEnv) => any;
}

function setup(t: { after: (fn: () => void) => void }): Setup {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const home = join(tmp.dir, 'home');
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => cli([...args, '--home', home], { env: { SOURCE_DATE_EPOCH: '', ...env } });
  return {
    dir: tmp.dir,
    home,
    image: (name, seed, size = 1_500_000) => {
      const p = join(tmp.dir, name);
      writeFileSync(p, isoAround(bytes(size, seed)));
      return p;
    },
    run,
    json: (args, env) => {
      const r = run([...args, '--json'], env);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout);
    },
  };
}

const infoOf = (path: string) => parseMetainfo(readFileSync(path), path);

describe('isosync publish', () => {
  it('gives a byte-identical info dictionary for the same image and options (creation date outside info)', (t) => {
    const s = setup(t);
    const img = s.image('distro-1.00.iso', 'a');
    const args = ['publish', img, '--product', 'distro', '--release', '1.00', '--tracker', 'http://127.0.0.1:6969/announce', '--piece-length', '32K'];
    const a = s.json([...args, '-o', join(s.dir, 'a.torrent')], { SOURCE_DATE_EPOCH: '1000000000' });
    // A second catalog, a later date: everything outside info may differ, info may not.
    const b = cli([...args, '-o', join(s.dir, 'b.torrent'), '--home', join(s.dir, 'home2'), '--json'], { env: { SOURCE_DATE_EPOCH: '1900000000' } });
    assert.equal(b.status, 0, b.stderr);
    const ta = infoOf(join(s.dir, 'a.torrent'));
    const tb = infoOf(join(s.dir, 'b.torrent'));
    assert.deepEqual(Buffer.from(ta.rawInfo), Buffer.from(tb.rawInfo));
    assert.equal(ta.infoHash, a.infoHash);
    assert.equal(tb.infoHash, JSON.parse(b.stdout).infoHash);
    assert.equal(ta.creationDate, 1000000000);
    assert.equal(tb.creationDate, 1900000000);
    assert.equal(ta.pieceLength, 32768);
  });

  it('writes IMAGE.torrent (distro-1.00.iso.torrent) beside the image by default, and republishing the same content changes nothing', (t) => {
    const s = setup(t);
    const img = s.image('distro-1.00.iso', 'a');
    const first = s.json(['publish', img, '--product', 'distro', '--release', '1.00']);
    const out = join(s.dir, 'distro-1.00.iso.torrent');
    assert.equal(first.torrent, out);
    assert.equal(first.catalog, 'created');
    const bytes1 = readFileSync(out);
    const again = s.json(['publish', img, '--product', 'distro', '--release', '1.00']);
    assert.equal(again.catalog, 'unchanged');
    assert.deepEqual(readFileSync(out), bytes1, 'the stored creation date is reused: the same file again');
  });

  it('refuses other content under a published release (exit 2, nothing written) unless --force', (t) => {
    const s = setup(t);
    const a = s.image('a.iso', 'a');
    const b = s.image('b.iso', 'b');
    const first = s.json(['publish', a, '--product', 'distro', '--release', '1.00', '-o', join(s.dir, 'r.torrent')]);
    const before = readFileSync(join(s.dir, 'r.torrent'));
    const r = s.run(['publish', b, '--product', 'distro', '--release', '1.00', '-o', join(s.dir, 'r.torrent')]);
    assert.equal(r.status, 2);
    assert.equal(
      r.stderr,
      `isosync: Cannot publish distro 1.00: release "1.00" of "distro" is already published with infohash ${first.infoHash} (use --force to replace it)\n`,
    );
    assert.deepEqual(readFileSync(join(s.dir, 'r.torrent')), before);
    const forced = s.json(['publish', b, '--product', 'distro', '--release', '1.00', '-o', join(s.dir, 'r.torrent'), '--force']);
    assert.equal(forced.catalog, 'replaced');
    assert.notEqual(forced.infoHash, first.infoHash);
    const listed = s.json(['releases', 'distro']);
    assert.deepEqual(listed[0].releases.map((x: any) => x.infoHash), [forced.infoHash]);
  });

  it('takes the lineage from the catalog when --previous is omitted (nearest first)', (t) => {
    const s = setup(t);
    const p100 = s.json(['publish', s.image('d-1.00.iso', '1'), '--product', 'distro', '--release', '1.00']);
    const p101 = s.json(['publish', s.image('d-1.01.iso', '2'), '--product', 'distro', '--release', '1.01']);
    s.json(['publish', s.image('other.iso', '3'), '--product', 'other', '--release', '1.00']);
    const p110 = s.json(['publish', s.image('d-1.10.iso', '4'), '--product', 'distro', '--release', '1.10']);
    assert.deepEqual(p100.lineage, []);
    assert.deepEqual(p101.lineage, [{ release: '1.00', infoHash: p100.infoHash }]);
    assert.deepEqual(p110.lineage, [
      { release: '1.01', infoHash: p101.infoHash },
      { release: '1.00', infoHash: p100.infoHash },
    ]);
    const m = infoOf(join(s.dir, 'd-1.10.iso.torrent'));
    assert.deepEqual(m.similar, [p101.infoHash, p100.infoHash]);
    assert.deepEqual(m.collections, ['distro']);
    const listed = s.json(['releases']);
    assert.deepEqual(listed.map((p: any) => p.product), ['distro', 'other']);
    assert.deepEqual(listed[0].releases.map((r: any) => r.release), ['1.10', '1.01', '1.00']);
    assert.equal(listed[0].releases[0].imagePath, join(s.dir, 'd-1.10.iso'));
    assert.equal(listed[0].releases[0].imageSize, 1_500_000);
  });

  it('accepts --previous as a torrent or as an unknown image (hashed to the plain torrent infohash)', async (t) => {
    const s = setup(t);
    const old = s.image('old.iso', 'old');
    const first = s.json(['publish', old, '--product', 'distro', '--release', '1.00']);
    const viaTorrent = s.json(['publish', s.image('new.iso', 'new'), '--product', 'distro', '--release', '2.00', '--previous', join(s.dir, 'old.iso.torrent')]);
    assert.deepEqual(viaTorrent.lineage, [{ release: '1.00', infoHash: first.infoHash }]);
    assert.equal(viaTorrent.previous[0].imagePath, old, 'the previous image is found through the catalog');

    const stranger = s.image('stranger-0.9.iso', 'stranger', 100_000);
    const viaImage = s.json(['publish', s.image('x.iso', 'x'), '--product', 'distro', '--release', '3.00', '--previous', stranger, '--piece-length', '16384']);
    const plain = encodeBencode(buildInfoDict({ name: 'stranger-0.9.iso', length: 100_000, pieceLength: 16384, pieces: await hashPieces(stranger, 16384) }));
    const expected = createHash('sha1').update(plain).digest('hex');
    assert.deepEqual(viaImage.lineage, [{ release: 'stranger-0.9', infoHash: expected }]);
    assert.equal(viaImage.previous[0].via, 'hashed-image');
  });

  it('refuses what is not a whole ISO image (truncated, random bytes, text) with exit 2, recording and writing nothing', (t) => {
    const s = setup(t);
    const whole = readFileSync(s.image('whole.iso', 'w', 600_000));
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated.iso', whole.subarray(0, 300_000), /^isosync: Cannot publish ".*truncated\.iso": not a whole ISO 9660 image: image is truncated: the primary volume descriptor gives 292 blocks \(598016 bytes\) but the image has 300000 bytes\n$/],
      ['random.iso', bytes(3_000_000, 'random'), /^isosync: Cannot publish ".*random\.iso": not a whole ISO 9660 image: volume descriptor at byte 32768 has identifier .*, expected "CD001"\n$/],
      ['notes.iso', Buffer.from('just some text\n'), /^isosync: Cannot publish ".*notes\.iso": not a whole ISO 9660 image: image is truncated: it has 15 bytes, too few for a volume descriptor at byte 32768\n$/],
    ];
    for (const [name, content, message] of cases) {
      const p = join(s.dir, name);
      writeFileSync(p, content);
      const r = s.run(['publish', p, '--product', 'distro', '--release', name]);
      assert.equal(r.status, 2, `${name}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(existsSync(`${p}.torrent`), false, `${name}: no torrent written`);
    }
    // A file extent past the end, with descriptors that say the volume is whole.
    const cut = Buffer.from(whole.subarray(0, 300_000));
    cut.writeUInt32LE(146, 16 * 2048 + 80);
    cut.writeUInt32BE(146, 16 * 2048 + 84);
    writeFileSync(join(s.dir, 'cut.iso'), cut);
    const r = s.run(['publish', join(s.dir, 'cut.iso'), '--product', 'distro', '--release', 'cut']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^isosync: Cannot publish ".*cut\.iso": not a whole ISO 9660 image: file "\/DATA\.BIN" has an extent at byte 38912 \(561088 bytes\) beyond the end of the image \(300000 bytes\)\n$/);
    // Nothing was recorded: the catalog lists no release, and a sync would not offer these files as sources.
    assert.deepEqual(s.json(['releases']), []);
  });

  it('refuses to overwrite an existing -o file that is not this torrent, unless --force', (t) => {
    const s = setup(t);
    const img = s.image('distro-1.00.iso', 'a');
    const out = join(s.dir, 'existing.torrent');
    writeFileSync(out, 'precious\n');
    const r = s.run(['publish', img, '--product', 'distro', '--release', '1.00', '-o', out]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `isosync: Cannot write ${JSON.stringify(out)}: a different file is already there (use --force to replace it)\n`);
    assert.equal(readFileSync(out, 'utf8'), 'precious\n');
    assert.deepEqual(s.json(['releases']), [], 'nothing recorded either');
    const forced = s.json(['publish', img, '--product', 'distro', '--release', '1.00', '-o', out, '--force']);
    assert.equal(infoOf(out).infoHash, forced.infoHash);
    // The same torrent again is no overwrite: allowed without --force.
    assert.equal(s.run(['publish', img, '--product', 'distro', '--release', '1.00', '-o', out]).status, 0);
  });

  it('refuses bad arguments with exit code 2 and one line', (t) => {
    const s = setup(t);
    const img = s.image('a.iso', 'a', 50_000);
    const cases: [string[], string][] = [
      [['publish', img, '--product', 'p', '--release', '1', '--piece-length', '3000'], 'Invalid --piece-length "3000": must be a power of two from 2048 to 16777216 bytes'],
      [['publish', join(s.dir, 'missing.iso'), '--product', 'p', '--release', '1'], `Cannot publish ${JSON.stringify(join(s.dir, 'missing.iso'))}: no such file`],
      [['publish', img, '--product', 'p', '--release', '1', '--tracker', 'not a url'], 'Invalid --tracker "not a url": not a URL'],
      [['publish', img, '--product', 'p', '--release', '1', '--web-seed', 'gopher://x/'], 'Invalid --web-seed "gopher://x/": scheme must be one of http, https, ftp'],
      [['publish', img, '--product', '', '--release', '1'], 'Invalid --product "": must be 1 to 128 characters without control characters'],
      [['publish', img, '--product', 'p', '--release', '1', '-o', img], `Cannot publish ${JSON.stringify(img)}: the output path is the image itself`],
    ];
    for (const [args, msg] of cases) {
      const r = s.run(args);
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stderr, `isosync: ${msg}\n`);
    }
    assert.equal(existsSync(join(s.dir, 'a.iso.torrent')), false);
  });
});

describe('isosync info', () => {
  it('reports the fields of a published torrent in camelCase JSON', (t) => {
    const s = setup(t);
    const img = s.image('distro-1.00.iso', 'a', 100_000);
    const pub = s.json([
      'publish', img, '--product', 'distro', '--release', '1.00', '--piece-length', '16K', '--comment', 'hello',
      '--tracker', 'http://a/announce,http://b/announce', '--tracker', 'udp://c:80', '--web-seed', 'http://m/distro-1.00.iso',
    ], { SOURCE_DATE_EPOCH: '1234567890' });
    const info = s.json(['info', join(s.dir, 'distro-1.00.iso.torrent')]);
    assert.deepEqual(info, {
      name: 'distro-1.00.iso',
      length: 100_000,
      pieceLength: 16384,
      pieceCount: 7,
      infoHash: pub.infoHash,
      version: 'v1',
      infoHashV2: null,
      product: 'distro',
      release: '1.00',
      lineage: [],
      similar: [],
      collections: ['distro'],
      trackers: [['http://a/announce', 'http://b/announce'], ['udp://c:80']],
      webSeeds: ['http://m/distro-1.00.iso'],
      httpSeeds: [],
      comment: 'hello',
      createdBy: 'isosync 0.1.0',
      creationDate: 1234567890,
      private: false,
      hints: null,
      signatures: [],
    });
    const text = s.run(['info', join(s.dir, 'distro-1.00.iso.torrent')]);
    assert.equal(text.status, 0);
    assert.match(text.stdout, new RegExp(`^infohash: +${pub.infoHash}$`, 'm'));
    assert.match(text.stdout, /^version: +BitTorrent v1$/m);
    assert.match(text.stdout, /^trackers: +tier 1: http:\/\/a\/announce http:\/\/b\/announce$/m);
  });

  it('makes v1 torrents by default, hybrid or v2-only on request, and refuses two versions or v2 pieces below 16 KiB', (t) => {
    const s = setup(t);
    const img = s.image('distro-1.00.iso', 'a', 100_000);
    const made = (flag: string[]) => s.json(['publish', img, '--product', 'distro', '--release', '1.00', '--piece-length', '16K', '--force', ...flag]);
    assert.deepEqual([made([]).version, made(['--v1']).version, made(['--v2']).version, made(['--hybrid']).version], ['v1', 'v1', 'v2', 'hybrid']);
    assert.equal(made(['--v1']).infoHashV2, null);
    const v2 = made(['--v2']);
    assert.equal(v2.infoHash, String(v2.infoHashV2).slice(0, 40));
    const two = s.run(['publish', img, '--product', 'distro', '--release', '1.00', '--v1', '--v2']);
    assert.equal(two.status, 2);
    assert.match(two.stderr, /Invalid options --v1 --v2: choose one torrent version/);
    const small = s.run(['publish', img, '--product', 'distro', '--release', '1.00', '--piece-length', '8K', '--hybrid']);
    assert.equal(small.status, 2);
    assert.match(small.stderr, /a hybrid torrent needs at least 16384 bytes \(BEP 52\); use --v1/);
    assert.equal(s.run(['publish', img, '--product', 'distro', '--release', '1.00', '--piece-length', '8K', '--force']).status, 0);
  });

  it('reports a missing file as not found (exit 2)', (t) => {
    const s = setup(t);
    const r = s.run(['info', join(s.dir, 'none.torrent')]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `isosync: Cannot read torrent ${JSON.stringify(join(s.dir, 'none.torrent'))}: no such file\n`);
  });
});

describe('isosync releases', () => {
  it('says so when the catalog is empty, and refuses an unknown product', (t) => {
    const s = setup(t);
    const empty = s.run(['releases']);
    assert.equal(empty.status, 0);
    assert.match(empty.stdout, /^No releases recorded in /);
    assert.deepEqual(s.json(['releases']), []);
    const r = s.run(['releases', 'nope']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^isosync: No releases of "nope" in /);
  });
});
