/**
 * A publisher's signature on a release torrent, outside the info dictionary
 * in the manner of BEP 35 (Torrent Signing), so the infohash, and what every
 * other client does with the torrent, stay exactly as they were.
 *
 *   signatures                 dictionary (top level, beside info; BEP 35)
 *     ed25519:BASE64URL        one entry per signer, named by its public key
 *                              (BEP 35 names the signer; the key itself is the
 *                              name here, so no certificate is needed: the
 *                              follower already holds the key it trusts)
 *       info                   dictionary: what the publisher states (signed)
 *         infohash             20-byte string: the torrent's v1 infohash
 *         lineage              list of {infohash: 20 bytes, release: text}, nearest first
 *         product              text
 *         release              text
 *         v                    integer 1
 *       signature              64-byte Ed25519 signature of
 *                              raw info dictionary bytes || bencode(signatures.KEY.info)
 *                              (BEP 35: "info + sig info")
 *
 * A signature is valid when it verifies and its statement matches the
 * torrent: the infohash is the torrent's, and product, release and lineage
 * are those inside the info dictionary (x-isosync, torrent/isosync-keys.ts).
 *
 * Pure: no I/O.
 */
import { IsosyncError } from '../errors.js';
import { BencodeError, decodeBencode, type BDict, type BValue } from '../torrent/bencode-decode.js';
import { encodeBencode } from '../torrent/bencode-encode.js';
import { bad, FieldError, getBytes, getDict, getInt, getList, getText, isDict } from '../torrent/fields.js';
import { infoHashBytes, infoHashFromBytes, SHA1_BYTES, type InfoHash } from '../torrent/info-hash.js';
import type { LineageEntry } from '../torrent/isosync-keys.js';
import { parseMetainfo, type Metainfo } from '../torrent/metainfo.js';
import { KEY_PREFIX, parsePublicKey, verifySignature, type PublicKey, type SecretKey } from './keys.js';

export const SIGNATURES_KEY = 'signatures';
export const STATEMENT_VERSION = 1;

/** What a publisher signs about a release. */
export interface ReleaseStatement {
  readonly infoHash: InfoHash;
  readonly product: string;
  readonly release: string;
  readonly lineage: readonly LineageEntry[];
}

export interface TorrentSignature {
  /** The signer's name in the torrent (`ed25519:...` for isosync's). */
  readonly signer: string;
  readonly key?: PublicKey;
  readonly valid: boolean;
  /** Why it is not valid. */
  readonly problem?: string;
  readonly statement?: ReleaseStatement;
}

function statementDict(s: ReleaseStatement): Record<string, unknown> {
  return {
    infohash: infoHashBytes(s.infoHash),
    lineage: s.lineage.map((e) => ({ infohash: infoHashBytes(e.infoHash), release: e.release })),
    product: s.product,
    release: s.release,
    v: STATEMENT_VERSION,
  };
}

/** The statement a torrent's own isosync keys make; undefined for a torrent without them. */
export function statementOf(m: Metainfo): ReleaseStatement | undefined {
  const x = m.isosync;
  return x ? { infoHash: m.infoHash, product: x.product, release: x.release, lineage: x.lineage } : undefined;
}

/**
 * Adds (or replaces) `key`'s signature on a torrent that carries isosync's
 * product and release; everything else, the info dictionary first of all,
 * is kept byte for byte.
 */
export function signTorrent(torrent: Uint8Array, key: SecretKey, label: string): Uint8Array {
  const m = parseMetainfo(torrent, label);
  const statement = statementOf(m);
  if (!statement) throw new IsosyncError('BAD_ARGUMENT', `Cannot sign torrent ${JSON.stringify(label)}: it names no product and release (publish it with --product and --release)`);
  const info = statementDict(statement);
  const signature = key.sign(Buffer.concat([m.rawInfo, encodeBencode(info)]));
  const top = new Map(decodeBencode(torrent).value as BDict);
  const sigs = new Map<string, unknown>(isDict(top.get(SIGNATURES_KEY)) ? (top.get(SIGNATURES_KEY) as BDict) : []);
  sigs.set(key.publicKey.id, { info, signature });
  (top as Map<string, unknown>).set(SIGNATURES_KEY, sigs);
  const out = encodeBencode(top);
  if (parseMetainfo(out, label).infoHash !== m.infoHash) throw new IsosyncError('UNSUPPORTED', `Cannot sign torrent ${JSON.stringify(label)}: re-encoding changed its infohash`);
  return out;
}

