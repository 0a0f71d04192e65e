/**
 * Which earlier releases a new release descends from (its lineage).
 *
 * `--previous X` (repeatable) names each direct predecessor:
 *   - a file ending in `.torrent`: its infohash; product, release and lineage
 *     from its isosync keys when it has them (else release = its name
 *     without `.iso`, lineage from the catalog); its image from the catalog.
 *   - anything else is an image: if the catalog has it registered (and it has
 *     not changed since), that release; otherwise it is hashed with the new
 *     torrent's piece length and its infohash is that of the plain torrent
 *     {length, name, piece length, pieces} (what mktorrent makes for it); its
 *     release label is the file name without `.iso`. Nothing else about it is
 *     recorded.
 * Without --previous, the catalog decides: the highest release of the same
 * product that orders below the new one (release-order.ts), if any.
 *
 * The lineage is each predecessor followed by its own lineage, nearest first,
 * without duplicates or the new release itself, at most MAX_LINEAGE entries.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { IsosyncError } from '../errors.js';
import { buildInfoDict } from '../torrent/create.js';
import { encodeBencode } from '../torrent/bencode-encode.js';
import { hashPieces } from '../torrent/hash-pieces.js';
import { computeInfoHash, type InfoHash } from '../torrent/info-hash.js';
import type { LineageEntry } from '../torrent/isosync-keys.js';
import { parseMetainfo } from '../torrent/metainfo.js';
import type { Catalog } from './catalog.js';
import { compareReleases } from './release-order.js';
import { readTorrentFile } from '../torrent/read-file.js';

export { MAX_TORRENT_FILE_BYTES, readTorrentFile } from '../torrent/read-file.js';

/** Longest lineage written into a torrent: 8 earlier releases cover years of point releases in 8 × 40 bytes. */
export const MAX_LINEAGE = 8;
export interface PreviousRelease {
  readonly infoHash: InfoHash;
  readonly release: string;
  readonly product?: string;
  /** Its image on disk, when known. */
  readonly imagePath?: string;
  /** Its own lineage, nearest first. */
  readonly lineage: readonly LineageEntry[];
  /** How it was found. */
  readonly via: 'torrent' | 'catalog' | 'hashed-image';
}

export function releaseLabelOf(fileName: string): string {
  return fileName.replace(/\.(iso|img|torrent)$/i, '');
}

export async function resolvePrevious(arg: string, catalog: Catalog, pieceLength: number): Promise<PreviousRelease> {
  if (/\.torrent$/i.test(arg)) {
    const m = readTorrentFile(arg);
    const known = catalog.byInfoHash(m.infoHash);
    const image = localImage(catalog, m.infoHash);
    return {
      infoHash: m.infoHash,
      release: m.isosync?.release ?? known?.release ?? releaseLabelOf(m.name),
      lineage: m.isosync?.lineage ?? catalog.lineageOf(m.infoHash),
      via: 'torrent',
      ...opt('product', m.isosync?.product ?? known?.product),
      ...opt('imagePath', image),
    };
  }
  const abs = resolve(arg);
  const registered = catalog.imageAt(abs);
  if (registered?.unchanged) {
    const rel = catalog.byInfoHash(registered.infoHash);
    if (rel) return { infoHash: rel.infoHash, release: rel.release, product: rel.product, lineage: rel.lineage, imagePath: abs, via: 'catalog' };
  }
  const pieces = await hashPieces(arg, pieceLength);
  const size = statSync(arg).size;
  const name = basename(abs);
  const info = encodeBencode(buildInfoDict({ name, length: size, pieceLength, pieces }));
  return { infoHash: computeInfoHash(info).hex, release: releaseLabelOf(name), lineage: [], imagePath: abs, via: 'hashed-image' };
}

/** The catalog's choice when --previous is not given: the highest release of `product` below `release`. */
export function defaultPrevious(catalog: Catalog, product: string, release: string): PreviousRelease | undefined {
  const earlier = catalog.releasesOf(product).find((r) => compareReleases(r.release, release) < 0);
  if (!earlier) return undefined;
  const image = localImage(catalog, earlier.infoHash);
  return {
    infoHash: earlier.infoHash,
    release: earlier.release,
    product: earlier.product,
    lineage: earlier.lineage,
    via: 'catalog',
    ...opt('imagePath', image),
  };
}

/** Predecessors then their lineages, nearest first, deduplicated, without the release being published. */
export function buildLineage(previous: readonly PreviousRelease[], self: { product: string; release: string }): LineageEntry[] {
  const out: LineageEntry[] = [];
  const seen = new Set<string>();
  const add = (e: LineageEntry, product: string | undefined) => {
    if (out.length >= MAX_LINEAGE || seen.has(e.infoHash)) return;
    if (product === self.product && e.release === self.release) return;
    seen.add(e.infoHash);
    out.push({ release: e.release, infoHash: e.infoHash });
  };
  for (const p of previous) add(p, p.product);
  for (const p of previous) for (const e of p.lineage) add(e, p.product);
  return out;
}

function localImage(catalog: Catalog, infoHash: InfoHash): string | undefined {
  const img = catalog.imagesFor(infoHash)[0];
  if (img) return img.path;
  const rel = catalog.byInfoHash(infoHash);
  if (rel?.imagePath) {
    try {
      if (statSync(rel.imagePath).size === rel.imageSize) return rel.imagePath;
    } catch {
      /* moved or deleted: no local image */
    }
  }
  return undefined;
}

function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

/**
 * The image of the release that came before the image at `newPath`, as the
 * catalog knows it: `newPath` must be a registered image (published or
 * synced); its lineage is walked nearest first to the first release with an
 * image still on disk. Undefined when there is none.
 */
export function previousImageOf(catalog: Catalog, newPath: string): { path: string; release: string } | undefined {
  const img = catalog.imageAt(resolve(newPath));
  if (!img) return undefined;
  for (const anc of catalog.lineageOf(img.infoHash)) {
    const found = catalog.imagesFor(anc.infoHash).find((i) => i.path !== img.path);
    if (found) return { path: found.path, release: anc.release };
  }
  return undefined;
}
