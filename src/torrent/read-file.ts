/**
 * Reading a .torrent file from disk: size-capped, with errors that name the
 * path as given. Its own module so that `isosync info` reads a torrent
 * without loading what publishing and the catalog need.
 */
import { readFileSync, statSync } from 'node:fs';
import { IsosyncError } from '../errors.js';
import { parseMetainfo, type Metainfo } from './metainfo.js';

/** Largest .torrent file read: 64 MiB is far above any real torrent (a 16384-piece image needs 330 KB). */
export const MAX_TORRENT_FILE_BYTES = 64 * 1024 * 1024;

/** Reads and parses a .torrent file (size-capped), with errors naming the path as given. */
export function readTorrentFile(path: string): Metainfo {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new IsosyncError('BAD_ARGUMENT', `Cannot read torrent ${JSON.stringify(path)}: not a regular file`, { path });
    size = st.size;
  } catch (e) {
    if (e instanceof IsosyncError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new IsosyncError('NOT_FOUND', `Cannot read torrent ${JSON.stringify(path)}: no such file`, { path });
    throw new IsosyncError('IO', `Cannot read torrent ${JSON.stringify(path)}: ${err.message}`, { path }, { cause: e });
  }
  if (size > MAX_TORRENT_FILE_BYTES) {
    throw new IsosyncError('BAD_TORRENT', `Cannot read torrent ${JSON.stringify(path)}: file size ${size} is above the limit ${MAX_TORRENT_FILE_BYTES}`, { path });
  }
  return parseMetainfo(readFileSync(path), path);
}
