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
 *
 * That ordered check runs only where a quicker one finds something: the
 * first pass reads the directories unordered (scanIso: no sort, no entry
 * handed out one by one) and checks each one's names as a whole. An entry
 * lies below a symlink of the image only where one directory holds a
 * symlink and a subdirectory of the same name (a plain name holds no "/"),
 * so a tree with only plain names and no such pair passes the ordered check
 * too; anything else (or a read that fails) goes through the ordered check,
 * which reports what extractEntries would.
 */
import type { ByteSource } from '../store/byte-source.js';
import { checkName, checkNoLinkParent, EntryWriter, isPlainName, prepareOutDir, type ExtractOptions, type ExtractSummary } from './extract.js';
import { T_LINK, type LeanDir } from './lean-dir.js';
import { LeanEntry } from './lean-entry.js';
import { listLean, scanIso } from './list-iso.js';
import { WindowSource } from './read-window.js';

/** Checks `e` (its own name, its ancestors against `links`) and adds it to `links` when it is a symlink. */
class Checker {
  private readonly links = new Set<string>();
  /** The first entry below a symlink, reported once every name passed. */
  linkError: unknown;

  constructor(private readonly image: string) {}

  check(e: LeanEntry): void {
    // The path is joined only where it is needed: a name to refuse, symlinks to check against.
    if (e.parent !== undefined && !isPlainName(e.name)) checkName(e.name, e.path, this.image);
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

/** Whether `d`'s entries have plain names and no symlink shares its name with a subdirectory (see the top). */
function plainDir(d: LeanDir): boolean {
  let links: Set<string> | undefined;
  const { names, types } = d;
  for (let i = 0; i < names.length; i++) {
    if (!isPlainName(names[i]!)) return false;
    if (types[i] === T_LINK) (links ??= new Set()).add(names[i]!);
  }
  for (const s of d.subdirs) if (!isPlainName(s.name) || links?.has(s.name)) return false;
  return true;
}

/**
 * The entries of a lean walk (lean-sorted.ts) handed to `each` as one
 * reused IsoEntry (lean-entry.ts): no entry object per file.
 */
function entries(each: (e: LeanEntry) => Promise<void> | undefined) {
  const e = new LeanEntry();
  return {
    dir: (d: LeanDir, parent: string | undefined) => each(e.setDir(d, parent)),
    file: (d: LeanDir, i: number) => each(e.setFile(d, i)),
  };
}

/** The first pass: the quick check, else the ordered one (which throws what it finds); the logical block size. */
async function checkImage(src: ByteSource, image: string): Promise<number> {
  let plain = true;
  try {
    const img = await scanIso(new WindowSource(src), image, (d) => {
      if (plain && !plainDir(d)) plain = false;
    });
    if (plain) return img.logicalBlockSize;
  } catch {
    // reported by the ordered check, which reads the same directories in its order
  }
  const first = new Checker(image);
  let blockSize = 0;
  await listLean(new WindowSource(src), image, (img) => {
    blockSize = img.logicalBlockSize;
    return undefined;
  }, entries((e) => {
    first.check(e);
    return undefined;
  }), { times: false });
  if (first.linkError !== undefined) throw first.linkError;
  return blockSize;
}

export async function extractImage(src: ByteSource, image: string, outDir: string, opts: ExtractOptions = {}): Promise<ExtractSummary> {
  const blockSize = await checkImage(src, image);
  await prepareOutDir(outDir);
  const writer = new EntryWriter(src, image, blockSize, outDir, opts);
  const again = new Checker(image);
  await listLean(new WindowSource(src), image, () => undefined, entries((e) => {
    again.check(e);
    if (again.linkError !== undefined) throw again.linkError;
    return writer.put(e, undefined, e.parent);
  }));
  return writer.finish();
}
