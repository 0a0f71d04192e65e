/**
 * Interop with the BitTorrent tools people run: python3-libtorrent,
 * transmission-show, aria2c and mktorrent read isosync's torrents with the
 * infohash isosync reports, and isosync reads theirs with the infohash they
 * report. Skipped (visibly) when a tool is missing.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { cli, fixture, needTools, tempDir, runOk } from '../helpers/env.js';
import { isoAround } from '../helpers/iso-image.js';
import { seededBytes } from '../helpers/random.js';

const PY = '/usr/bin/python3';
function libtorrentInfoHash(path: string): string {
  return runOk(PY, ['-c', 'import sys, libtorrent as lt; print(lt.torrent_info(sys.argv[1]).info_hashes().v1)', path]).trim();
}
function transmissionInfoHash(path: string): string {
  const m = /^\s*Hash(?: v1)?:\s*([0-9a-f]{40})\s*$/m.exec(runOk('transmission-show', [path]));
  assert.ok(m, 'transmission-show printed a hash');
  return m[1]!;
}
function aria2InfoHash(path: string): string {
  const m = /^Info Hash:\s*([0-9a-f]{40})\s*$/m.exec(runOk('aria2c', ['--show-files', path]));
  assert.ok(m, 'aria2c printed an info hash');
  return m[1]!;
}
function isosyncInfo(path: string): { infoHash: string; pieceCount: number; length: number; name: string } {
  const r = cli(['info', path, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('interop: other clients read isosync torrents', { skip: needTools('libtorrent', 'transmission-show', 'aria2c') }, () => {
  it('libtorrent, transmission-show and aria2c report the infohash isosync info reports', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const home = join(tmp.dir, 'home');
    const v100 = join(tmp.dir, 'distro-1.00.iso');
    const v101 = join(tmp.dir, 'distro-1.01.iso');
    writeFileSync(v100, isoAround(seededBytes(3 * 1024 * 1024 + 2048, '1.00')));
    writeFileSync(v101, isoAround(seededBytes(3 * 1024 * 1024 + 4096, '1.01')));
    for (const [img, rel] of [[v100, '1.00'], [v101, '1.01']] as const) {
      const r = cli([
        'publish', img, '--product', 'distro', '--release', rel, '--home', home,
        '--tracker', 'http://127.0.0.1:6969/announce', '--tracker', 'udp://127.0.0.1:6969',
        '--web-seed', 'http://127.0.0.1:8080/', '--comment', 'interop',
      ]);
      assert.equal(r.status, 0, r.stderr);
    }
    for (const torrent of ['distro-1.00.iso.torrent', 'distro-1.01.iso.torrent']) {
      const path = join(tmp.dir, torrent);
      const ours = isosyncInfo(path).infoHash;
      assert.equal(libtorrentInfoHash(path), ours, 'libtorrent');
      assert.equal(transmissionInfoHash(path), ours, 'transmission-show');
      assert.equal(aria2InfoHash(path), ours, 'aria2c');
    }
    // libtorrent also understands the BEP 38 keys isosync writes.
    const out = runOk(PY, [
      '-c',
      'import sys, libtorrent as lt; ti = lt.torrent_info(sys.argv[1]); print(ti.collections()); print([str(h) for h in ti.similar_torrents()])',
      join(tmp.dir, 'distro-1.01.iso.torrent'),
    ]);
    assert.equal(out, `['distro']\n['${isosyncInfo(join(tmp.dir, 'distro-1.00.iso.torrent')).infoHash}']\n`);
  });
});

describe('interop: isosync reads torrents made by other tools', { skip: needTools('libtorrent', 'mktorrent', 'transmission-show') }, () => {
  it('reads mktorrent torrents with the infohash libtorrent and transmission report, and the same pieces as isosync publish', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const img = join(tmp.dir, 'image.iso');
    writeFileSync(img, isoAround(seededBytes(5 * 1024 * 1024 + 12345, 'mk')));
    for (const log2 of [15, 18, 20]) {
      const mk = join(tmp.dir, `mk-${log2}.torrent`);
      runOk('mktorrent', ['-l', String(log2), '-a', 'http://127.0.0.1:6969/announce', '-o', mk, img]);
      const info = isosyncInfo(mk);
      assert.equal(info.infoHash, libtorrentInfoHash(mk));
      assert.equal(info.infoHash, transmissionInfoHash(mk));
      assert.equal(info.name, 'image.iso');

      const ours = join(tmp.dir, `ours-${log2}.torrent`);
      const r = cli(['publish', img, '--product', 'p', '--release', String(log2), '--piece-length', String(2 ** log2), '-o', ours, '--home', join(tmp.dir, 'home')]);
      assert.equal(r.status, 0, r.stderr);
      const a = parseMetainfo(readFileSync(mk), mk);
      const b = parseMetainfo(readFileSync(ours), ours);
      assert.equal(b.pieceLength, 2 ** log2);
      assert.ok(Buffer.from(a.pieces).equals(Buffer.from(b.pieces)), `pieces equal mktorrent's at piece length 2^${log2}`);
    }
  });

  for (const mode of ['v1_only', 'hybrid'] as const) {
    it(`reads libtorrent-made torrents (${mode}) with libtorrent's v1 infohash`, (t) => {
      const tmp = tempDir();
      t.after(tmp.cleanup);
      const img = join(tmp.dir, 'lt.iso');
      writeFileSync(img, seededBytes(2 * 1024 * 1024 + 777, `lt-${mode}`));
      const out = join(tmp.dir, 'lt.torrent');
      const flags = mode === 'v1_only' ? 'lt.create_torrent.v1_only' : '0';
      runOk(PY, [
        '-c',
        [
          'import sys, os, libtorrent as lt',
          'fs = lt.file_storage()',
          'lt.add_files(fs, sys.argv[1])',
          `ct = lt.create_torrent(fs, 65536, flags=${flags})`,
          'ct.add_tracker("http://127.0.0.1:6969/announce")',
          'ct.add_url_seed("http://127.0.0.1:8080/lt.iso")',
          'lt.set_piece_hashes(ct, os.path.dirname(sys.argv[1]))',
          'open(sys.argv[2], "wb").write(lt.bencode(ct.generate()))',
        ].join('\n'),
        img,
        out,
      ]);
      const info = isosyncInfo(out);
      assert.equal(info.infoHash, libtorrentInfoHash(out));
      assert.equal(info.length, 2 * 1024 * 1024 + 777);
      const r = cli(['info', out, '--json']);
      assert.deepEqual(JSON.parse(r.stdout).webSeeds, ['http://127.0.0.1:8080/lt.iso']);
    });
  }
});

const PAIR = [fixture('releases', 'distro-1.00.iso'), fixture('releases', 'distro-1.01.iso')];
const pairSkip = PAIR.every((p) => existsSync(p)) ? needTools('libtorrent', 'transmission-show', 'aria2c') : 'needs fixtures/releases (npm run fixtures)';

describe('interop: the fixture releases published with lineage and hints', { skip: pairSkip }, () => {
  it('every client reads the 1.01 torrent with its hints, and libtorrent verifies every piece of the image against it', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const home = join(tmp.dir, 'home');
    for (const [src, rel] of [[PAIR[0]!, '1.00'], [PAIR[1]!, '1.01']] as const) {
      const img = join(tmp.dir, `distro-${rel}.iso`);
      copyFileSync(src, img);
      const r = cli(['publish', img, '--product', 'distro', '--release', rel, '--home', home, '--web-seed', 'http://127.0.0.1:8080/']);
      assert.equal(r.status, 0, r.stderr);
    }
    const torrent = join(tmp.dir, 'distro-1.01.iso.torrent');
    const r = cli(['info', torrent, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.equal(info.lineage[0].release, '1.00');
    assert.equal(libtorrentInfoHash(torrent), info.infoHash);
    assert.equal(transmissionInfoHash(torrent), info.infoHash);
    assert.equal(aria2InfoHash(torrent), info.infoHash);
    const out = runOk(PY, [
      '-c',
      [
        'import sys, time, libtorrent as lt',
        'ti = lt.torrent_info(sys.argv[1])',
        "s = lt.session({'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False, 'listen_interfaces': '127.0.0.1:0'})",
        "h = s.add_torrent({'ti': ti, 'save_path': sys.argv[2]})",
        'for _ in range(300):',
        '    st = h.status()',
        '    if st.state in (lt.torrent_status.seeding, lt.torrent_status.finished): break',
        '    time.sleep(0.1)',
        'print(st.num_pieces, ti.num_pieces())',
      ].join('\n'),
      torrent,
      tmp.dir,
    ]);
    const [have, total] = out.trim().split(' ').map(Number);
    assert.equal(total, info.pieceCount);
    assert.equal(have, total, 'libtorrent found every piece of the image valid');
  });
});
