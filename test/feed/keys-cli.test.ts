/**
 * keygen, publish --sign and info as a user runs them, and a signed torrent
 * in the BitTorrent clients people run: python3-libtorrent, transmission-show
 * and aria2c load it with the same infohash as unsigned (the signature lives
 * outside the info dictionary). Interop skips visibly when a tool is missing.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeBencode, type BDict } from '../../src/torrent/bencode-decode.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { cli, needTools, tempDir, runOk } from '../helpers/env.js';
import { isoAround } from '../helpers/iso-image.js';
import { seededBytes } from '../helpers/random.js';

/** A published pair: the same image as an unsigned and a signed torrent. */
function signedPair(t: { after: (fn: () => void) => void }) {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const key = join(tmp.dir, 'release.key');
  const k = cli(['keygen', '-o', key]);
  assert.equal(k.status, 0, k.stderr);
  const img = join(tmp.dir, 'distro-1.00.iso');
  writeFileSync(img, isoAround(seededBytes(3 * 1024 * 1024 + 2048, 'x')));
  const pub = (out: string, extra: string[]) => {
    const r = cli(['publish', img, '--product', 'distro', '--release', '1.00', '--home', join(tmp.dir, `home-${out}`), '-o', join(tmp.dir, out), '--tracker', 'http://127.0.0.1:6969/announce', '--json', ...extra], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const plain = pub('plain.torrent', []);
  const signed = pub('signed.torrent', ['--sign', key]);
  return { dir: tmp.dir, key, publicKey: k.stdout.trim(), plain, signed, plainPath: join(tmp.dir, 'plain.torrent'), signedPath: join(tmp.dir, 'signed.torrent') };
}

describe('keygen, publish --sign, info', () => {
  it('keygen writes the secret key 0600, the public key beside it, prints the public key, and will not overwrite without --force', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const key = join(tmp.dir, 'k');
    const r = cli(['keygen', '-o', key]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ed25519:[A-Za-z0-9_-]{43}\n$/);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.equal(readFileSync(`${key}.pub`, 'utf8'), r.stdout);
    assert.match(readFileSync(key, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    const again = cli(['keygen', '-o', key]);
    assert.equal(again.status, 2);
    assert.equal(again.stderr, `isosync: Cannot write key ${JSON.stringify(key)}: the file exists (use --force to replace it)\n`);
    assert.equal(readFileSync(`${key}.pub`, 'utf8'), r.stdout, 'nothing replaced');
    const forced = cli(['keygen', '-o', key, '--force']);
    assert.equal(forced.status, 0);
    assert.notEqual(forced.stdout, r.stdout);
  });

  it('publish --sign keeps the infohash and every other byte of the info dictionary; info names the signer and says it is valid', (t) => {
    const p = signedPair(t);
    assert.equal(p.signed.infoHash, p.plain.infoHash);
    assert.equal(p.signed.signedBy, p.publicKey);
    const info = JSON.parse(cli(['info', p.signedPath, '--json', '--home', join(p.dir, 'info-home')]).stdout);
    assert.deepEqual(info.signatures, [{ signer: p.publicKey, valid: true }]);
    const text = cli(['info', p.signedPath, '--home', join(p.dir, 'info-home')]).stdout;
    assert.match(text, new RegExp(`^signed by: +${p.publicKey} \\(valid: infohash, product, release and lineage match\\)$`, 'm'));
    assert.match(cli(['info', p.plainPath, '--home', join(p.dir, 'info-home')]).stdout, /^signed by: +nobody \(unsigned\)$/m);
  });

  it('info says INVALID for a signature that does not match, and why', (t) => {
    const p = signedPair(t);
    const top = new Map(decodeBencode(readFileSync(p.signedPath)).value as BDict) as Map<string, unknown>;
    const sigs = top.get('signatures') as Map<string, Map<string, unknown>>;
    const s = new Uint8Array(sigs.get(p.publicKey)!.get('signature') as Uint8Array);
    s[5]! ^= 0x10;
    sigs.get(p.publicKey)!.set('signature', s);
    const bad = join(p.dir, 'bad.torrent');
    writeFileSync(bad, encodeBencode(top));
    const text = cli(['info', bad, '--home', join(p.dir, 'info-home')]);
    assert.equal(text.status, 0);
    assert.match(text.stdout, new RegExp(`^signed by: +${p.publicKey} INVALID: the signature does not verify`, 'm'));
  });

  it('publish refuses a key file that is not a key, before writing anything', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const img = join(tmp.dir, 'a.iso');
    writeFileSync(img, isoAround(seededBytes(100_000, 'a')));
    writeFileSync(join(tmp.dir, 'not.key'), 'hello\n');
    const r = cli(['publish', img, '--product', 'd', '--release', '1', '--sign', join(tmp.dir, 'not.key'), '--home', join(tmp.dir, 'h')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^isosync: Cannot read key ".*not\.key": not a PEM private key/);
    assert.deepEqual(readdirSync(tmp.dir).sort(), ['a.iso', 'not.key'], 'no torrent, no catalog');
  });
});

describe('interop: a signed torrent in other clients', { skip: needTools('libtorrent', 'transmission-show', 'aria2c') }, () => {
  it('libtorrent, transmission-show and aria2c load it with the same infohash as the unsigned one', (t) => {
    const p = signedPair(t);
    for (const path of [p.plainPath, p.signedPath]) {
      const lt = runOk('/usr/bin/python3', ['-c', 'import sys, libtorrent as lt; ti = lt.torrent_info(sys.argv[1]); print(ti.info_hashes().v1, ti.num_pieces(), ti.total_size())', path]).trim().split(' ');
      assert.equal(lt[0], p.plain.infoHash, `libtorrent on ${path}`);
      assert.equal(Number(lt[1]), p.plain.pieceCount);
      assert.equal(Number(lt[2]), p.plain.length);
      assert.equal(/^\s*Hash(?: v1)?:\s*([0-9a-f]{40})\s*$/m.exec(runOk('transmission-show', [path]))?.[1], p.plain.infoHash, `transmission-show on ${path}`);
      assert.equal(/^Info Hash:\s*([0-9a-f]{40})\s*$/m.exec(runOk('aria2c', ['--show-files', path]))?.[1], p.plain.infoHash, `aria2c on ${path}`);
    }
  });
});
