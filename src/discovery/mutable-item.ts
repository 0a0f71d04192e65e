/**
 * BEP 44 mutable items and the BEP 46 pointer isosync stores in them: a
 * product's newest signed feed, found in the DHT by its publisher's public
 * key alone.
 *
 *   target   SHA-1(public key || salt)          BEP 44 §"mutable items"
 *   salt     the product name (UTF-8, 1-64 bytes), so one key serves many products
 *   seq      the feed's sequence number: a DHT node keeps the highest
 *   sig      Ed25519 over  [4:salt<len>:<salt>] 3:seqi<seq>e 1:v<bencoded v>
 *   v        (BEP 46 keeps `ih`; isosync adds what a follower needs next)
 *     ih     20 bytes   v1 infohash of the newest release's torrent
 *     r      text       its release label
 *     f      32 bytes   SHA-256 of the signed feed document (optional)
 *
 * The item is small (`v` stays far below BEP 44's 1000 bytes) and says
 * nothing a follower takes on trust: the feed it points at carries the
 * publisher's own signature, and the DHT signature binds the pointer to the
 * same key.
 *
 * Pure: node:crypto only (Ed25519 as in Node's crypto, no other library).
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { IsosyncError } from '../errors.js';
import { decodeBencode, type BValue } from '../torrent/bencode-decode.js';
import { encodeBencode } from '../torrent/bencode-encode.js';
import { isDict } from '../torrent/fields.js';

/** BEP 44: `v` must bencode to fewer than 1000 bytes. */
export const MAX_ITEM_VALUE_BYTES = 1000;
/** BEP 44: a salt is at most 64 bytes. */
export const MAX_SALT_BYTES = 64;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the raw 32-byte key follows. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface FeedPointer {
  /** v1 infohash (20 bytes) of the newest release. */
  readonly infoHash: Uint8Array;
  readonly release: string;
  /** SHA-256 of the signed feed document. */
  readonly feedSha256?: Uint8Array;
}

/** The DHT key of a mutable item: SHA-1 of the public key and the salt. */
export function mutableTarget(publicKey: Uint8Array, salt?: Uint8Array): Uint8Array {
  checkKey(publicKey);
  const h = createHash('sha1').update(publicKey);
  if (salt && salt.length > 0) h.update(salt);
  return new Uint8Array(h.digest());
}

/** The bytes BEP 44 signs: the bencoded {salt?, seq, v} without the outer "d" and "e". */
export function signingInput(seq: number, v: BValue | Record<string, unknown>, salt?: Uint8Array): Uint8Array {
  const d = encodeBencode({ ...(salt && salt.length > 0 ? { salt } : {}), seq, v });
  return d.subarray(1, d.length - 1);
}

/** The salt for a product: its name in UTF-8 (1-64 bytes). */
export function productSalt(product: string): Uint8Array {
  const b = new TextEncoder().encode(product);
  if (b.length === 0 || b.length > MAX_SALT_BYTES) {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot use product ${JSON.stringify(product)} as a DHT salt: it must be 1 to ${MAX_SALT_BYTES} bytes`);
  }
  return b;
}

export function encodeFeedPointer(p: FeedPointer): Record<string, Uint8Array | string> {
  if (p.infoHash.length !== 20) throw new IsosyncError('BAD_ARGUMENT', `Cannot point at release ${JSON.stringify(p.release)}: an infohash is 20 bytes`);
  const v = { ih: p.infoHash, r: p.release, ...(p.feedSha256 ? { f: p.feedSha256 } : {}) };
  if (encodeBencode(v).length >= MAX_ITEM_VALUE_BYTES) {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot point at release ${JSON.stringify(p.release)}: the DHT item would reach ${MAX_ITEM_VALUE_BYTES} bytes`);
  }
  return v;
}

/** Reads a pointer from a DHT item's `v` (a dictionary, or its bencoded bytes); a malformed one is BAD_REPLY. */
export function decodeFeedPointer(v: unknown): FeedPointer {
  const bad = (why: string): never => {
    throw new IsosyncError('BAD_REPLY', `Cannot read a feed pointer from the DHT: ${why}`);
  };
  let d: BValue;
  if (v instanceof Uint8Array) {
    try {
      d = decodeBencode(v).value;
    } catch (e) {
      return bad((e as Error).message);
    }
  } else {
    // bittorrent-dht hands dictionaries back decoded, with Buffer values.
    try {
      d = decodeBencode(encodeBencode(v)).value;
    } catch (e) {
      return bad((e as Error).message);
    }
  }
  if (!isDict(d)) return bad('v is not a dictionary');
  const ih = d.get('ih');
  const r = d.get('r');
  const f = d.get('f');
  if (!(ih instanceof Uint8Array) || ih.length !== 20) bad('ih is not a 20-byte infohash');
  if (!(r instanceof Uint8Array) || r.length === 0 || r.length > 128) bad('r is not a release label');
  if (f !== undefined && (!(f instanceof Uint8Array) || f.length !== 32)) bad('f is not a 32-byte SHA-256');
  const release = new TextDecoder('utf-8', { fatal: false }).decode(r as Uint8Array);
  return { infoHash: ih as Uint8Array, release, ...(f instanceof Uint8Array ? { feedSha256: f } : {}) };
}

/** An Ed25519 public key from its 32 raw bytes. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  checkKey(raw);
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The raw 32 bytes of an Ed25519 public key. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - ED25519_PUBLIC_KEY_BYTES));
}

/** BEP 44 signature check, in the shape bittorrent-dht asks for: never throws. */
export function verifyItemSignature(sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (sig.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
  try {
    return cryptoVerify(null, message, ed25519PublicKey(publicKey), sig);
  } catch {
    return false;
  }
}

function checkKey(k: Uint8Array): void {
  if (k.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot use a ${k.length}-byte public key: Ed25519 keys are ${ED25519_PUBLIC_KEY_BYTES} bytes`);
  }
}
