/**
 * Publishing a release: hash the image, work out its lineage, ask the delta
 * core for hints, build the torrent, record it in the catalog, write it.
 *
 * Order matters for "nothing half-done": the catalog is checked for a
 * conflicting release before anything is written, the torrent is written
 * atomically, and the catalog records the release only after the torrent
 * file is in place (a failed write leaves the catalog as it was).
 *
 * Re-publishing the same content (same infohash) reuses the stored creation
 * date, so the same image and options give a byte-identical .torrent file.
 *
 * Torrents are plain BitTorrent v1 (BEP 3) by default; `--hybrid` adds the
 * v2 half (BEP 52: per-file SHA-256 merkle trees, so one 16 KiB block can be
 * verified on its own, and v2 clients join) and `--v2` drops the v1 half.
 * Hybrid is not the default because clients people still run cannot use it:
 * Debian 12's Transmission 3.00 refuses to open a hybrid torrent (libtorrent's
 * own as well as isosync's), and aria2 1.36 computes a wrong v1 infohash for
 * one (so it joins an empty swarm). isosync's promise is that any client can
 * download an isosync torrent.
 */
import { existsSync, mkdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { IsosyncError } from '../errors.js';
import { encodeBencode } from '../torrent/bencode-encode.js';
import { buildInfoDict, createTorrent, type CreatedTorrent } from '../torrent/create.js';
import { computeInfoHash, type InfoHash } from '../torrent/info-hash.js';
import { hashPieces, v2Root, verifyPieces, type V2Hashes } from '../torrent/hash-pieces.js';
import { startPieceHashing, type PieceHashing } from '../torrent/piece-pool.js';
import type { LineageEntry } from '../torrent/isosync-keys.js';
import { parseMetainfo, type Metainfo, type MetaVersion } from '../torrent/metainfo.js';
import { V2_MIN_PIECE_LENGTH } from '../torrent/v2-info.js';
import { checkPieceLength, defaultPieceLength } from '../torrent/piece-length.js';
import { writeFileAtomic } from './atomic-write.js';
import { layOutImage, mirrorFileUrl, outDirTorrentPath, type MirrorLayout } from './out-dir.js';
import type { Catalog, RecordOutcome, ReleaseRecord } from './catalog.js';
import { checkReleaseImage } from './release-image.js';
import { changedBlocks, choosePublishPieceLength, type AutoPieceLength } from './auto-piece-length.js';
import { torrentFileName } from './torrent-name.js';
import { PieceStream } from './piece-stream.js';
import { buildLineage, defaultPrevious, resolvePrevious, type PreviousRelease } from './previous.js';
import { adoptHashing, DEFAULT_VERSION, type StartedHashing } from './publish-hashing.js';

export interface PublishOptions {
  readonly imagePath: string;
  readonly product: string;
  readonly release: string;
  /** --previous arguments (torrents or images); undefined or [] = ask the catalog. */
  readonly previous?: readonly string[];
  /** Tracker tiers (BEP 12). */
  readonly trackers?: readonly (readonly string[])[];
  readonly webSeeds?: readonly string[];
  /** Bytes, or 'auto': the largest at which a stock client with the previous image fetches at most 1.05 x the changed bytes (auto-piece-length.ts). */
  readonly pieceLength?: number | 'auto';
  /** v1, v2 or hybrid (default DEFAULT_VERSION). */
  readonly version?: MetaVersion;
  readonly comment?: string;
  /** Output path; default IMAGE without `.iso`, plus `.torrent`, beside the image. */
  readonly out?: string;
  readonly force?: boolean;
  /** Lay the release out for a static mirror here (out-dir.ts); the torrent goes to DIR/IMAGE.torrent unless `out` says otherwise. */
  readonly outDir?: string;
  /** The mirror's URL (a folder): its copy of the image becomes the torrent's first web seed. */
  readonly publicUrl?: string;
  /** Creation date in seconds (default now, or $SOURCE_DATE_EPOCH as the CLI passes it). */
  readonly creationDate?: number;
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Each step as it starts: checking the image, hashing it, computing hints against the named releases, writing. */
  readonly onPhase?: (phase: PublishPhase) => void;
  /**
   * Signs the finished torrent outside its info dictionary (the infohash
   * does not change): `publish --sign KEY` passes src/feed's signer here.
   */
  readonly sign?: (torrent: Uint8Array, label: string) => Uint8Array;
  /** The pass the caller started early (publish-hashing.ts): used when it hashes what this publish needs, else cancelled. */
  readonly started?: StartedHashing;
}

export type PublishPhase =
  | { readonly phase: 'checking'; readonly image: string }
  | { readonly phase: 'piece-length'; readonly against: string }
  | { readonly phase: 'hashing'; readonly image: string }
  | { readonly phase: 'hints'; readonly against: readonly string[] }
  | { readonly phase: 'writing'; readonly torrent: string };

export interface PublishResult {
  readonly outPath: string;
  readonly metainfo: Metainfo;
  readonly torrent: Uint8Array;
  readonly lineage: readonly LineageEntry[];
  readonly previous: readonly PreviousRelease[];
  readonly outcome: RecordOutcome;
  /** Whether the delta core supplied hints. */
  readonly hints: boolean;
  /** Seconds spent hashing the image (and computing the hints, when its pieces were hashed in the same read). */
  readonly hashSeconds: number;
  /** What --piece-length auto chose, and against which release. */
  readonly autoPieceLength?: AutoPieceLength & { readonly against: string };
  /** What --out-dir laid out. */
  readonly layout?: MirrorLayout;
}

/** Release and product labels: 1 to this many characters, no control characters. */
const MAX_LABEL_CHARS = 128;

/** What publish makes unless told otherwise (see the module comment for why); publish-hashing.ts holds it, for quick-publish's early start. */
export { DEFAULT_VERSION };

/** Where publish writes the torrent by default: beside the image, named by torrent-name.ts. */
export function defaultTorrentPath(imagePath: string): string {
  return join(dirname(imagePath), torrentFileName(basename(imagePath)));
}

/**
 * Refuses to replace a file at `outPath` that is not this very torrent
 * (`bytes`), unless forced; `bytes` undefined: before hashing, only a file
 * that cannot be a torrent of this release is refused.
 */
function checkOutput(outPath: string, o: PublishOptions, bytes?: Uint8Array): void {
  if (o.force || !existsSync(outPath)) return;
  let same: boolean;
  if (bytes) same = Buffer.from(readFileSync(outPath)).equals(Buffer.from(bytes));
  else {
    try {
      const m = parseMetainfo(readFileSync(outPath), outPath);
      same = m.isosync?.product === o.product && m.isosync?.release === o.release;
    } catch {
      same = false;
    }
  }
  if (!same) throw new IsosyncError('CONFLICT', `Cannot write ${JSON.stringify(outPath)}: a different file is already there (use --force to replace it)`, { path: outPath });
}

export async function publishRelease(catalog: Catalog, o: PublishOptions): Promise<PublishResult> {
  checkLabel('--product', o.product);
  checkLabel('--release', o.release);
  const imagePath = resolve(o.imagePath);
  const size = imageSize(o.imagePath);
  let pieceLength = typeof o.pieceLength === 'number' ? o.pieceLength : defaultPieceLength(size);
  checkPieceLength(pieceLength);
  const version = o.version ?? DEFAULT_VERSION;
  if (version !== 'v1' && pieceLength < V2_MIN_PIECE_LENGTH) {
    throw new IsosyncError(
      'BAD_ARGUMENT',
      `Invalid --piece-length ${pieceLength}: a ${version} torrent needs at least ${V2_MIN_PIECE_LENGTH} bytes (BEP 52); use --v1 for smaller pieces`,
    );
  }
  const outPath = resolve(o.out ?? (o.outDir !== undefined ? outDirTorrentPath(o.outDir, o.imagePath) : defaultTorrentPath(o.imagePath)));
  if (o.publicUrl !== undefined) checkUrl('--public-url', o.publicUrl, ['http:', 'https:']);
  const webSeeds = [...(o.publicUrl !== undefined ? [mirrorFileUrl(o.publicUrl, basename(imagePath))] : []), ...(o.webSeeds ?? [])];
  if (outPath === imagePath) {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot publish ${JSON.stringify(o.imagePath)}: the output path is the image itself`);
  }
  for (const u of (o.trackers ?? []).flat()) checkUrl('--tracker', u, ['http:', 'https:', 'udp:', 'ws:', 'wss:']);
  for (const u of o.webSeeds ?? []) checkUrl('--web-seed', u, ['http:', 'https:', 'ftp:']);
  o.onPhase?.({ phase: 'checking', image: o.imagePath });
  // The workers hash the image while this thread checks it, resolves the lineage and computes hints.
  const started = adoptHashing(o.started, imagePath, size, o.pieceLength === 'auto' ? 'auto' : pieceLength, version !== 'v1');
  const before = started?.before ?? statSync(imagePath);
  let hashing = started?.pass ?? (o.pieceLength === 'auto' ? undefined : startPieceHashing(imagePath, pieceLength, { length: size, v2: version !== 'v1' }));
  try {
    return await publishChecked(catalog, o, { imagePath, size, pieceLength, version, outPath, webSeeds, before }, (p) => (hashing ??= startPieceHashing(imagePath, p, { length: size, v2: version !== 'v1' })));
  } finally {
    // Ends the workers when publish failed before it used the pieces (after finish(), nothing is left to stop).
    hashing?.cancel();
  }
}

interface Settled {
  readonly imagePath: string;
  readonly size: number;
  readonly pieceLength: number;
  readonly version: MetaVersion;
  readonly outPath: string;
  readonly webSeeds: readonly string[];
  /** The image's stat when hashing started: a change before the end is an error. */
  readonly before: Stats;
}

async function publishChecked(catalog: Catalog, o: PublishOptions, st: Settled, hasher: (pieceLength: number) => PieceHashing): Promise<PublishResult> {
  const { imagePath, size, version, outPath, webSeeds } = st;
  let pieceLength = st.pieceLength;
  await checkReleaseImage(o.imagePath);

  const previous: PreviousRelease[] = [];
  if (o.previous && o.previous.length > 0) {
    for (const p of o.previous) previous.push(await resolvePrevious(p, catalog, pieceLength));
  } else {
    const p = defaultPrevious(catalog, o.product, o.release);
    if (p) previous.push(p);
  }
  let autoPieceLength: PublishResult['autoPieceLength'];
  if (o.pieceLength === 'auto') {
    const against = previous.find((p) => p.imagePath !== undefined);
    if (!against) {
      throw new IsosyncError('BAD_ARGUMENT', `Invalid --piece-length auto: it needs the previous release's image (give --previous IMAGE, or publish the previous release from this catalog)`);
    }
    o.onPhase?.({ phase: 'piece-length', against: against.release });
    const chosen = choosePublishPieceLength(await changedBlocks(imagePath, against.imagePath!), pieceLength);
    autoPieceLength = { ...chosen, against: against.release };
    if (chosen.pieceLength !== pieceLength) {
      pieceLength = chosen.pieceLength;
      // A previous image known only by its bytes is named by the torrent of it at this piece length.
      for (let i = 0; i < previous.length; i++) {
        const p = previous[i]!;
        if (p.via === 'hashed-image') previous[i] = await resolvePrevious(p.imagePath!, catalog, pieceLength);
      }
    }
  }
  const lineage = buildLineage(previous, o);
  checkOutput(outPath, o);

  const withImages = previous.filter((p) => p.imagePath !== undefined);
  const prevs = previous.map((p) => ({ infoHash: p.infoHash, release: p.release, ...(p.imagePath ? { imagePath: p.imagePath } : {}) }));
  const t0 = performance.now();
  const hashing = hasher(pieceLength);
  let v2: V2Hashes | undefined;
  let pieces: Uint8Array | undefined;
  let hints: unknown;
  if (withImages.length > 0) {
    o.onPhase?.({ phase: 'hints', against: withImages.map((p) => p.release) });
    // Without a worker hashing meanwhile, v1 pieces are hashed in the hint matcher's own read of the image.
    const stream = version === 'v1' && (await hashing.decided) === 0 ? new PieceStream(size, pieceLength, o.onProgress) : undefined;
    // The delta core loads only when there is an image to compute hints against.
    hints = await (await import('../delta/hints.js')).buildHints(imagePath, prevs, stream ? { onTargetBytes: stream.update } : {});
    pieces = stream?.pieces();
  }
  if (pieces === undefined) {
    o.onPhase?.({ phase: 'hashing', image: o.imagePath });
    const r = await hashing.finish(o.onProgress);
    pieces = r.pieces;
    if (version !== 'v1') v2 = { pieces, pieceLayer: r.layer!, root: v2Root(imagePath, size, pieceLength, r.layer!) };
  } else hashing.cancel();
  const after = statSync(imagePath);
  if (after.size !== st.before.size || after.mtimeMs !== st.before.mtimeMs) {
    throw new IsosyncError('IO', `Cannot hash ${JSON.stringify(o.imagePath)}: the file changed while it was being hashed`, { path: imagePath });
  }
  const hashSeconds = (performance.now() - t0) / 1000;
  const imagePieces: Uint8Array = pieces;

  const make = (creationDate: number | undefined): CreatedTorrent =>
    createTorrent({
      name: basename(imagePath),
      length: size,
      pieceLength,
      pieces: imagePieces,
      version,
      ...(v2 ? { v2 } : {}),
      trackers: o.trackers ?? [],
      webSeeds,
      ...(o.comment !== undefined ? { comment: o.comment } : {}),
      ...(creationDate !== undefined ? { creationDate } : {}),
      isosync: { product: o.product, release: o.release, lineage, ...(hints !== undefined ? { hints } : {}) },
    });
  let made = make(o.creationDate);
  const existing = catalog.findRelease(o.product, o.release);
  if (existing && existing.infoHash === made.metainfo.infoHash && o.creationDate === undefined) {
    const stored = parseMetainfo(existing.torrent, `catalog record of ${o.product} ${o.release}`);
    if (stored.creationDate !== undefined) made = make(stored.creationDate);
  }
  // Refuse before writing anything.
  const conflict = catalog.conflictWith({ product: o.product, release: o.release, infoHash: made.metainfo.infoHash });
  if (conflict && !o.force) throw conflict;
  if (o.sign) made = { ...made, bytes: o.sign(made.bytes, outPath) };
  checkOutput(outPath, o, made.bytes);
  o.onPhase?.({ phase: 'writing', torrent: outPath });

  if (o.outDir !== undefined) mkdirSync(resolve(o.outDir), { recursive: true });
  writeFileAtomic(outPath, made.bytes);
  const outcome = catalog.recordRelease(recordOf(o, made, imagePath, size, lineage), { force: o.force ?? false });
  catalog.registerImage(imagePath, made.metainfo.infoHash, true);
  const layout = o.outDir !== undefined ? { ...(await layOutImage(resolve(o.outDir), imagePath)), torrent: outPath } : undefined;
  return { outPath, metainfo: made.metainfo, torrent: made.bytes, lineage, previous, outcome, hints: hints !== undefined, hashSeconds, ...(layout ? { layout } : {}), ...(autoPieceLength ? { autoPieceLength } : {}) };
}

