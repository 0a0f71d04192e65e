/**
 * Content-Type by file extension: a small table of what this server is for
 * (images, torrents, checksums, pages); everything else is octet-stream.
 */
import { extname } from 'node:path';

export const TORRENT_TYPE = 'application/x-bittorrent';
export const DEFAULT_TYPE = 'application/octet-stream';

const TYPES: Readonly<Record<string, string>> = {
  '.iso': 'application/x-iso9660-image',
  '.torrent': TORRENT_TYPE,
  '.txt': 'text/plain; charset=utf-8',
  '.asc': 'text/plain; charset=utf-8',
  '.sig': 'application/pgp-signature',
  '.gpg': 'application/pgp-signature',
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.css': 'text/css; charset=utf-8',
  '.zsync': DEFAULT_TYPE,
};

/** Checksum lists such as SHA256SUMS or MD5SUMS carry no extension but are text. */
const TEXT_NAMES = /^(SHA\d+SUMS|MD5SUMS|CHECKSUMS|README|LICENSE)$/i;

export function contentTypeOf(fileName: string): string {
  const base = fileName.split('/').pop() ?? fileName;
  if (TEXT_NAMES.test(base)) return 'text/plain; charset=utf-8';
  return TYPES[extname(base).toLowerCase()] ?? DEFAULT_TYPE;
}
