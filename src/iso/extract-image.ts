/**
 * extractImage: the whole tree of a local image extracted without holding
 * its entries (`isosync extract IMAGE -o DIR`, no selection). The tree is
 * walked in path order twice (listIso, the walk `ls` streams): first to
 * check every name and that no entry lies below a symlink of the image, so
 * that a refused image writes nothing, as extractEntries refuses it; then
 * to write each entry as it comes (checked again: the image could change in
 * between). Memory: the walk's few directories and the written directories'
 * paths, modes and mtimes, not an object per file (an image of 50,000 files
 * held ~50 MiB of entries for extractEntries).
 *
 * The checks are those of extractEntries, in the same order: in path order,
 * an entry comes after its ancestors and a symlink before the entries its
 * path could be an ancestor of, so checking each entry's own name and its
 * ancestors against the symlinks seen so far finds what safeComponents and
 * the symlink check find, and the first name error wins over a symlink
 * error anywhere. The path tables are not read (they list the directories
 * again; ls does not read them either).
 */
import type { ByteSource } from '../store/byte-source.js';
import { checkName, checkNoLinkParent, EntryWriter, prepareOutDir, type ExtractOptions, type ExtractSummary } from './extract.js';
import type { IsoEntry } from './entry.js';
import { listIso } from './list-iso.js';
import { WindowSource } from './read-window.js';

/** Checks `e` (its own name, its ancestors against `links`) and adds it to `links` when it is a symlink. */
class Checker {
  private readonly links = new Set<string>();
  /** The first entry below a symlink, reported once every name passed. */
  linkError: unknown;

  constructor(private readonly image: string) {}

  check(e: IsoEntry): void {
    if (e.path !== '/') checkName(e.name, e.path, this.image);
    if (this.links.size > 0 && this.linkError === undefined) {
      try {
        checkNoLinkParent(e.path, this.links, this.image);
      } catch (err) {
        this.linkError = err;
      }
    }
    if (e.type === 'symlink') this.links.add(e.path);
  }
}

export async function extractImage(src: ByteSource, image: string, outDir: string, opts: ExtractOptions = {}): Promise<ExtractSummary> {
  const first = new Checker(image);
  let blockSize = 0;
  await listIso(new WindowSource(src), image, (img) => {
    blockSize = img.logicalBlockSize;
    return undefined;
  }, (e) => {
    first.check(e);
    return undefined;
  }, { times: false });
  if (first.linkError !== undefined) throw first.linkError;

  await prepareOutDir(outDir);
  const writer = new EntryWriter(src, image, blockSize, outDir, opts);
  const again = new Checker(image);
  await listIso(new WindowSource(src), image, () => undefined, (e) => {
    again.check(e);
    if (again.linkError !== undefined) throw again.linkError;
    return writer.put(e);
  });
  return writer.finish();
}
