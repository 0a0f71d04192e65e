/**
 * Publisher keys: Ed25519 (RFC 8032) through Node's own crypto.
 *
 *   public key   32 bytes; written for people as `ed25519:` + base64url of
 *                the 32 bytes without padding (51 characters), e.g.
 *                ed25519:Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE
 *   secret key   a PKCS#8 PEM file ("-----BEGIN PRIVATE KEY-----"), the form
 *                `openssl genpkey -algorithm ed25519` writes, so a key made
 *                elsewhere works and ours works elsewhere
 *   signature    64 bytes over a message (Ed25519 hashes it itself)
 *
 * Every message isosync signs starts with its own prefix or is a bencoded
 * info dictionary (torrent-signature.ts), so a signature made for one kind
 * of statement can never be taken for another.
 *
 * Pure apart from key generation (the system's CSPRNG): no files, no network.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { IsosyncError } from '../errors.js';

/** Ed25519 public key and signature sizes (RFC 8032 §5.1.5, §5.1.6). */
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const KEY_PREFIX = 'ed25519:';

const B64URL_43 = /^[A-Za-z0-9_-]{43}$/;

export interface PublicKey {
  /** The 32 raw bytes. */
  readonly raw: Uint8Array;
  /** `ed25519:` + base64url: how people and documents name the key. */
  readonly id: string;
  readonly object: KeyObject;
}

export interface SecretKey {
  readonly publicKey: PublicKey;
  sign(message: Uint8Array): Uint8Array;
  /** The PKCS#8 PEM text (what a key file holds). */
  pem(): string;
}

function publicFromObject(object: KeyObject): PublicKey {
  const x = object.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new IsosyncError('BAD_ARGUMENT', 'Cannot read key: not an Ed25519 public key');
  const raw = new Uint8Array(Buffer.from(x, 'base64url'));
  return Object.freeze({ raw, id: `${KEY_PREFIX}${x}`, object });
}

/** The public key of 32 raw bytes; undefined when they are not 32. */
export function publicKeyFromRaw(raw: Uint8Array): PublicKey | undefined {
  if (raw.length !== PUBLIC_KEY_BYTES) return undefined;
  try {
    const object = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
    return publicFromObject(object);
  } catch {
    return undefined;
  }
}

/** Parses `ed25519:BASE64URL`; throws BAD_ARGUMENT naming `what` and the value. */
export function parsePublicKey(text: string, what = 'key'): PublicKey {
  const t = text.trim();
  const body = t.startsWith(KEY_PREFIX) ? t.slice(KEY_PREFIX.length) : undefined;
  if (body === undefined || !B64URL_43.test(body)) {
    throw new IsosyncError('BAD_ARGUMENT', `Invalid ${what} ${JSON.stringify(text)}: expected ${KEY_PREFIX} and 43 base64url characters (as isosync keygen prints)`);
  }
  const k = publicKeyFromRaw(new Uint8Array(Buffer.from(body, 'base64url')));
  if (!k || k.id !== t) throw new IsosyncError('BAD_ARGUMENT', `Invalid ${what} ${JSON.stringify(text)}: not an Ed25519 public key`);
  return k;
}

export function sameKey(a: PublicKey | undefined, b: PublicKey | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.from(a.raw).equals(Buffer.from(b.raw));
}

function secretFromObject(object: KeyObject): SecretKey {
  const publicKey = publicFromObject(createPublicKey(object));
  return Object.freeze({
    publicKey,
    sign: (message: Uint8Array) => new Uint8Array(sign(null, message, object)),
    pem: () => String(object.export({ type: 'pkcs8', format: 'pem' })),
  });
}

/** A new key pair from the system's random source. */
export function generateSecretKey(): SecretKey {
  return secretFromObject(generateKeyPairSync('ed25519').privateKey);
}

/** Reads a PKCS#8 PEM Ed25519 secret key; `label` names it in errors (the file as given). */
export function parseSecretKey(pem: string, label: string): SecretKey {
  let object: KeyObject;
  try {
    object = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot read key ${JSON.stringify(label)}: not a PEM private key (make one with isosync keygen)`, { path: label });
  }
  if (object.asymmetricKeyType !== 'ed25519') {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot read key ${JSON.stringify(label)}: it is a ${object.asymmetricKeyType ?? 'unknown'} key, not Ed25519`, { path: label });
  }
  return secretFromObject(object);
}

/** Whether `signature` is `key`'s Ed25519 signature of `message` (false for any malformed input). */
export function verifySignature(key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  try {
    return verify(null, message, key.object, signature);
  } catch {
    return false;
  }
}

/** A short form of a key id for tables: the first 12 characters after the prefix. */
export function shortKeyId(id: string): string {
  return id.startsWith(KEY_PREFIX) ? `${id.slice(0, KEY_PREFIX.length + 12)}…` : id;
}