/** The info dictionary of an image as a publisher would give it (see imageInfoDict). */
export interface ImageInfoDict {
  /** The raw bencoded info dictionary. */
  readonly info: Uint8Array;
  readonly infoHash: InfoHash;
  readonly pieceLength: number;
  /** The catalog's release when the image is one (its product, release, lineage and hints are inside `info`). */
  readonly release?: ReleaseRecord;
}

/**
 * The info dictionary for the image at `path`, for a server that hands out
 * torrents of the files it serves:
 *  - the file is a registered, unchanged image of a release published in the
 *    catalog: that release's own info dictionary (same infohash as the
 *    published torrent, with product, release, lineage and hints), no hashing;
 *  - it is registered but its mtime or inode changed: hashed again at the
 *    release's piece length, and still the release's dictionary when every
 *    piece matches (SHA-1, or the piece layers of a v2-only release; the
 *    registration is refreshed);
 *  - otherwise: hashed now into a plain BEP 3 info dictionary (default piece
 *    length by size), exactly what publish would put there minus the isosync keys.
 */
export async function imageInfoDict(catalog: Catalog | undefined, path: string, opts: { onProgress?: (done: number, total: number) => void } = {}): Promise<ImageInfoDict> {
  const abs = resolve(path);
  const size = imageSize(abs);
  // Also through another name of the same file: a hard link, or a symlink the image was published through.
  const reg = catalog?.imageAt(abs) ?? catalog?.imageWithIdentity(statSync(abs));
  const release = reg ? catalog?.byInfoHash(reg.infoHash) : undefined;
  const published = release ? parseMetainfo(release.torrent, `catalog record of ${release.product} ${release.release}`) : undefined;
  if (release && published && reg?.unchanged && published.length === size && !published.files) {
    return { info: published.rawInfo, infoHash: published.infoHash, pieceLength: published.pieceLength, release };
  }
  const pieceLength = published && published.length === size ? published.pieceLength : defaultPieceLength(size);
  if (release && published && published.length === size && published.version === 'v2') {
    // v2-only: no SHA-1 pieces to compare; every piece checked against the release's piece layers instead.
    const v = await verifyPieces(abs, published, opts.onProgress ? { onProgress: opts.onProgress } : {});
    if (v.validCount === v.pieceCount) {
      catalog!.registerImage(abs, published.infoHash, true);
      return { info: published.rawInfo, infoHash: published.infoHash, pieceLength, release };
    }
  }
  const pieces = await hashPieces(abs, pieceLength, opts.onProgress ? { onProgress: opts.onProgress } : {});
  if (release && published && Buffer.from(pieces).equals(Buffer.from(published.pieces))) {
    catalog!.registerImage(abs, published.infoHash, true);
    return { info: published.rawInfo, infoHash: published.infoHash, pieceLength, release };
  }
  const info = encodeBencode(buildInfoDict({ name: basename(abs), length: size, pieceLength, pieces }));
  return { info, infoHash: computeInfoHash(info).hex, pieceLength };
}

