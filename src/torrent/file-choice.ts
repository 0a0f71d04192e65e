/**
 * Which file of a multi-file torrent isosync syncs.
 *
 * Releases are often published as a folder: the image beside its
 * SHA256SUMS and signature. isosync's delta applies to one image, so it
 * picks one file and says which:
 *   1. only files a magnet's `so` (BEP 53) selects, when it has one;
 *   2. never a BEP 47 pad file or an empty file;
 *   3. the largest file named *.iso or *.img, else the largest file.
 * The other files are small: they are listed, not delta-synced.
 *
 * File indexes are positions in the torrent's file list (pad entries
 * included), as BEP 53 counts them.
 *
 * Pure: no I/O.
 */
import { IsosyncError } from '../errors.js';
import type { FileEntry } from './metainfo.js';
import { isPadFile } from './v2-info.js';

export interface FileChoice {
  /** Index in the torrent's file list. */
  readonly index: number;
  readonly file: FileEntry;
  /** The file's pieces: [first, end). */
  readonly firstPiece: number;
  readonly endPiece: number;
  /** Whether its first or last piece also holds bytes of another file (a v1 torrent without pad files). */
  readonly sharesPieces: boolean;
  /** The files not synced (pad files left out). */
  readonly others: readonly FileEntry[];
  /** One line for the user: which file, and why. */
  readonly summary: string;
}

const IMAGE_NAME = /\.(iso|img)$/i;

export function chooseSyncFile(
  m: { readonly name: string; readonly files?: readonly FileEntry[]; readonly pieceLength: number; readonly length: number },
  selected: (index: number) => boolean = () => true,
): FileChoice {
  const files = m.files;
  if (!files) throw new IsosyncError('BAD_ARGUMENT', `Cannot choose a file of ${JSON.stringify(m.name)}: it is a single-file torrent`);
  const candidates = files.map((file, index) => ({ file, index })).filter(({ file, index }) => !isPadFile(file) && file.length > 0 && selected(index));
  if (candidates.length === 0) {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot choose a file of ${JSON.stringify(m.name)}: no selected file holds data`, { torrent: m.name });
  }
  const images = candidates.filter(({ file }) => IMAGE_NAME.test(file.path[file.path.length - 1] ?? ''));
  const pool = images.length > 0 ? images : candidates;
  let best = pool[0]!;
  for (const c of pool) if (c.file.length > best.file.length) best = c;
  const { file, index } = best;
  const firstPiece = Math.floor(file.offset / m.pieceLength);
  const endPiece = Math.ceil((file.offset + file.length) / m.pieceLength);
  const sharesPieces = files.some(
    (f, i) =>
      i !== index &&
      !isPadFile(f) &&
      f.length > 0 &&
      Math.floor(f.offset / m.pieceLength) < endPiece &&
      Math.ceil((f.offset + f.length) / m.pieceLength) > firstPiece,
  );
  const others = files.filter((f, i) => i !== index && !isPadFile(f));
  const why = images.length > 0 ? (images.length > 1 ? 'the largest image' : 'the image') : 'no *.iso or *.img file: the largest file';
  const rest = others.length > 0 ? `; not synced: ${others.map((f) => f.path.join('/')).join(', ')}` : '';
  const summary = `syncs ${JSON.stringify(file.path.join('/'))} (file ${index + 1} of ${files.length} in ${JSON.stringify(m.name)}, ${why})${rest}`;
  return { index, file, firstPiece, endPiece, sharesPieces, others, summary };
}
