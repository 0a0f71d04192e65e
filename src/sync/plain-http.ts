/**
 * Sync from a plain web server that offers no torrent for the image
 * (remote-target.ts found none): HTTP range requests alone, still reusing
 * local data.
 *
 * Without a torrent there are no piece hashes, so this is designed to be
 * honest rather than clever:
 *  - the planner runs as usual (prepare.ts) on a target that is only a
 *    name, a size and the image's URL (PlanTarget: no piece hashes, no
 *    infohash); it reads the remote image's ISO 9660
 *    metadata through range requests and maps its files onto local images
 *    (--from, or the catalog's images of a product the file name starts
 *    with) and loose files, by path and size;
 *  - only those exact mappings are reused, and of them only files whose
 *    ISO modification time also matches (a distro's Release or checksum
 *    file often keeps its path and size while its bytes change); guesses
 *    (same offset, assumed zeros) are fetched instead, since nothing could
 *    verify them;
 *  - the result is checked against the SHA-256 that SHA256SUMS beside the
 *    image lists. On a mismatch (a mapped file had the same path and size
 *    but other bytes) the whole image is fetched again and checked again.
 *    With no SHA256SUMS the image is written but reported UNVERIFIED, and it
 *    is not registered in the catalog.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { IsosyncError } from '../errors.js';
import type { Warning, WarningSink } from '../core/warnings.js';
import type { Catalog } from '../library/catalog.js';
import { readIso, type IsoImage } from '../iso/index.js';
import type { ByteSource } from '../store/byte-source.js';
import { CACHE_SOURCE, ZERO_SOURCE, type LocalSegment } from '../delta/plan.js';
import { mergeSpans, subtractSpans, type Span } from '../core/span.js';
import { defaultPieceLength } from '../torrent/piece-length.js';
import { closeSources } from './sources.js';
import { prepare } from './prepare.js';
import type { PlanTarget, SyncEvent } from './report.js';

/** Bytes per read or fetch: large enough for throughput, small enough to bound memory. */
const CHUNK_BYTES = 4 * 1024 * 1024;
/** Range requests in flight at once (the mirror pool also caps per mirror). */
const FETCH_CONCURRENCY = 4;
/** Ranges per multi-range request. */
const RANGES_PER_REQUEST = 32;

export interface PlainTarget {
  readonly imageUrl: string;
  readonly name: string;
  readonly size: number;
  readonly sha256?: string;
}

export interface PlainSyncInput {
  readonly target: PlainTarget;
  readonly from: readonly string[];
  readonly sourceDirs: readonly string[];
  /** Other mirrors of the same image. */
  readonly mirrors: readonly string[];
  readonly output: string;
  readonly catalog?: Catalog;
  readonly stallMs?: number;
  readonly onEvent?: (e: SyncEvent) => void;
  readonly onWarning?: WarningSink;
}

export interface PlainSyncReport {
  name: string;
  output: string;
  targetBytes: number;
  reusedBytes: number;
  fetchedBytes: number;
  /** 'sha256': matched SHA256SUMS; 'none': nothing to check against (unverified). */
  verified: 'sha256' | 'none';
  /** The first result did not match SHA256SUMS and the whole image was fetched again. */
  refetchedWhole: boolean;
  sources: { path: string; reusedBytes: number }[];
  webSeeds: { url: string; bytes: number; dropped?: string }[];
  notes: string[];
  warnings: Warning[];
  seconds: number;
}

/** What planning needs of an image with no torrent: its name, size and URL; the pieces are only a unit of work (no hashes). */
function planTargetOf(t: PlainTarget): PlanTarget {
  const pieceLength = defaultPieceLength(t.size);
  return { name: t.name, length: t.size, pieceLength, pieceCount: Math.ceil(t.size / pieceLength), urlList: [t.imageUrl], similar: [], collections: [] };
}

/** Catalog images of the products whose name starts the file name (e.g. "distro" for distro-1.01.iso), newest release first. */
function catalogGuesses(catalog: Catalog | undefined, name: string): string[] {
  if (!catalog) return [];
  const out: string[] = [];
  for (const product of catalog.products()) {
    if (!name.toLowerCase().startsWith(product.toLowerCase())) continue;
    for (const rel of catalog.releasesOf(product)) for (const img of catalog.imagesFor(rel.infoHash)) if (img.unchanged) out.push(img.path);
  }
  return out.slice(0, 3);
}

