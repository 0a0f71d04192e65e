/**
 * The keys isosync adds to the info dictionary, so that the infohash
 * authenticates them. Other clients ignore keys they do not know (BEP 3).
 *
 *   key           type                         meaning
 *   collections   list of text                 BEP 38: [product]
 *   similar       list of 20-byte strings      BEP 38: infohash of each earlier release in the lineage
 *   x-isosync     dictionary (below)           isosync's own record, version 1
 *
 *   x-isosync
 *     v           integer 1                    layout version; an unknown version is ignored
 *                                              (the torrent still works as a plain torrent)
 *     product     text                         e.g. "distro"
 *     release     text                         e.g. "1.01"
 *     lineage     list of dictionaries         earlier releases, nearest first:
 *       release   text                           its release label
 *       infohash  20-byte string                 its v1 infohash
 *     hints       any bencode value (optional) delta hints, written and read by src/delta (docs/HINTS.md)
 *
 * Nothing time-dependent lives here: the same image and options give the
 * same info dictionary and so the same infohash.
 *
 * Pure: no I/O.
 */
import type { BDict, BValue } from './bencode-decode.js';
import type { Bencodable } from './bencode-encode.js';
import { bad, getBytes, getDict, getInt, getList, getText, isDict, required, textOf } from './fields.js';
import { infoHashBytes, infoHashFromBytes, SHA1_BYTES, type InfoHash } from './info-hash.js';

export const ISOSYNC_KEY = 'x-isosync';
export const ISOSYNC_LAYOUT_VERSION = 1;

export interface LineageEntry {
  readonly release: string;
  readonly infoHash: InfoHash;
}

export interface IsosyncInfo {
  readonly product: string;
  readonly release: string;
  /** Earlier releases, nearest first. */
  readonly lineage: readonly LineageEntry[];
  /** The opaque hints value as decoded (src/delta interprets it); undefined when absent. */
  readonly hints?: BValue;
}

/** What createTorrent needs to write the isosync keys. */
export interface IsosyncFields {
  readonly product: string;
  readonly release: string;
  readonly lineage: readonly LineageEntry[];
  /** Any bencodable value; left out when undefined. */
  readonly hints?: unknown;
}

/** The info-dictionary entries for the isosync keys (merged into info by createTorrent). */
export function isosyncInfoEntries(f: IsosyncFields): Record<string, Bencodable | undefined> {
  return {
    collections: [f.product],
    similar: f.lineage.length > 0 ? f.lineage.map((e) => infoHashBytes(e.infoHash)) : undefined,
    [ISOSYNC_KEY]: {
      v: ISOSYNC_LAYOUT_VERSION,
      product: f.product,
      release: f.release,
      lineage: f.lineage.map((e) => ({ release: e.release, infohash: infoHashBytes(e.infoHash) })),
      hints: f.hints as Bencodable | undefined,
    },
  };
}

/** BEP 38 `collections`: a list of text. */
export function parseCollections(info: BDict): readonly string[] {
  const list = getList(info, 'collections', 'info') ?? [];
  return list.map((v, i) => textOf(v, `info.collections[${i}]`));
}

/** BEP 38 `similar`: a list of 20-byte infohashes. */
export function parseSimilar(info: BDict): readonly InfoHash[] {
  const list = getList(info, 'similar', 'info') ?? [];
  return list.map((v, i) => hash20(v, `info.similar[${i}]`));
}

/** The x-isosync dictionary, or undefined when absent or of a layout version this build does not know. */
export function parseIsosyncInfo(info: BDict): IsosyncInfo | undefined {
  const d = getDict(info, ISOSYNC_KEY, 'info');
  if (!d) return undefined;
  const at = `info.${ISOSYNC_KEY}`;
  const v = required(getInt(d, 'v', at), `${at}.v`);
  if (v !== ISOSYNC_LAYOUT_VERSION) return undefined;
  const product = nonEmpty(required(getText(d, 'product', at), `${at}.product`), `${at}.product`);
  const release = nonEmpty(required(getText(d, 'release', at), `${at}.release`), `${at}.release`);
  const lineage = (getList(d, 'lineage', at) ?? []).map((e, i): LineageEntry => {
    const name = `${at}.lineage[${i}]`;
    if (!isDict(e)) bad(name, `${name} is not a dictionary`);
    return {
      release: nonEmpty(required(getText(e, 'release', name), `${name}.release`), `${name}.release`),
      infoHash: hash20(required(getBytes(e, 'infohash', name), `${name}.infohash`), `${name}.infohash`),
    };
  });
  const hints = d.get('hints');
  return hints === undefined ? { product, release, lineage } : { product, release, lineage, hints };
}

function hash20(v: BValue, name: string): InfoHash {
  if (!(v instanceof Uint8Array)) bad(name, `${name} is not a byte string`);
  if (v.length !== SHA1_BYTES) bad(name, `${name} has length ${v.length}, expected ${SHA1_BYTES}`);
  return infoHashFromBytes(v);
}

function nonEmpty(s: string, name: string): string {
  if (s.length === 0) bad(name, `${name} is empty`);
  return s;
}