function sameStatement(a: ReleaseStatement, b: ReleaseStatement): string | undefined {
  if (a.infoHash !== b.infoHash) return `it signs infohash ${a.infoHash}, the torrent's is ${b.infoHash}`;
  if (a.product !== b.product) return `it signs product ${JSON.stringify(a.product)}, the torrent says ${JSON.stringify(b.product)}`;
  if (a.release !== b.release) return `it signs release ${JSON.stringify(a.release)}, the torrent says ${JSON.stringify(b.release)}`;
  const la = a.lineage.map((e) => `${e.release}=${e.infoHash}`).join(',');
  const lb = b.lineage.map((e) => `${e.release}=${e.infoHash}`).join(',');
  if (la !== lb) return 'it signs another lineage than the torrent carries';
  return undefined;
}

function parseStatement(d: BDict, at: string): ReleaseStatement {
  const v = getInt(d, 'v', at);
  if (v !== STATEMENT_VERSION) bad(`${at}.v`, `${at}.v is ${v ?? 'missing'}, expected ${STATEMENT_VERSION}`);
  const hash = (b: Uint8Array | undefined, name: string): InfoHash => {
    if (!b || b.length !== SHA1_BYTES) bad(name, `${name} is not a 20-byte infohash`);
    return infoHashFromBytes(b);
  };
  const text = (k: string) => {
    const s = getText(d, k, at);
    if (s === undefined) bad(`${at}.${k}`, `${at}.${k} is missing`);
    return s;
  };
  const lineage = (getList(d, 'lineage', at) ?? []).map((e: BValue, i): LineageEntry => {
    if (!isDict(e)) bad(`${at}.lineage[${i}]`, `${at}.lineage[${i}] is not a dictionary`);
    const release = getText(e, 'release', `${at}.lineage[${i}]`);
    if (release === undefined) bad(`${at}.lineage[${i}].release`, `${at}.lineage[${i}].release is missing`);
    return { release, infoHash: hash(getBytes(e, 'infohash', `${at}.lineage[${i}]`), `${at}.lineage[${i}].infohash`) };
  });
  return { infoHash: hash(getBytes(d, 'infohash', at), `${at}.infohash`), product: text('product'), release: text('release'), lineage };
}

/**
 * Every signature a torrent carries, each checked against the torrent
 * (`m` is its parsed metainfo). Signatures of other kinds (BEP 35's X.509
 * ones) are listed as not verifiable here.
 */
export function torrentSignatures(torrent: Uint8Array, m: Metainfo): TorrentSignature[] {
  let top: BDict;
  try {
    top = decodeBencode(torrent).value as BDict;
  } catch (e) {
    if (e instanceof BencodeError) return [];
    throw e;
  }
  const sigs = top.get(SIGNATURES_KEY);
  if (sigs === undefined) return [];
  if (!isDict(sigs)) return [{ signer: SIGNATURES_KEY, valid: false, problem: 'the signatures key is not a dictionary' }];
  const own = statementOf(m);
  const out: TorrentSignature[] = [];
  for (const [signer, entry] of sigs) {
    const name = Buffer.from(signer, 'latin1').toString('utf8');
    if (!name.startsWith(KEY_PREFIX)) {
      out.push({ signer: name, valid: false, problem: 'not an isosync Ed25519 signature (cannot verify it)' });
      continue;
    }
    let key: PublicKey;
    try {
      key = parsePublicKey(name, 'signer');
    } catch {
      out.push({ signer: name, valid: false, problem: 'the signer is not a valid Ed25519 public key' });
      continue;
    }
    try {
      if (!isDict(entry)) bad(name, 'the entry is not a dictionary');
      const at = `signatures.${name}`;
      const info = getDict(entry, 'info', at);
      const signature = getBytes(entry, 'signature', at);
      if (!info || !signature) bad(name, 'the entry lacks info or signature');
      const statement = parseStatement(info, `${at}.info`);
      if (!verifySignature(key, Buffer.concat([m.rawInfo, encodeBencode(info)]), signature)) {
        out.push({ signer: name, key, valid: false, problem: 'the signature does not verify (the torrent or its signature was altered)', statement });
        continue;
      }
      const mismatch = own ? sameStatement(statement, own) : 'the torrent names no product and release';
      out.push(mismatch ? { signer: name, key, valid: false, problem: mismatch, statement } : { signer: name, key, valid: true, statement });
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      out.push({ signer: name, key, valid: false, problem: e.detail });
    }
  }
  return out;
}

/** The valid signature of one of `keys`, if the torrent carries one. */
export function signatureBy(sigs: readonly TorrentSignature[], keys: readonly PublicKey[]): TorrentSignature | undefined {
  const ids = new Set(keys.map((k) => k.id));
  return sigs.find((s) => s.valid && s.key && ids.has(s.key.id));
}