function sha256File(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1024 * 1024 }).on('data', (c) => h.update(c)).on('end', () => res(h.digest('hex'))).on('error', rej);
  });
}

function chunks(spans: readonly Span[], max: number): Span[] {
  const out: Span[] = [];
  for (const s of spans) for (let a = s.start; a < s.end; a += max) out.push({ start: a, end: Math.min(s.end, a + max) });
  return out;
}

async function pool<T>(items: readonly T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) await f(items[i++]!);
  }));
}

/**
 * Drops reused file content whose source file's ISO mtime differs from the
 * target file's (same path and size is not enough without piece hashes).
 * Non-file segments (zeros, metadata read while planning) are kept.
 */
async function trustedLocal(local: readonly LocalSegment[], vt: ByteSource, sources: readonly (ByteSource | undefined)[]): Promise<LocalSegment[]> {
  let target: IsoImage;
  try {
    target = await readIso(vt, { name: 'target' });
  } catch {
    return local.filter((s) => s.source < 0); // no layout: trust no file mapping
  }
  const bs = target.logicalBlockSize;
  const byStart = target.entries.filter((e) => e.type === 'file' && e.size > 0).sort((a, b) => a.lba - b.lba);
  const images = new Map<number, Map<string, number | undefined> | undefined>();
  const mtimesOf = async (i: number) => {
    if (!images.has(i)) {
      const src = sources[i];
      const img = src ? await readIso(src, { name: `source ${i}` }).catch(() => undefined) : undefined;
      images.set(i, img ? new Map(img.entries.flatMap((e) => [[`${e.path}\0${e.size}`, e.mtimeMs], [`${e.name}\0${e.size}`, e.mtimeMs]] as [string, number | undefined][])) : undefined);
    }
    return images.get(i);
  };
  const entryAt = (offset: number) => {
    let lo = 0;
    let hi = byStart.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = byStart[mid]!;
      if (e.lba * bs > offset) hi = mid - 1;
      else if (e.extents.some((x) => offset >= x.lba * bs && offset < x.lba * bs + x.size)) return e;
      else lo = mid + 1;
    }
    return byStart.find((e) => e.extents.some((x) => offset >= x.lba * bs && offset < x.lba * bs + x.size));
  };
  const out: LocalSegment[] = [];
  for (const seg of local) {
    if (seg.source < 0 || (seg.reason !== 'same-file' && seg.reason !== 'moved-file')) {
      out.push(seg);
      continue;
    }
    const e = entryAt(seg.start);
    const m = await mtimesOf(seg.source);
    const srcMtime = e && m ? (m.get(`${e.path}\0${e.size}`) ?? m.get(`${e.name}\0${e.size}`)) : undefined;
    if (e && e.mtimeMs !== undefined && srcMtime === e.mtimeMs) out.push(seg);
  }
  return out;
}

