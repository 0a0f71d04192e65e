/**
 * `publish --out-dir DIR`: lays a release out so that copying DIR to any web
 * server makes a working web seed and a place clients can sync from by URL:
 *
 *   DIR/NAME.iso            the image (a hard link when DIR is on the same
 *                           file system, else a copy)
 *   DIR/NAME.iso.torrent    the torrent (its url-list names the mirror's copy
 *                           when a public URL is given); `isosync URL/NAME.iso`
 *                           finds it beside the image
 *   DIR/SHA256SUMS          one line per image (updated, others kept), the
 *                           check a plain HTTP client can still make
 *
 * The delta hints live inside the torrent's info dictionary, so there is no
 * separate hint file to copy. Files are written atomically.
 */
import { createHash } from 'node:crypto';
import { createReadStream, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { IsosyncError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { torrentFileName } from './torrent-name.js';

export interface MirrorLayout {
  readonly image: string;
  readonly torrent: string;
  readonly sums: string;
  /** How the image got there. */
  readonly imageBy: 'hard link' | 'copy' | 'already there';
  readonly sha256: string;
}

/** The mirror URL of the image named `name` under `publicUrl` (a folder URL, with or without "/"). */
export function mirrorFileUrl(publicUrl: string, name: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/${encodeURIComponent(name)}`;
}

/** Where the torrent goes in DIR: beside the image, named IMAGE.torrent. */
export function outDirTorrentPath(outDir: string, imagePath: string): string {
  return join(outDir, torrentFileName(basename(imagePath)));
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

/** Puts the image in DIR (the torrent is written there by publish) and updates SHA256SUMS. */
export async function layOutImage(outDir: string, imagePath: string): Promise<Omit<MirrorLayout, 'torrent'>> {
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw new IsosyncError('IO', `Cannot create --out-dir ${JSON.stringify(outDir)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const name = basename(imagePath);
  const dest = join(outDir, name);
  let imageBy: MirrorLayout['imageBy'] = 'already there';
  const src = statSync(imagePath);
  const there = existsSync(dest) ? statSync(dest) : undefined;
  if (!there || there.ino !== src.ino || there.dev !== src.dev) {
    if (there) unlinkSync(dest);
    try {
      linkSync(imagePath, dest);
      imageBy = 'hard link';
    } catch {
      copyFileSync(imagePath, dest);
      imageBy = 'copy';
    }
  }
  const sha256 = await sha256File(dest);
  const sums = join(outDir, 'SHA256SUMS');
  const listsThis = (l: string) => /^[0-9a-fA-F]{64} [ *](.+)$/.exec(l)?.[1] === name;
  const kept = existsSync(sums) ? readFileSync(sums, 'utf8').split('\n').filter((l) => l.trim() !== '' && !listsThis(l)) : [];
  writeFileAtomic(sums, Buffer.from([...kept, `${sha256}  ${name}`].join('\n') + '\n'));
  return { image: dest, sums, imageBy, sha256 };
}
