/**
 * `isosync get TARGET PATH_OR_GLOB... -o DIR`: only the chosen files of a
 * torrent's image, without the image.
 *
 *   1. A subset session (session.ts) over a sparse `.part` hidden in DIR.
 *   2. With packages asked for (--packages, --installed), the image's
 *      package indexes are read (package-index.ts) and the packages chosen
 *      (choose-packages.ts); their files join the chosen paths.
 *   3. The target's directories on the paths to the chosen files are read
 *      (descend.ts), every byte from a verified piece: the only metadata
 *      fetched is the pieces those directories sit in. Paths inside nested
 *      images ("/live/filesystem.squashfs:/usr/bin/bash", as `ls --deep`
 *      prints them) open only the containers they name (nested-select.ts).
 *   4. The chosen files are mapped onto local data (--from images, --source
 *      folders, the catalog's images) and their pieces built, verified and
 *      written to the .part: local bytes first, the rest fetched.
 *   5. They are extracted (iso/extract.ts, nested-extract.ts: each under a
 *      temporary name, renamed once complete) and the .part is removed. A failure keeps a
 *      .part with verified pieces: the same command resumes.
 *
 * What it may fetch is bounded: the chosen files' bytes, two pieces per file
 * (the neighbours in a file's first and last pieces) and the metadata pieces;
 * for a nested file, its stored bytes and two pieces per run of them.
 */