export async function runPlainSync(input: PlainSyncInput): Promise<PlainSyncReport> {
  const started = Date.now();
  const emit = input.onEvent ?? (() => undefined);
  const output = resolve(input.output);
  if (!existsSync(dirname(output))) throw new IsosyncError('NOT_FOUND', `Cannot write ${JSON.stringify(output)}: directory ${JSON.stringify(dirname(output))} does not exist`);
  if (existsSync(output)) throw new IsosyncError('CONFLICT', `Cannot write ${JSON.stringify(output)}: a file is already there`);
  const notes: string[] = [];
  const from = input.from.length > 0 ? input.from : catalogGuesses(input.catalog, input.target.name);
  const target = planTargetOf(input.target);
  const warnings: Warning[] = [];
  const warn: WarningSink = (w) => {
    warnings.push(w);
    input.onWarning?.(w);
  };
  const p = await prepare({ target, from, sourceDirs: input.sourceDirs, webSeeds: input.mirrors, output, ...(input.stallMs ? { stallMs: input.stallMs } : {}), onEvent: emit, onWarning: warn });
  const { byteSources, vt } = p;
  const local = await trustedLocal(p.plan.local.toArray(), vt, byteSources);
  const mirrors = p.net.engine;
  const partPath = `${output}.part`;
  const fh = await open(partPath, 'w');
  let fetchedBytes = vt.fetchedBytes;
  let reusedBytes = 0;
  const reusedBy = new Map<number, number>();
  try {
    await fh.truncate(target.length);
    emit({ type: 'phase', phase: 'assemble' });
    // Exact local bytes only (see the module comment).
    for (const seg of local) {
      for (const c of chunks([seg], CHUNK_BYTES)) {
        if (seg.source === ZERO_SOURCE) continue; // the file is zero-filled
        const src = seg.source === CACHE_SOURCE ? vt : byteSources[seg.source];
        if (!src) throw new IsosyncError('IO', `Cannot read local source ${seg.source} for bytes ${c.start}-${c.end - 1}`);
        const bytes = await src.read(seg.source === CACHE_SOURCE ? c.start : seg.sourceOffset + (c.start - seg.start), c.end - c.start);
        await fh.write(bytes, 0, bytes.length, c.start);
      }
      if (seg.source >= 0) {
        reusedBytes += seg.end - seg.start;
        reusedBy.set(seg.source, (reusedBy.get(seg.source) ?? 0) + seg.end - seg.start);
      }
    }
    const missing = subtractSpans([{ start: 0, end: target.length }], mergeSpans(local));
    const fetchAll = async (spans: readonly Span[]) => {
      const parts = chunks(spans, CHUNK_BYTES);
      const groups: Span[][] = [];
      for (let i = 0; i < parts.length; i += RANGES_PER_REQUEST) groups.push(parts.slice(i, i + RANGES_PER_REQUEST));
      await pool(groups, FETCH_CONCURRENCY, async (g) => {
        const got = await mirrors.fetchRanges(g);
        for (let k = 0; k < g.length; k++) {
          await fh.write(got[k]!, 0, got[k]!.length, g[k]!.start);
          fetchedBytes += got[k]!.length;
        }
      });
    };
    await fetchAll(missing);
    await fh.sync();
    await fh.close();
    emit({ type: 'phase', phase: 'finish' });
    let verified: PlainSyncReport['verified'] = 'none';
    let refetchedWhole = false;
    if (input.target.sha256) {
      if ((await sha256File(partPath)) !== input.target.sha256) {
        warn({ code: 'CHECKSUM_MISMATCH', source: input.target.imageUrl, detail: 'the result does not match SHA256SUMS after reusing local files (same path and size, other bytes); fetching the whole image' });
        refetchedWhole = true;
        reusedBytes = 0;
        reusedBy.clear();
        const again = await open(partPath, 'r+');
        try {
          const all = chunks([{ start: 0, end: target.length }], CHUNK_BYTES);
          await pool(all, FETCH_CONCURRENCY, async (c) => {
            const bytes = await mirrors.fetchRange(c.start, c.end);
            await again.write(bytes, 0, bytes.length, c.start);
            fetchedBytes += bytes.length;
          });
        } finally {
          await again.close();
        }
        if ((await sha256File(partPath)) !== input.target.sha256) {
          throw new IsosyncError('VERIFY_FAILED', `Cannot sync ${input.target.imageUrl}: the image fetched whole does not match its SHA256SUMS line either`, { url: input.target.imageUrl });
        }
      }
      verified = 'sha256';
    } else {
      notes.push(`UNVERIFIED: the server offers no torrent and no SHA256SUMS line for ${input.target.name}; the reused files were matched by path and size only`);
      warn({ code: 'UNVERIFIED', source: input.target.imageUrl, detail: notes[notes.length - 1]! });
    }
    await rename(partPath, output);
    notes.push('not registered in the catalog: without a torrent the image has no infohash');
    return {
      name: input.target.name,
      output,
      targetBytes: target.length,
      reusedBytes,
      fetchedBytes,
      verified,
      refetchedWhole,
      sources: p.sources.map((s, i) => ({ path: s.path, reusedBytes: reusedBy.get(i) ?? 0 })),
      webSeeds: p.net.webSeedReport(),
      notes,
      warnings,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(partPath, { force: true });
    throw e;
  } finally {
    p.net.close();
    await closeSources(p.sources);
  }
}