function recordOf(o: PublishOptions, made: CreatedTorrent, imagePath: string, size: number, lineage: readonly LineageEntry[]) {
  return { product: o.product, release: o.release, infoHash: made.metainfo.infoHash, torrent: made.bytes, imagePath, imageSize: size, lineage };
}

function imageSize(path: string): number {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new IsosyncError('NOT_FOUND', `Cannot publish ${JSON.stringify(path)}: no such file`, { path });
    throw new IsosyncError('IO', `Cannot publish ${JSON.stringify(path)}: ${err.message}`, { path }, { cause: e });
  }
  if (!st.isFile()) throw new IsosyncError('BAD_ARGUMENT', `Cannot publish ${JSON.stringify(path)}: not a regular file`, { path });
  if (st.size === 0) throw new IsosyncError('BAD_ARGUMENT', `Cannot publish ${JSON.stringify(path)}: the file is empty`, { path });
  return st.size;
}

function checkLabel(option: string, value: string): void {
  // eslint-disable-next-line no-control-regex
  if (value.length === 0 || value.length > MAX_LABEL_CHARS || /[\x00-\x1f\x7f]/.test(value)) {
    throw new IsosyncError('BAD_ARGUMENT', `Invalid ${option} ${JSON.stringify(value)}: must be 1 to ${MAX_LABEL_CHARS} characters without control characters`);
  }
}

function checkUrl(option: string, value: string, protocols: readonly string[]): void {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new IsosyncError('BAD_ARGUMENT', `Invalid ${option} ${JSON.stringify(value)}: not a URL`);
  }
  if (!protocols.includes(u.protocol)) {
    throw new IsosyncError('BAD_ARGUMENT', `Invalid ${option} ${JSON.stringify(value)}: scheme must be one of ${protocols.map((p) => p.slice(0, -1)).join(', ')}`);
  }
}
