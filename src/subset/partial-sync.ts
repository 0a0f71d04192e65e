/**
 * `isosync sync TORRENT --only PATH_OR_GLOB...`: a partial image. The .part
 * beside the output path keeps, verified:
 *   - the image's metadata (its whole directory tree, both trees, path
 *     tables, boot catalog: the pieces they sit in), so a later run needs
 *     no metadata from the network;
 *   - the pieces of the chosen files (a file inside a nested image, named
 *     as `ls --deep` prints it, brings its stored blocks and its
 *     container's metadata);
 *   - every piece that needs no byte from the network (its bytes are all
 *     local, or known zeros, and verify).
 * It stays a sparse `.part`: the same command resumes it, a later `--only`
 * adds to it, and a sync without --only completes it (all of them resume
 * from its verified pieces). When it happens to hold every piece, it is
 * renamed to the image like a full sync's.
 *
 * While it runs, and with --seed afterwards until interrupted, it serves
 * its verified pieces to peers (the bitfield as it is, a `have` per new
 * piece): partial peers together can complete another peer's download.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { IsosyncError, quote } from '../errors.js';
import type { Warning } from '../core/warnings.js';
import { readIso } from '../iso/index.js';
import { selectEntries } from '../iso/select.js';
import { collectWarnings } from '../sync/prepare.js';
import type { SyncInput } from '../sync/report.js';
import { verifyPieces } from '../torrent/hash-pieces.js';
import { chooseNested, isNestedPattern, nestedSpans } from './nested-select.js';
import { contentSpans, piecesTouched } from './pieces.js';
import { SubsetSession } from './session.js';

export interface PartialInput extends SyncInput {
  /** Paths or globs of the image (iso/select.ts rules). */
  readonly only: readonly string[];
}

export interface PartialReport {
  name: string;
  infoHash: string;
  /** The image path: complete, or its `.part` (partial). */
  output: string;
  part: string;
  complete: boolean;
  pieceLength: number;
  pieceCount: number;
  /** Verified pieces the .part holds now, and their bytes. */
  piecesHeld: number;
  bytesHeld: number;
  files: { path: string; size: number }[];
  fileBytes: number;
  metadataPieces: number;
  filePieces: number;
  /** Pieces verified from local data alone, beyond the chosen ones. */
  freePieces: number;
  fetchedBytes: number;
  reusedBytes: number;
  resumedBytes: number;
  wastedBytes: number;
  webSeeds: { url: string; bytes: number; dropped?: string }[];
  peers?: { downloaded: number; uploaded: number };
  warnings: Warning[];
  seconds: number;
}

export async function runPartialSync(given: PartialInput): Promise<PartialReport> {
  const started = Date.now();
  const { warnings, warn } = collectWarnings(given.onWarning);
  const input = { ...given, onWarning: warn };
  const { target } = input;
  const output = resolve(input.output);
  if (!existsSync(dirname(output))) throw new IsosyncError('NOT_FOUND', `Cannot write ${quote(output)}: directory ${quote(dirname(output))} does not exist`);
  if (existsSync(output)) {
    // The whole image is there already (it holds every chosen file): nothing to do, once every piece verifies.
    const v = await verifyPieces(output, target);
    if (v.validCount !== v.pieceCount) throw new IsosyncError('CONFLICT', `Cannot write ${quote(output)}: a different file is already there (move it away, or choose -o)`, { path: output });
    return completeReport(input, output, warnings, started);
  }
  const emit = input.onEvent ?? (() => undefined);
  const session = await SubsetSession.open({ ...input, output });
  try {
    emit({ type: 'phase', phase: 'metadata' });
    const image = await readIso(session, { name: target.name });
    const plain = input.only.filter((p) => !isNestedPattern(p));
    const selected = plain.length > 0 ? selectEntries(image.entries, plain, target.name) : [];
    // Files inside nested images (ls --deep paths): their container's metadata and their stored blocks.
    const nestedPatterns = input.only.filter(isNestedPattern);
    const nested = nestedPatterns.length > 0 ? await chooseNested(session, image, nestedPatterns) : { images: [], selections: [] };
    session.located();
    const files = [
      ...selected.filter((e) => e.type === 'file').map((f) => ({ path: f.path, size: f.size })),
      ...nested.selections.flatMap((sel) => sel.entries.filter((f) => f.type === 'file').map((f) => ({ path: `${sel.image.path}:${f.path}`, size: f.size }))),
    ];
    emit({ type: 'phase', phase: 'plan' });
    await session.mapFiles(image, nested.images);
    emit({ type: 'phase', phase: 'assemble' });
    const spans = [...selected.flatMap((f) => (f.type === 'file' ? contentSpans(f.extents, image.logicalBlockSize) : [])), ...nestedSpans(nested.selections)];
    const filePieces = piecesTouched(spans, target.pieceLength, target.length);
    await session.ensure(filePieces);
    const free = await session.buildLocal(session.freePieces());
    emit({ type: 'phase', phase: 'finish' });
    const complete = session.complete;
    await session.closeNetwork();
    const peers = session.swarm?.report();
    const report: PartialReport = {
      name: target.name,
      infoHash: target.infoHash,
      output,
      part: session.part.path,
      complete,
      pieceLength: target.pieceLength,
      pieceCount: target.pieceCount,
      piecesHeld: session.part.verifiedCount,
      bytesHeld: session.verifiedBytes,
      files,
      fileBytes: files.reduce((n, f) => n + f.size, 0),
      metadataPieces: session.metadataPieces.size,
      filePieces: filePieces.length,
      freePieces: free,
      fetchedBytes: session.stats.fetchedBytes,
      reusedBytes: session.stats.reusedBytes,
      resumedBytes: session.stats.resumedBytes,
      wastedBytes: session.stats.wastedBytes,
      webSeeds: session.webSeedReport(),
      ...(peers ? { peers: { downloaded: peers.downloaded, uploaded: peers.uploaded } } : {}),
      warnings,
      seconds: (Date.now() - started) / 1000,
    };
    if (complete) {
      // Every piece is here after all: the image, as a full sync leaves it.
      await session.swarm?.close();
      await session.part.finish();
      input.catalog?.registerImage(output, target.infoHash, true);
      return report;
    }
    // --seed: serve the partial image until the caller's afterSync returns.
    const swarm = session.swarm;
    if (swarm && input.peers?.afterSync) await input.peers.afterSync(report, swarm);
    else if (swarm) await swarm.courtesy();
    await session.close();
    return report;
  } catch (e) {
    await session.abandon();
    throw e;
  }
}

/** The report when the whole image is there already. */
function completeReport(input: PartialInput, output: string, warnings: Warning[], started: number): PartialReport {
  const t = input.target;
  return {
    name: t.name, infoHash: t.infoHash, output, part: `${output}.part`, complete: true, pieceLength: t.pieceLength, pieceCount: t.pieceCount,
    piecesHeld: t.pieceCount, bytesHeld: t.length, files: [], fileBytes: 0, metadataPieces: 0, filePieces: 0, freePieces: 0,
    fetchedBytes: 0, reusedBytes: 0, resumedBytes: t.length, wastedBytes: 0, webSeeds: [], warnings, seconds: (Date.now() - started) / 1000,
  };
}
