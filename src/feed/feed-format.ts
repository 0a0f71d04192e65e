/**
 * The release feed: one small signed bencoded document per product, served
 * at a stable URL (/feeds/PRODUCT). docs/FEED.md is the specification; in
 * short:
 *
 *   signatures   dictionary: signer key id (`ed25519:...`) -> 64-byte signature of
 *                "isosync-feed-v1" 0x00 || bencode(signed)
 *   signed       dictionary:
 *     expires    integer, optional: seconds since 1970 from which the feed is refused
 *     key        32 bytes: the Ed25519 key that signs this feed (the publisher's current key)
 *     product    text
 *     releases   list, newest first, of:
 *       date       integer: seconds since 1970 the release was published
 *       infohash   20 bytes
 *       length     integer: the image's bytes
 *       lineage    list of {infohash: 20 bytes, release: text}, nearest first
 *       name       text: the image's file name (the torrent's name)
 *       release    text
 *       torrents   list of text: torrent URLs, absolute or relative to the feed's URL
 *     rotations  list, optional, oldest first, of key rotations:
 *       key        32 bytes: the earlier key
 *       next       32 bytes: the key that replaced it
 *       signature  64 bytes: `key`'s signature of
 *                  "isosync-key-rotation-v1" 0x00 || product || 0x00 || key || next
 *     sequence   integer >= 1: grows with every feed the publisher signs
 *     updated    integer: seconds since 1970 the feed was signed
 *     v          integer 1
 *
 * The decoder is strict (canonical bencode only), so the signed bytes are the
 * re-encoding of `signed` as decoded. Sizes are bounded (MAX_* below): a
 * hostile feed costs at most MAX_FEED_BYTES of memory and linear work.
 *
 * Pure: no I/O. Parsing checks structure only; trust is feed-verify.ts.
 */
import { createHash } from 'node:crypto';
import { IsosyncError } from '../errors.js';
import { BencodeError, decodeBencode, type BDict, type BValue } from '../torrent/bencode-decode.js';
import { encodeBencode } from '../torrent/bencode-encode.js';
import { bad, FieldError, getBytes, getDict, getInt, getList, getText, isDict, kindOf, required, textOf } from '../torrent/fields.js';
import { infoHashBytes, infoHashFromBytes, SHA1_BYTES, type InfoHash } from '../torrent/info-hash.js';
import type { LineageEntry } from '../torrent/isosync-keys.js';
import { parsePublicKey, publicKeyFromRaw, SIGNATURE_BYTES, type PublicKey, type SecretKey } from './keys.js';

export const FEED_VERSION = 1;
export const FEED_MESSAGE_PREFIX = 'isosync-feed-v1\0';
export const ROTATION_MESSAGE_PREFIX = 'isosync-key-rotation-v1\0';
/** The media type `isosync serve` gives a feed. */
export const FEED_CONTENT_TYPE = 'application/x-isosync-feed';

/** Largest feed read: 200 releases with long URL lists are well under 1 MiB. */
export const MAX_FEED_BYTES = 4 * 1024 * 1024;
/** Releases kept in a feed: years of point releases; older ones stay reachable through lineage. */
export const MAX_FEED_RELEASES = 200;
export const MAX_TORRENT_URLS = 16;
export const MAX_LINEAGE_ENTRIES = 64;
export const MAX_ROTATIONS = 64;
export const MAX_SIGNATURES = 16;
/** Text fields (labels, names, URLs) longer than this are refused. */
export const MAX_TEXT_CHARS = 2048;

export interface FeedRelease {
  readonly release: string;
  readonly infoHash: InfoHash;
  readonly name: string;
  readonly length: number;
  /** Seconds since 1970. */
  readonly date: number;
  readonly lineage: readonly LineageEntry[];
  readonly torrents: readonly string[];
}

export interface KeyRotation {
  readonly key: PublicKey;
  readonly next: PublicKey;
  readonly signature: Uint8Array;
}

export interface FeedBody {
  readonly product: string;
  readonly sequence: number;
  /** Seconds since 1970. */
  readonly updated: number;
  readonly expires?: number;
  readonly key: PublicKey;
  readonly rotations: readonly KeyRotation[];
  /** Newest first. */
  readonly releases: readonly FeedRelease[];
}

export interface FeedSignature {
  readonly signer: string;
  /** Undefined when the signer is not an Ed25519 key id. */
  readonly key?: PublicKey;
  readonly signature: Uint8Array;
}

export interface ParsedFeed {
  readonly body: FeedBody;
  readonly signatures: readonly FeedSignature[];
  /** bencode(signed): what each signature covers, after the prefix. */
  readonly signedBytes: Uint8Array;
  /** The whole document as read. */
  readonly bytes: Uint8Array;
  /** SHA-256 of the whole document, hex. */
  readonly digest: string;
}

