/**
 * Finds the local data a sync can reuse:
 *  - images given with --from,
 *  - images the catalog knows for the target's lineage (earlier releases),
 *  - images of newer releases whose lineage contains the target (rollback),
 *    with their torrents, whose "to" hints describe the way back,
 *  - other registered images of the same product,
 *  - loose files under --source DIR (a directory of .debs, the jigdo idea).
 * The output path and its .part are never sources. Files are opened
 * read-only (FileSource); a source image is never written.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { asIsosyncError, IsosyncError } from '../errors.js';
import type { WarningSink } from '../core/warnings.js';
import type { Catalog } from '../library/catalog.js';
import { FileSource } from '../store/file-source.js';
import type { ByteSource } from '../store/byte-source.js';
import { parseMetainfo, type Metainfo } from '../torrent/metainfo.js';
import type { InfoHash } from '../core/ids.js';

export interface ImageSource {
  readonly kind: 'image';
  readonly path: string;
  /** The release this image holds, when the catalog or a check knows it. */
  infoHash?: InfoHash;
  readonly via: 'from' | 'self' | 'lineage' | 'newer' | 'product';
  readonly source: FileSource;
  /** A newer release's torrent (its "to" hints may lead back to the target). */
  readonly torrent?: Metainfo;
}

export interface LooseSource {
  readonly kind: 'loose';
  readonly path: string;
  readonly name: string;
  readonly size: number;
  readonly source: ByteSource;
}

export type LocalSource = ImageSource | LooseSource;

/** Opens a file lazily: thousands of loose files must not hold thousands of descriptors. */
class LazyFileSource implements ByteSource {
  private open?: Promise<FileSource>;
  constructor(readonly path: string, readonly size: number) {}
  async read(offset: number, length: number): Promise<Uint8Array> {
    this.open ??= FileSource.open(this.path);
    const f = await this.open;
    return f.read(offset, length);
  }
  async close(): Promise<void> {
    if (this.open) await (await this.open).close();
  }
}

/** Most loose files scanned under --source: a guard against pointing it at "/". */
const MAX_LOOSE_FILES = 200_000;

async function walk(dir: string, out: LooseSource[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new IsosyncError('NOT_FOUND', `Cannot read source directory ${JSON.stringify(dir)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  for (const d of entries) {
    const p = join(dir, d.name);
    if (d.isDirectory()) await walk(p, out);
    else if (d.isFile()) {
      const st = await stat(p);
      if (st.size > 0) out.push({ kind: 'loose', path: p, name: d.name, size: st.size, source: new LazyFileSource(p, st.size) });
      if (out.length > MAX_LOOSE_FILES) throw new IsosyncError('BAD_ARGUMENT', `Cannot use source directory ${JSON.stringify(dir)}: more than ${MAX_LOOSE_FILES} files`);
    }
  }
}

async function canonical(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return resolve(path);
  }
}

export interface FindSourcesInput {
  /** The target's identity, as far as known (a plain image has no infohash). */
  readonly target: { readonly infoHash?: InfoHash; readonly isosync?: Metainfo['isosync']; readonly similar: readonly InfoHash[]; readonly collections: readonly string[] };
  readonly from: readonly string[];
  readonly sourceDirs: readonly string[];
  readonly output: string;
  readonly catalog?: Catalog;
  readonly warn: WarningSink;
}

/** Most catalog images opened per category, so a long history does not open everything. */
const MAX_CATALOG_IMAGES = 6;

export async function findSources(input: FindSourcesInput): Promise<LocalSource[]> {
  const { target, catalog } = input;
  const out: LocalSource[] = [];
  const excluded = new Set([await canonical(input.output), await canonical(`${input.output}.part`)]);
  const seen = new Set<string>(excluded);
  const newerTorrent = (infoHash: InfoHash): Metainfo | undefined => {
    const rel = catalog?.byInfoHash(infoHash);
    if (!rel || !rel.lineage.some((l) => l.infoHash === target.infoHash)) return undefined;
    try {
      return parseMetainfo(rel.torrent, `catalog:${rel.product}-${rel.release}`);
    } catch {
      return undefined;
    }
  };
  const addImage = async (path: string, via: ImageSource['via'], infoHash?: InfoHash, torrent?: Metainfo) => {
    const real = await canonical(path);
    if (excluded.has(real) && via === 'from') {
      throw new IsosyncError('BAD_ARGUMENT', `Cannot use ${JSON.stringify(path)} as a source: it is the output path (a source is never overwritten)`);
    }
    if (seen.has(real)) return;
    seen.add(real);
    let source: FileSource;
    try {
      source = await FileSource.open(path);
    } catch (e) {
      if (via === 'from') throw e;
      const error = asIsosyncError(e, 'IO', { path });
      input.warn({ code: 'SOURCE_SKIPPED', source: path, detail: `skipping this catalog image: ${error.message}`, error });
      return;
    }
    const known = infoHash ?? catalog?.imageAt(real)?.infoHash;
    // An image of a newer release (even one given with --from) brings its torrent: its "to" hints lead back.
    const withTorrent = torrent ?? (known ? newerTorrent(known) : undefined);
    out.push({ kind: 'image', path: real, via, source, ...(known ? { infoHash: known } : {}), ...(withTorrent ? { torrent: withTorrent } : {}) });
  };

  for (const f of input.from) await addImage(f, 'from');

  if (catalog) {
    // A registered copy of the target itself: everything can come from it.
    if (target.infoHash) for (const img of catalog.imagesFor(target.infoHash).slice(0, 1)) await addImage(img.path, 'self', img.infoHash);
    const lineage = [...(target.isosync?.lineage.map((l) => l.infoHash) ?? []), ...target.similar];
    let n = 0;
    for (const h of new Set(lineage)) {
      for (const img of catalog.imagesFor(h)) {
        if (n++ >= MAX_CATALOG_IMAGES) break;
        await addImage(img.path, 'lineage', img.infoHash);
      }
    }
    const product = target.isosync?.product ?? target.collections[0];
    if (product) {
      let newer = 0;
      let others = 0;
      for (const rel of catalog.releasesOf(product)) {
        if (rel.infoHash === target.infoHash) continue;
        const isNewer = rel.lineage.some((l) => l.infoHash === target.infoHash);
        for (const img of catalog.imagesFor(rel.infoHash)) {
          if (isNewer ? newer++ >= MAX_CATALOG_IMAGES : others++ >= MAX_CATALOG_IMAGES) break;
          await addImage(img.path, isNewer ? 'newer' : 'product', img.infoHash);
        }
      }
    }
  }

  for (const dir of input.sourceDirs) {
    const loose: LooseSource[] = [];
    await walk(resolve(dir), loose);
    for (const l of loose) {
      const real = await canonical(l.path);
      if (seen.has(real)) continue;
      seen.add(real);
      out.push(l);
    }
  }
  return out;
}

export async function closeSources(sources: readonly LocalSource[]): Promise<void> {
  for (const s of sources) {
    const src = s.source as { close?: () => Promise<void> };
    await src.close?.().catch(() => undefined);
  }
}
