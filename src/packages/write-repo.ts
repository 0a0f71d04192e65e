/**
 * Writes a flat apt repository (see flat-repo.ts) to disk: the chosen .debs
 * copied out of the image, `Packages`, `Packages.gz`, a `Release` with their
 * checksums, and `isosync.list` (the `deb [trusted=yes] file:DIR ./` line).
 *
 * The directory is either new, empty, or one this module wrote before (it
 * holds the `.isosync-repo` marker): then its old contents are replaced.
 * Anything else is refused. Files are written under temporary names and
 * renamed, so an interrupted run leaves no half-written package under its
 * final name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { IsosyncError, quote } from '../errors.js';
import { readEntryChunks, type IsoImage } from '../iso/index.js';
import type { ByteSource } from '../store/byte-source.js';
import { packagesStanza, type RepoPackage } from './flat-repo.js';

export const REPO_MARKER = '.isosync-repo';
export const SOURCES_FILE = 'isosync.list';

export interface WrittenRepo {
  readonly dir: string;
  readonly sourcesList: string;
  readonly packages: readonly RepoPackage[];
  readonly debPaths: readonly string[];
}

async function prepareDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const names = await readdir(dir);
  if (names.length === 0) return;
  if (!names.includes(REPO_MARKER)) {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot build the repository in ${quote(dir)}: the directory is not empty and was not made by isosync`, { path: dir });
  }
  for (const n of names) await rm(join(dir, n), { recursive: true, force: true });
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, data, { flag: 'wx' });
  await rename(tmp, path);
}

export async function writeFlatRepo(dirIn: string, src: ByteSource, image: IsoImage, pkgs: readonly RepoPackage[]): Promise<WrittenRepo> {
  const dir = resolve(dirIn);
  const byPath = new Map(image.entries.map((e) => [e.path, e]));
  // Every file must exist before anything is written.
  for (const p of pkgs) {
    const e = byPath.get(p.imagePath);
    if (!e || e.type !== 'file') throw new IsosyncError('NOT_FOUND', `Cannot build the repository: ${quote(p.imagePath)} is not a file of ${quote(image.name)}`, { path: p.imagePath });
  }
  await prepareDir(dir);
  await writeFile(join(dir, REPO_MARKER), 'Made by isosync apply; replaced on the next run.\n');
  const stanzas: string[] = [];
  const debPaths: string[] = [];
  for (const p of pkgs) {
    const entry = byPath.get(p.imagePath)!;
    const final = join(dir, p.repoName);
    const tmp = `${final}.tmp-${randomBytes(4).toString('hex')}`;
    const md5 = createHash('md5');
    const sha256 = createHash('sha256');
    let size = 0;
    const fh = await open(tmp, 'wx');
    try {
      for await (const chunk of readEntryChunks(src, entry, undefined, image.logicalBlockSize)) {
        md5.update(chunk);
        sha256.update(chunk);
        size += chunk.length;
        await fh.write(chunk);
      }
    } catch (e) {
      await fh.close();
      await rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    await rename(tmp, final);
    debPaths.push(final);
    stanzas.push(packagesStanza(p, { size, md5: md5.digest('hex'), sha256: sha256.digest('hex') }));
  }
  const packagesText = stanzas.join('\n');
  const packagesGz = gzipSync(packagesText, { level: 9 });
  await writeAtomic(join(dir, 'Packages'), packagesText);
  await writeAtomic(join(dir, 'Packages.gz'), packagesGz);
  const sum = (alg: string, d: Uint8Array | string): string => createHash(alg).update(d).digest('hex');
  const len = (d: Uint8Array | string): number => (typeof d === 'string' ? Buffer.byteLength(d) : d.length);
  const release = [
    // apt warns about a Release without a valid Date (RFC 2822, UTC).
    'Origin: isosync', 'Label: isosync', `Date: ${new Date().toUTCString().replace(/GMT$/, 'UTC')}`,
    `Description: packages changed by ${image.name}`,
    'MD5Sum:', ...[['Packages', packagesText], ['Packages.gz', packagesGz]].map(([n, d]) => ` ${sum('md5', d!)} ${len(d!)} ${n}`),
    'SHA256:', ...[['Packages', packagesText], ['Packages.gz', packagesGz]].map(([n, d]) => ` ${sum('sha256', d!)} ${len(d!)} ${n}`),
  ].join('\n');
  await writeAtomic(join(dir, 'Release'), `${release}\n`);
  const sourcesList = join(dir, SOURCES_FILE);
  await writeAtomic(sourcesList, `deb [trusted=yes] file:${encodeURI(dir)} ./\n`);
  return { dir, sourcesList, packages: pkgs, debPaths };
}