export function feedMessage(signedBytes: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(FEED_MESSAGE_PREFIX), signedBytes]);
}

export function rotationMessage(product: string, key: PublicKey, next: PublicKey): Uint8Array {
  return Buffer.concat([Buffer.from(ROTATION_MESSAGE_PREFIX), Buffer.from(product, 'utf8'), Buffer.from([0]), key.raw, next.raw]);
}

/** The rotation from `from` to `to`, signed by `from`. */
export function signRotation(product: string, from: SecretKey, to: PublicKey): KeyRotation {
  return { key: from.publicKey, next: to, signature: from.sign(rotationMessage(product, from.publicKey, to)) };
}

function bodyDict(b: FeedBody): Record<string, unknown> {
  return {
    expires: b.expires,
    key: b.key.raw,
    product: b.product,
    releases: b.releases.map((r) => ({
      date: r.date,
      infohash: infoHashBytes(r.infoHash),
      length: r.length,
      lineage: r.lineage.map((e) => ({ infohash: infoHashBytes(e.infoHash), release: e.release })),
      name: r.name,
      release: r.release,
      torrents: [...r.torrents],
    })),
    rotations: b.rotations.length > 0 ? b.rotations.map((x) => ({ key: x.key.raw, next: x.next.raw, signature: x.signature })) : undefined,
    sequence: b.sequence,
    updated: b.updated,
    v: FEED_VERSION,
  };
}

/** The feed document for `body`, signed by each of `signers` (the body's key must be among them). */
export function signFeed(body: FeedBody, signers: readonly SecretKey[]): Uint8Array {
  const signedBytes = encodeBencode(bodyDict(body));
  const message = feedMessage(signedBytes);
  const signatures = new Map<string, Uint8Array>();
  for (const s of signers) signatures.set(s.publicKey.id, s.sign(message));
  const doc = Buffer.concat([Buffer.from('d10:signatures'), encodeBencode(signatures), Buffer.from('6:signed'), signedBytes, Buffer.from('e')]);
  return new Uint8Array(doc.buffer, doc.byteOffset, doc.byteLength);
}

/** Parses a feed's structure (no trust decided); `label` names it in errors (its URL or path). */
export function parseFeed(bytes: Uint8Array, label: string): ParsedFeed {
  const fail = (detail: string, extra: Record<string, unknown> = {}) =>
    new IsosyncError('VERIFY_FAILED', `Cannot accept feed ${JSON.stringify(label)}: ${detail}`, { url: label, refusal: 'malformed', ...extra });
  if (bytes.length > MAX_FEED_BYTES) throw fail(`it is ${bytes.length} bytes, above the limit ${MAX_FEED_BYTES}`);
  try {
    const { value } = decodeBencode(bytes);
    if (!isDict(value)) bad('', `the top level is ${kindOf(value)}, expected a dictionary`);
    const signed = required(getDict(value, 'signed', ''), 'signed');
    const body = parseBody(signed);
    const signatures = parseSignatures(getDict(value, 'signatures', '') ?? new Map());
    const signedBytes = encodeBencode(signed);
    return { body, signatures, signedBytes, bytes, digest: createHash('sha256').update(bytes).digest('hex') };
  } catch (e) {
    if (e instanceof BencodeError) throw fail(`not a feed (${e.detail})`, { offset: e.offset });
    if (e instanceof FieldError) throw fail(e.detail, { field: e.field });
    throw e;
  }
}

function text(d: BDict, key: string, at: string, max = MAX_TEXT_CHARS): string {
  return checkedText(required(getText(d, key, at), `${at}.${key}`), `${at}.${key}`, max);
}

