/**
 * BitTorrent v2 and hybrid torrents against python3-libtorrent (2.0.x): it
 * makes hybrid (its default) and v2-only torrents of one file and of a
 * folder; isosync reads them with the infohashes libtorrent reports. isosync
 * makes v2 and hybrid torrents of the same file that are byte-for-byte the
 * info dictionaries libtorrent makes (same infohashes), and libtorrent loads
 * isosync's torrents and verifies the data against them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createTorrent } from '../../src/torrent/create.js';
import { hashPieces, hashPiecesV2 } from '../../src/torrent/hash-pieces.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { computeFloor } from '../../bench/floor.js';
import { cli, cliAsync, fixture, needTools, tempDir } from '../helpers/env.js';
import { startRangeServer } from '../helpers/range-server.js';
import { Rng } from '../helpers/random.js';

const PY = '/usr/bin/python3';

/** Runs a python3-libtorrent snippet; argv[1..] are `args`; returns its JSON output. */
function lt<T>(script: string, args: string[]): T {
  const r = spawnSync(PY, ['-c', `import sys, json, libtorrent as lt\n${script}`, ...args], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

const MAKE = `
path, out, mode, pl = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
fs = lt.file_storage()
lt.add_files(fs, path)
flags = {'hybrid': 0, 'v2': lt.create_torrent.v2_only, 'v1': lt.create_torrent.v1_only}[mode]
ct = lt.create_torrent(fs, pl, flags=flags)
lt.set_piece_hashes(ct, sys.argv[5])
open(out, 'wb').write(lt.bencode(ct.generate()))
ih = lt.torrent_info(out).info_hashes()
print(json.dumps({'v1': str(ih.v1), 'v2': str(ih.v2)}))
`;

/** libtorrent loads a torrent, checks the data in `dir` against it, and says what it verified. */
const CHECK = `
import time
ti = lt.torrent_info(sys.argv[1])
ses = lt.session({'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False, 'listen_interfaces': '127.0.0.1:0'})
h = ses.add_torrent({'ti': ti, 'save_path': sys.argv[2]})
checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
for _ in range(600):
    s = h.status()
    if s.has_metadata and s.state not in checking:
        break
    time.sleep(0.05)
ih = ti.info_hashes()
print(json.dumps({'v1': str(ih.v1), 'v2': str(ih.v2), 'seeding': s.state == lt.torrent_status.seeding, 'pieces': s.num_pieces, 'total': ti.num_pieces()}))
`;

const ZERO_V1 = '0'.repeat(40);

describe('v2 and hybrid torrents interop with libtorrent', { skip: needTools('libtorrent') }, () => {
  const tmp = tempDir();
  const one = join(tmp.dir, 'distro-2.00.iso');
  const dir = join(tmp.dir, 'release');
  const rng = new Rng(52);
  writeFileSync(one, rng.bytes(1_000_000));
  mkdirSync(dir);
  writeFileSync(join(dir, 'distro.iso'), rng.bytes(200_000));
  writeFileSync(join(dir, 'SHA256SUMS'), 'abc  distro.iso\n');
  writeFileSync(join(dir, 'SHA256SUMS.sign'), rng.bytes(566));

  after(tmp.cleanup);

  it('reads libtorrent hybrid and v2-only torrents of one file with its infohashes', () => {
    for (const mode of ['hybrid', 'v2'] as const) {
      const out = join(tmp.dir, `one-${mode}.torrent`);
      const want = lt<{ v1: string; v2: string }>(MAKE, [one, out, mode, '32768', tmp.dir]);
      const m = parseMetainfo(readFileSync(out), out);
      assert.equal(m.version, mode);
      assert.equal(m.v2?.infoHash, want.v2);
      assert.equal(m.infoHash, mode === 'hybrid' ? want.v1 : want.v2.slice(0, 40));
      assert.equal(want.v1 === ZERO_V1, mode === 'v2');
      assert.equal(m.files, undefined);
      assert.equal(m.length, 1_000_000);
      assert.equal(m.pieceCount, 31);
      assert.equal(m.v2?.layersComplete, true);
      assert.equal(m.v2?.files.length, 1);
      assert.deepEqual(m.v2?.files[0]?.path, ['distro-2.00.iso']);
    }
  });

  it('reads libtorrent hybrid and v2-only torrents of a folder: pad files align every file to a piece', () => {
    for (const mode of ['hybrid', 'v2'] as const) {
      const out = join(tmp.dir, `dir-${mode}.torrent`);
      const want = lt<{ v1: string; v2: string }>(MAKE, [dir, out, mode, '65536', tmp.dir]);
      const m = parseMetainfo(readFileSync(out), out);
      assert.equal(m.version, mode);
      assert.equal(m.v2?.infoHash, want.v2);
      assert.equal(m.infoHash, mode === 'hybrid' ? want.v1 : want.v2.slice(0, 40));
      const real = (m.files ?? []).filter((f) => !f.attr.includes('p'));
      assert.deepEqual(real.map((f) => [f.path.join('/'), f.length, f.offset % 65536]), [
        ['SHA256SUMS', 16, 0],
        ['SHA256SUMS.sign', 566, 0],
        ['distro.iso', 200_000, 0],
      ]);
      assert.equal(m.pieceCount, 1 + 1 + 4);
      assert.deepEqual(m.v2?.files.map((f) => f.firstPiece), [0, 1, 2]);
    }
  });

  for (const mode of ['hybrid', 'v2'] as const) {
    it(`makes the same ${mode} info dictionary as libtorrent, and libtorrent verifies the image with isosync's torrent`, async () => {
      const pl = 65536;
      const h = await hashPiecesV2(one, pl);
      assert.deepEqual(h.pieces, await hashPieces(one, pl));
      const { bytes, metainfo } = createTorrent({ name: 'distro-2.00.iso', length: 1_000_000, pieceLength: pl, pieces: h.pieces, version: mode, v2: h, creationDate: 1 });
      const ours = join(tmp.dir, `isosync-${mode}.torrent`);
      writeFileSync(ours, bytes);
      const theirs = lt<{ v1: string; v2: string }>(MAKE, [one, join(tmp.dir, `lt-${mode}.torrent`), mode, String(pl), tmp.dir]);
      assert.equal(metainfo.v2?.infoHash, theirs.v2);
      if (mode === 'hybrid') assert.equal(metainfo.infoHash, theirs.v1);
      const seen = lt<{ v1: string; v2: string; seeding: boolean; pieces: number; total: number }>(CHECK, [ours, tmp.dir]);
      assert.equal(seen.v2, metainfo.v2?.infoHash);
      assert.equal(seen.v1, mode === 'hybrid' ? metainfo.infoHash : ZERO_V1);
      assert.ok(seen.seeding, `libtorrent verified ${seen.pieces} of ${seen.total} pieces`);
      assert.equal(seen.pieces, 16);
    });
  }

  it('syncs a libtorrent hybrid torrent of a release --from the previous one at no more than 1.05 x the floor (bytes the server sent)', async (t) => {
    const releases = fixture('releases');
    const cur = join(releases, 'distro-1.01.iso');
    const old = join(releases, 'distro-1.00.iso');
    const torrent = join(tmp.dir, 'release-hybrid.torrent');
    // libtorrent's default (hybrid), made from the release as its publisher would, at 256 KiB pieces.
    lt(MAKE, [cur, torrent, 'hybrid', '262144', releases]);
    assert.equal(parseMetainfo(readFileSync(torrent), torrent).version, 'hybrid');
    const server = await startRangeServer({ '/distro-1.01.iso': cur });
    t.after(() => server.close());
    const out = join(tmp.dir, 'synced-1.01.iso');
    const r = await cliAsync(['sync', torrent, '--from', old, '--web-seed', `${server.url}/distro-1.01.iso`, '--no-catalog', '--home', join(tmp.dir, 'home'), '-o', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(out).equals(readFileSync(cur)));
    const floor = (await computeFloor(cur, [old])).floorBytes;
    const ratio = server.bytesSent() / floor;
    process.stderr.write(`# hybrid torrent from libtorrent: ${server.bytesSent()} bytes sent, floor ${floor}, ${ratio.toFixed(3)} x\n`);
    assert.ok(ratio <= 1.05, `${ratio.toFixed(3)} x the floor`);
  });

  it('isosync info shows both infohashes of a hybrid torrent', () => {
    const path = join(tmp.dir, 'one-hybrid.torrent');
    const want = lt<{ v1: string; v2: string }>(MAKE, [one, path, 'hybrid', '32768', tmp.dir]);
    const r = cli(['info', path, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { infoHash: string; infoHashV2: string; version: string };
    assert.deepEqual([j.version, j.infoHash, j.infoHashV2], ['hybrid', want.v1, want.v2]);
    const text = cli(['info', path]);
    assert.match(text.stdout, new RegExp(`${want.v1}`));
    assert.match(text.stdout, new RegExp(`${want.v2}`));
  });

});
