import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { generateSecretKey, parsePublicKey, parseSecretKey, publicKeyFromRaw, sameKey, SIGNATURE_BYTES, verifySignature } from '../../src/feed/keys.js';
import { hasTool, tempDir } from '../helpers/env.js';

describe('publisher keys', () => {
  it('prints a public key as a short string that parses back to the same key', () => {
    const k = generateSecretKey();
    assert.match(k.publicKey.id, /^ed25519:[A-Za-z0-9_-]{43}$/);
    assert.equal(k.publicKey.id.length, 51);
    const back = parsePublicKey(k.publicKey.id);
    assert.ok(sameKey(back, k.publicKey));
    assert.deepEqual(back.raw, k.publicKey.raw);
    assert.ok(sameKey(publicKeyFromRaw(k.publicKey.raw), k.publicKey));
  });

  for (const [why, text] of [
    ['no prefix', 'Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE'],
    ['another algorithm', 'rsa:Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE'],
    ['too short', 'ed25519:Zm9vYmFy'],
    ['not base64url', 'ed25519:Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyY+/'],
    ['empty', ''],
  ] as const) {
    it(`refuses a public key string that is ${why}, naming the value`, () => {
      assert.throws(() => parsePublicKey(text, '--key'), (e: unknown) => e instanceof IsosyncError && e.code === 'BAD_ARGUMENT' && e.message.startsWith(`Invalid --key ${JSON.stringify(text)}`));
    });
  }

  it('signs and verifies; a changed message, signature or key does not verify', () => {
    const k = generateSecretKey();
    const other = generateSecretKey();
    const msg = new TextEncoder().encode('isosync-feed-v1\0hello');
    const sig = k.sign(msg);
    assert.equal(sig.length, SIGNATURE_BYTES);
    assert.ok(verifySignature(k.publicKey, msg, sig));
    const flipped = new Uint8Array(msg);
    flipped[3]! ^= 1;
    assert.equal(verifySignature(k.publicKey, flipped, sig), false);
    const badSig = new Uint8Array(sig);
    badSig[10]! ^= 0x80;
    assert.equal(verifySignature(k.publicKey, msg, badSig), false);
    assert.equal(verifySignature(other.publicKey, msg, sig), false);
    assert.equal(verifySignature(k.publicKey, msg, sig.subarray(0, 63)), false);
  });

  it('keeps the secret key as PKCS#8 PEM that reads back to the same key', () => {
    const k = generateSecretKey();
    const pem = k.pem();
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
    const back = parseSecretKey(pem, 'x.key');
    assert.ok(sameKey(back.publicKey, k.publicKey));
  });

  it('refuses a secret key file that is not an Ed25519 PEM key, with one line', () => {
    assert.throws(() => parseSecretKey('hello', 'bad.key'), /^IsosyncError: Cannot read key "bad\.key": not a PEM private key/);
  });

  it('reads a key made by openssl genpkey -algorithm ed25519, and refuses an RSA one', { skip: hasTool('openssl') ? false : 'needs openssl' }, (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const ed = join(tmp.dir, 'ed.pem');
    const rsa = join(tmp.dir, 'rsa.pem');
    assert.equal(spawnSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', ed]).status, 0);
    assert.equal(spawnSync('openssl', ['genpkey', '-algorithm', 'rsa', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', rsa]).status, 0);
    const k = parseSecretKey(readFileSync(ed, 'utf8'), ed);
    const msg = new Uint8Array([1, 2, 3]);
    assert.ok(verifySignature(k.publicKey, msg, k.sign(msg)));
    assert.throws(() => parseSecretKey(readFileSync(rsa, 'utf8'), rsa), /it is a rsa key, not Ed25519/);
  });
});