import { mkdir, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { IsosyncError, quote } from '../errors.js';
import { spanBytes, type Span } from '../core/span.js';
import type { Warning } from '../core/warnings.js';
import { extractEntries, type ExtractSummary } from '../iso/extract.js';
import { readIso, type IsoEntry, type IsoImage } from '../iso/index.js';
import { selectEntries } from '../iso/select.js';
import type { ZstdDecoder } from '../packages/compression.js';
import { collectWarnings } from '../sync/prepare.js';
import type { SyncInput } from '../sync/report.js';
import { choosePackages, type ChosenPackage, type PackageWish } from './choose-packages.js';
import { descendFor } from './descend.js';
import { readPackageIndex } from './package-index.js';
import { extractNested } from './nested-extract.js';
import { chooseNested, isNestedPattern, nestedParts, nestedRuns, nestedSpans, type NestedChoice } from './nested-select.js';
import { contentSpans, fetchBound, piecesTouched } from './pieces.js';
import { SubsetSession } from './session.js';

export interface GetInput extends Omit<SyncInput, 'output'> {
  readonly outDir: string;
  /** Paths or globs of the image (iso/select.ts rules). */
  readonly patterns: readonly string[];
  /** Packages to take from the image's package index. */
  readonly packages?: PackageWish;
  readonly zstd?: ZstdDecoder;
}

export interface GetReport {
  name: string;
  infoHash: string;
  outDir: string;
  pieceLength: number;
  /** Chosen files; those inside nested images as `ls --deep` names them ("/live/filesystem.squashfs:/usr/bin/bash"). */
  files: { path: string; size: number }[];
  fileBytes: number;
  /** Their bytes as stored in the image (nested files: compressed blocks, and each shared tail block once). */
  storedBytes: number;
  packages: { name: string; arch: string; version: string; why: ChosenPackage['why']; path: string }[];
  /** Pieces read to locate the files (directories, package indexes). */
  metadataPieces: number;
  /** Pieces of the chosen files. */
  filePieces: number;
  fetchedBytes: number;
  reusedBytes: number;
  resumedBytes: number;
  wastedBytes: number;
  /** The most this download may fetch (pieces.ts fetchBound over the stored bytes; a nested file counts each run of its stored bytes). */
  boundBytes: number;
  extracted: ExtractSummary | null;
  webSeeds: { url: string; bytes: number; dropped?: string }[];
  peers?: { downloaded: number; uploaded: number };
  notes: string[];
  warnings: Warning[];
  seconds: number;
}

/** The hidden file in DIR whose `.part` holds the verified pieces of a get. */
export function getPartBase(outDir: string, name: string): string {
  return join(resolve(outDir), `.${name}.isosync-get`);
}

/** What `paths` (exact image paths) and `patterns` select: the directories on their way are read. */
function descendTo(patterns: readonly string[], paths: readonly string[]): (dir: string) => boolean {
  const byGlob = patterns.length > 0 ? descendFor(patterns) : () => false;
  const ancestors = new Set<string>();
  for (const p of paths) for (let d = p.slice(0, p.lastIndexOf('/')); d.length > 0; d = d.slice(0, d.lastIndexOf('/'))) ancestors.add(d);
  return (dir) => ancestors.has(dir) || byGlob(dir);
}

/** Entries for exact paths (each must exist) and glob patterns, in path order, each once. */
function selectAll(image: IsoImage, patterns: readonly string[], paths: readonly string[]): IsoEntry[] {
  const picked = new Set<IsoEntry>(patterns.length > 0 ? selectEntries(image.entries, patterns, image.name) : []);
  const byPath = new Map(image.entries.map((e) => [e.path, e]));
  const missing = paths.filter((p) => !byPath.has(p));
  if (missing.length > 0) throw new IsosyncError('NOT_FOUND', `Cannot get ${missing.slice(0, 5).map(quote).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''} from ${quote(image.name)}: the package index names ${missing.length === 1 ? 'it' : 'them'}, the image lacks ${missing.length === 1 ? 'it' : 'them'}`, { paths: missing });
  for (const p of paths) picked.add(byPath.get(p)!);
  return image.entries.filter((e) => picked.has(e));
}

function addSummary(to: ExtractSummary, more: ExtractSummary): void {
  to.files += more.files;
  to.dirs += more.dirs;
  to.symlinks += more.symlinks;
  to.bytes += more.bytes;
}

export async function runGet(given: GetInput): Promise<GetReport> {
  const started = Date.now();
  const { warnings, warn } = collectWarnings(given.onWarning);
  const input = { ...given, onWarning: warn };
  const { target } = input;
  const outDir = resolve(input.outDir);
  await mkdir(outDir, { recursive: true });
  if (!(await stat(outDir)).isDirectory()) throw new IsosyncError('BAD_ARGUMENT', `Cannot get into ${quote(outDir)}: not a folder`, { path: outDir });
  const emit = input.onEvent ?? (() => undefined);
  const session = await SubsetSession.open({ ...input, output: getPartBase(outDir, target.name) });
  const notes: string[] = [];
  try {
    const paths: string[] = [];
    let chosen: ChosenPackage[] = [];
    if (input.packages) {
      emit({ type: 'phase', phase: 'metadata', detail: 'package indexes' });
      const idx = await readPackageIndex(session, target.name, input.zstd);
      if (idx.packages.indexes.length === 0) throw new IsosyncError('NOT_FOUND', `Cannot choose packages in ${quote(target.name)}: it has no package index (dists/*/Packages or repodata/repomd.xml)`);
      for (const w of idx.packages.warnings) notes.push(`${w.source}: ${w.detail}`);
      chosen = choosePackages(idx.packages.packages, input.packages);
      for (const c of chosen) {
        if (c.pkg.filename === undefined) throw new IsosyncError('BAD_PACKAGE', `Cannot get ${c.pkg.name} ${c.pkg.version}: the index gives no file name`);
        paths.push(`/${c.pkg.filename.replace(/^\/+/, '')}`);
      }
      if (chosen.length === 0) notes.push('no package chosen: nothing installed is older than the image');
    }
    emit({ type: 'phase', phase: 'metadata', detail: 'directories' });
    let files: IsoEntry[] = [];
    let spans: Span[] = [];
    let extracted: ExtractSummary | null = null;
    const nestedPatterns = input.patterns.filter(isNestedPattern);
    const plainPatterns = input.patterns.filter((p) => !isNestedPattern(p));
    let nested: NestedChoice = { images: [], selections: [] };
    if (input.patterns.length > 0 || paths.length > 0) {
      // The directories on the way to plain paths and to the containers nested paths name.
      const image = await readIso(session, { name: target.name, descend: descendTo([...plainPatterns, ...nestedPatterns.map((p) => nestedParts(p)[0]!)], paths) });
      const selected = plainPatterns.length > 0 || paths.length > 0 ? selectAll(image, plainPatterns, paths) : [];
      if (nestedPatterns.length > 0) {
        emit({ type: 'phase', phase: 'metadata', detail: 'nested images' });
        nested = await chooseNested(session, image, nestedPatterns);
      }
      session.located();
      files = selected.filter((e) => e.type === 'file');
      emit({ type: 'phase', phase: 'plan' });
      await session.mapFiles(image, nested.images, (m) => notes.push(m));
      emit({ type: 'phase', phase: 'assemble' });
      spans = [...files.flatMap((f) => contentSpans(f.extents, image.logicalBlockSize)), ...nestedSpans(nested.selections)];
      await session.ensure(piecesTouched(spans, target.pieceLength, target.length));
      emit({ type: 'phase', phase: 'finish' });
      extracted = await extractEntries(session, image, selected, outDir);
      if (nested.selections.length > 0) addSummary(extracted, await extractNested(nested.selections, outDir));
    }
    const nestedFiles = nested.selections.flatMap((sel) => sel.entries.filter((f) => f.type === 'file').map((f) => ({ path: `${sel.image.path}:${f.path}`, size: f.size })));
    const fileBytes = files.reduce((n, f) => n + f.size, 0) + nestedFiles.reduce((n, f) => n + f.size, 0);
    // Stored bytes: an ISO file's own, a nested file's compressed blocks and the shared blocks of their tails (each once).
    const storedBytes = files.reduce((n, f) => n + f.size, 0) + spanBytes(nestedSpans(nested.selections));
    const runs = files.length + nestedRuns(nested.selections);
    const filePieces = piecesTouched(spans, target.pieceLength, target.length).length;
    const peers = session.swarm?.report();
    const report: GetReport = {
      name: target.name,
      infoHash: target.infoHash,
      outDir,
      pieceLength: target.pieceLength,
      files: [...files.map((f) => ({ path: f.path, size: f.size })), ...nestedFiles],
      fileBytes,
      storedBytes,
      packages: chosen.map((c) => ({ name: c.pkg.name, arch: c.pkg.arch, version: c.pkg.version, why: c.why, path: `/${c.pkg.filename!.replace(/^\/+/, '')}` })),
      metadataPieces: session.metadataPieces.size,
      filePieces,
      fetchedBytes: session.stats.fetchedBytes,
      reusedBytes: session.stats.reusedBytes,
      resumedBytes: session.stats.resumedBytes,
      wastedBytes: session.stats.wastedBytes,
      boundBytes: fetchBound(storedBytes, runs, session.metadataPieces.size, target.pieceLength),
      extracted,
      webSeeds: session.webSeedReport(),
      ...(peers ? { peers: { downloaded: peers.downloaded, uploaded: peers.uploaded } } : {}),
      notes,
      warnings,
      seconds: 0,
    };
    await session.close();
    await unlink(session.part.path).catch(() => undefined);
    report.seconds = (Date.now() - started) / 1000;
    return report;
  } catch (e) {
    await session.abandon();
    throw e;
  }
}
