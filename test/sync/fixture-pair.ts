/**
 * The release pair the sync tests work on: copies of the committed fixtures
 * in a temp dir (so a test can prove a source is never modified), published
 * with isosync into a publisher catalog, and served by a real HTTP server.
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { cli, fixture, tempDir } from '../helpers/env.js';

export const RELEASES = fixture('releases');
export const HAVE_RELEASES = existsSync(join(RELEASES, 'distro-1.00.iso')) && existsSync(join(RELEASES, 'distro-1.01.iso'));

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface Published {
  dir: string;
  home: string;
  cleanup: () => void;
  image: (name: string) => string;
  torrent: (name: string) => string;
}

/**
 * Copies the named fixture images and publishes them in order, each with the
 * previous one as --previous (so each carries hints against it).
 */
export function publishChain(names: string[], opts: { webSeed?: (name: string) => string; product?: string } = {}): Published {
  const t = tempDir('isosync-sync-');
  const home = join(t.dir, 'publisher-home');
  let previous: string | undefined;
  for (const name of names) {
    const img = join(t.dir, `${name}.iso`);
    copyFileSync(join(RELEASES, `${name}.iso`), img);
    const release = /(\d+\.\d+)/.exec(name)?.[1] ?? name;
    const args = ['publish', img, '--product', opts.product ?? 'distro', '--release', release, '--home', home, '-o', join(t.dir, `${name}.torrent`)];
    if (previous) args.push('--previous', previous);
    if (opts.webSeed) args.push('--web-seed', opts.webSeed(name));
    const r = cli(args);
    if (r.status !== 0) throw new Error(`publish ${name} failed: ${r.stderr}`);
    previous = img;
  }
  return { dir: t.dir, home, cleanup: t.cleanup, image: (n) => join(t.dir, `${n}.iso`), torrent: (n) => join(t.dir, `${n}.torrent`) };
}
