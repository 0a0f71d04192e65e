/**
 * `isosync seed TORRENT --source DIR`, no image: a folder holding some of the
 * release's packages (flat, as in an apt cache, and a file that is none of
 * them, and one of the right name and size with damaged bytes). The seed
 * reads the image's directory tree from a mirror, rebuilds and verifies every
 * piece the packages cover, and advertises exactly those that verify.
 * A python3-libtorrent leecher that can reach nobody else ends with exactly
 * that have-bitfield: every piece the seed advertised, and nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BIN, ROOT, cli, needTools, tempDir } from '../helpers/env.js';
import { startRangeServer } from '../helpers/range-server.js';
import { releasesDir, releasesMissing } from '../packages/releases.js';
import { readIso } from '../../src/iso/index.js';
import { FileSource } from '../../src/store/file-source.js';
import { within } from '../swarm/peers.js';

/** A libtorrent leecher that talks to one peer only, until it has `want` pieces (or 90 s); prints its have-bitfield. */
const LT_HAVE = String.raw`
import sys, time
import libtorrent as lt
torrent, save, peer, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
  'enable_natpmp': False, 'enable_outgoing_utp': False, 'enable_incoming_utp': False, 'alert_mask': 0})
p = lt.add_torrent_params()
p.ti = lt.torrent_info(torrent)
p.save_path = save
h = s.add_torrent(p)
host, port = peer.rsplit(':', 1)
h.connect_peer((host, int(port)))
n = p.ti.num_pieces()
deadline = time.time() + 90
while time.time() < deadline and h.status().num_pieces < want:
  time.sleep(0.1)
time.sleep(1)
print('HAVE ' + ''.join('1' if h.have_piece(i) else '0' for i in range(n)), flush=True)
`;

test('seed --source serves a libtorrent leecher every piece its loose files cover, and only those', { skip: releasesMissing() || needTools('libtorrent'), timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDir('isosync-loose-');
  const image = join(dir, 'distro-1.01.iso');
  copyFileSync(join(releasesDir(), 'distro-1.01.iso'), image);
  const server = await startRangeServer({ '/distro-1.01.iso': image });
  let seed: ReturnType<typeof spawn> | undefined;
  try {
    const torrent = join(dir, 'distro-1.01.iso.torrent');
    assert.equal(cli(['publish', image, '--product', 'distro', '--release', '1.01', '--piece-length', '32K', '--home', join(dir, 'pub'), '-o', torrent]).status, 0);
    // Half of the release's packages, flat in one folder, and a stray file.
    const all = join(dir, 'all');
    assert.equal(cli(['extract', image, 'pool/**', '-o', all]).status, 0);
    const debs = (readdirSync(all, { recursive: true }) as string[]).filter((f) => f.endsWith('.deb')).sort();
    const chosen = debs.filter((_, i) => i % 2 === 0);
    const cache = join(dir, 'cache');
    mkdirSync(cache);
    for (const f of chosen) copyFileSync(join(all, f), join(cache, basename(f)));
    writeFileSync(join(cache, 'notes.txt'), 'not a package of this release\n');
    // One package with the right name and size but a damaged byte: mapped, yet its pieces must not verify.
    const damaged = chosen.filter((f) => statSync(join(all, f)).size >= 4 * 32768).sort((a, b) => statSync(join(all, b)).size - statSync(join(all, a)).size)[0]!;
    const bad = readFileSync(join(all, damaged));
    for (let at = 0; at < bad.length; at += 2048) bad[at] = bad[at]! ^ 0xff;
    writeFileSync(join(cache, basename(damaged)), bad);

    // What the packages cover, from the image itself: pieces that lie wholly inside their sectors.
    const src = await FileSource.open(image);
    const iso = await readIso(src, { name: 'distro-1.01.iso' });
    await src.close();
    const names = new Set(chosen.filter((f) => f !== damaged).map((f) => basename(f)));
    const sectors = iso.entries.filter((e) => e.type === 'file' && names.has(e.name)).map((e) => ({ start: e.lba * 2048, end: (e.lba + Math.ceil(e.size / 2048)) * 2048 }));
    const damagedEntry = iso.entries.find((e) => e.type === 'file' && e.name === basename(damaged))!;
    const pl = 32768;
    const count = Math.ceil(iso.imageBytes / pl);
    const insideFiles = (p: number) => {
      // Covered when the chosen files' sectors, adjacent ones joined, hold the whole piece.
      let at = p * pl;
      const end = Math.min(iso.imageBytes, at + pl);
      for (const s of [...sectors].sort((a, b) => a.start - b.start)) if (s.start <= at && s.end > at) at = s.end;
      return at >= end;
    };
    const touchesFiles = (p: number) => sectors.some((s) => s.start < (p + 1) * pl && s.end > p * pl);

    seed = spawn(process.execPath, [BIN, 'seed', torrent, '--source', cache, '--mirror', `${server.url}/distro-1.01.iso`, '--port', '0', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    seed.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    seed.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const started = Date.now();
    while (!/"have": "[01]+"/.test(out)) {
      assert.ok(seed.exitCode === null && Date.now() - started < 60_000, `seed did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const info = JSON.parse(out.slice(0, out.indexOf('\n}\n') + 2)) as { port: number; have: string; pieces: number; matchedFiles: number; looseFiles: number };
    assert.equal(info.matchedFiles, chosen.length);
    assert.equal(info.looseFiles, chosen.length + 1);
    assert.equal(info.have.length, count);
    let damagedPieces = 0;
    for (let p = 0; p < count; p++) {
      if (insideFiles(p)) assert.equal(info.have[p], '1', `piece ${p} lies inside the packages: advertised`);
      if (!touchesFiles(p)) assert.equal(info.have[p], '0', `piece ${p} holds no byte of the good packages: not advertised`);
      if (p * pl >= damagedEntry.lba * 2048 && (p + 1) * pl <= damagedEntry.lba * 2048 + damagedEntry.size) {
        damagedPieces++;
        assert.equal(info.have[p], '0', `piece ${p} lies inside the damaged package: it fails its hash, not advertised`);
      }
    }
    assert.ok(damagedPieces >= 2, `the damaged package covers whole pieces: ${damagedPieces}`);
    assert.ok(info.pieces > count / 4 && info.pieces < count, `${info.pieces} of ${count}`);

    const lt = spawn('/usr/bin/python3', ['-c', LT_HAVE, torrent, join(dir, 'lt'), `127.0.0.1:${info.port}`, String(info.pieces)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let ltOut = '';
    lt.stdout.setEncoding('utf8').on('data', (d: string) => (ltOut += d));
    lt.stderr.setEncoding('utf8').on('data', (d: string) => (ltOut += d));
    const code = await within(new Promise<number | null>((r) => lt.on('exit', r)), 120_000);
    if (code === 'timeout') lt.kill('SIGKILL');
    assert.equal(code, 0, ltOut);
    const have = /HAVE ([01]+)/.exec(ltOut)?.[1];
    assert.equal(have, info.have, "the leecher's have-bitfield is exactly what the seed advertised");
  } finally {
    if (seed && seed.exitCode === null) {
      const s = seed;
      const gone = new Promise((r) => s.on('exit', r));
      s.kill('SIGINT');
      await within(gone, 5000);
      if (s.exitCode === null) s.kill('SIGKILL');
    }
    await server.close();
    cleanup();
  }
});