function checkedText(s: string, name: string, max = MAX_TEXT_CHARS): string {
  if (s.length === 0) bad(name, `${name} is empty`);
  if (s.length > max) bad(name, `${name} is longer than ${max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(s)) bad(name, `${name} contains a control character`);
  return s;
}

function count(d: BDict, key: string, at: string, min: number): number {
  const n = required(getInt(d, key, at), `${at}.${key}`);
  if (n < min) bad(`${at}.${key}`, `${at}.${key} ${n} is below ${min}`);
  return n;
}

function list(d: BDict, key: string, at: string, max: number): readonly BValue[] {
  const l = getList(d, key, at) ?? [];
  if (l.length > max) bad(`${at}.${key}`, `${at}.${key} has ${l.length} entries, above the limit ${max}`);
  return l;
}

function dictAt(v: BValue, at: string): BDict {
  if (!isDict(v)) bad(at, `${at} is ${kindOf(v)}, expected a dictionary`);
  return v;
}

function hash20(d: BDict, key: string, at: string): InfoHash {
  const b = required(getBytes(d, key, at), `${at}.${key}`);
  if (b.length !== SHA1_BYTES) bad(`${at}.${key}`, `${at}.${key} has length ${b.length}, expected ${SHA1_BYTES}`);
  return infoHashFromBytes(b);
}

function key32(d: BDict, k: string, at: string): PublicKey {
  const b = required(getBytes(d, k, at), `${at}.${k}`);
  const key = publicKeyFromRaw(b);
  if (!key) bad(`${at}.${k}`, `${at}.${k} is not a 32-byte Ed25519 public key`);
  return key;
}

function parseBody(d: BDict): FeedBody {
  const v = getInt(d, 'v', 'signed');
  if (v !== FEED_VERSION) bad('signed.v', `signed.v is ${v ?? 'missing'}; this isosync reads feed version ${FEED_VERSION}`);
  const product = text(d, 'product', 'signed', 128);
  const expires = getInt(d, 'expires', 'signed');
  const releases = list(d, 'releases', 'signed', MAX_FEED_RELEASES).map((x, i): FeedRelease => {
    const at = `signed.releases[${i}]`;
    const r = dictAt(x, at);
    const lineage = list(r, 'lineage', at, MAX_LINEAGE_ENTRIES).map((y, j): LineageEntry => {
      const e = dictAt(y, `${at}.lineage[${j}]`);
      return { release: text(e, 'release', `${at}.lineage[${j}]`, 128), infoHash: hash20(e, 'infohash', `${at}.lineage[${j}]`) };
    });
    const torrents = list(r, 'torrents', at, MAX_TORRENT_URLS).map((u, j) => checkedText(textOf(u, `${at}.torrents[${j}]`), `${at}.torrents[${j}]`));
    if (torrents.length === 0) bad(`${at}.torrents`, `${at}.torrents is empty: a release needs a torrent URL`);
    return {
      release: text(r, 'release', at, 128),
      infoHash: hash20(r, 'infohash', at),
      name: text(r, 'name', at, 255),
      length: count(r, 'length', at, 1),
      date: count(r, 'date', at, 0),
      lineage,
      torrents,
    };
  });
  const seen = new Set<string>();
  for (const r of releases) {
    for (const k of [`r:${r.release}`, `h:${r.infoHash}`]) {
      if (seen.has(k)) bad('signed.releases', `signed.releases lists ${k.startsWith('r:') ? `release ${JSON.stringify(r.release)}` : `infohash ${r.infoHash}`} twice`);
      seen.add(k);
    }
  }
  const rotations = list(d, 'rotations', 'signed', MAX_ROTATIONS).map((x, i): KeyRotation => {
    const at = `signed.rotations[${i}]`;
    const r = dictAt(x, at);
    const signature = required(getBytes(r, 'signature', at), `${at}.signature`);
    if (signature.length !== SIGNATURE_BYTES) bad(`${at}.signature`, `${at}.signature has length ${signature.length}, expected ${SIGNATURE_BYTES}`);
    return { key: key32(r, 'key', at), next: key32(r, 'next', at), signature };
  });
  return {
    product,
    sequence: count(d, 'sequence', 'signed', 1),
    updated: count(d, 'updated', 'signed', 0),
    ...(expires !== undefined ? { expires } : {}),
    key: key32(d, 'key', 'signed'),
    rotations,
    releases,
  };
}

function parseSignatures(d: BDict): FeedSignature[] {
  if (d.size > MAX_SIGNATURES) bad('signatures', `signatures has ${d.size} entries, above the limit ${MAX_SIGNATURES}`);
  const out: FeedSignature[] = [];
  for (const [k, v] of d) {
    const signer = Buffer.from(k, 'latin1').toString('utf8');
    if (!(v instanceof Uint8Array)) bad(`signatures.${signer}`, `signatures.${signer} is ${kindOf(v)}, expected a byte string`);
    let key: PublicKey | undefined;
    try {
      key = parsePublicKey(signer);
    } catch {
      key = undefined;
    }
    out.push({ signer, ...(key ? { key } : {}), signature: v });
  }
  return out;
}

/** Product names a feed may have: they become a URL path segment and a file name (/feeds/PRODUCT). */
const FEED_PRODUCT = /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}$/;

/** The product as a feed file name; BAD_ARGUMENT when it cannot be one. */
export function feedFileName(product: string): string {
  if (!FEED_PRODUCT.test(product)) {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot publish a feed for product ${JSON.stringify(product)}: a feed's product is 1 to 128 letters, digits and ". _ + ~ -", starting with a letter or digit (it names /feeds/PRODUCT)`, { product });
  }
  return product;
}

/** Where a feed lives in a published folder and on a server: feeds/PRODUCT. */
export const FEEDS_FOLDER = 'feeds';
