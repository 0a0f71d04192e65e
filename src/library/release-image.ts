/**
 * What publish checks before it hashes anything: the image reads as ISO 9660
 * with isosync's own reader (volume descriptors, every directory of both
 * trees, path tables, boot catalog; the reader also refuses a volume larger
 * than the file and a file extent past its end). A truncated ISO, random
 * bytes or a text file is refused with exit 2 and nothing recorded: a release
 * torrent of such a file would later be offered to every sync as a source.
 *
 * It runs readIso's steps (iso/read-iso.ts) with what a check needs and no
 * more: every record of every directory is read and checked, as readIso
 * does, but no entry is made and no date decoded (TreeOptions entries and
 * times), and the directory chunks are views of the read window (as `ls`
 * reads them). On the 348 MiB DVD image of 7,633 entries that took the check
 * from ~0.12 to ~0.065 CPU s and kept the entries out of publish's peak
 * memory; test/library/release-image.test.ts holds it to readIso's verdict
 * and message on every ISO fixture.
 *
 * The metadata is read through a WindowSource (1 MiB reads, as `ls` does):
 * read directly, each directory sector cost an asynchronous read of its own,
 * ~3,300 of them on a 7,600-file image, 0.6-0.65 CPU s against 0.36-0.44.
 */
import { IsosyncError } from '../errors.js';
import type { IsoContext } from '../iso/context.js';
import type { VolumeInfo } from '../iso/descriptors.js';
import { readBootCatalog } from '../iso/eltorito.js';
import { checkPathTablesAgree, readPathTable } from '../iso/path-tables.js';
import { chooseTree } from '../iso/read-iso.js';
import { WindowSource } from '../iso/read-window.js';
import { walkTree } from '../iso/tree.js';
import { FileSource } from '../store/file-source.js';

/** The reason of a reader error, without its "Cannot read ISO "x": " lead. */
function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/^Cannot read ISO "(?:[^"\\]|\\.)*": /, '');
}

/** Reads `path` as an ISO image; throws BAD_ISO ("Cannot publish "x": ...") when it is not a whole one. */
export async function checkReleaseImage(path: string, shownAs: string = path): Promise<void> {
  const src = await FileSource.open(path);
  try {
    await checkIso(new WindowSource(src), shownAs);
  } catch (e) {
    if (e instanceof IsosyncError && e.code !== 'BAD_ISO') throw e;
    throw new IsosyncError('BAD_ISO', `Cannot publish ${JSON.stringify(shownAs)}: not a whole ISO 9660 image: ${reason(e)}`, { path }, { cause: e });
  } finally {
    await src.close();
  }
}

/** readIso's checks in readIso's order (descriptors, the listed tree, the other tree, path tables, boot catalog), keeping nothing. */
async function checkIso(src: WindowSource, name: string): Promise<void> {
  const { ctx, set, pvd, bs, root, jolietRoot, names, suspSkip } = await chooseTree(src, name);
  const walk = { blockSize: bs, entries: false, times: false, transient: src } as const;
  await walkTree(ctx, names === 'joliet' ? jolietRoot! : root, { ...walk, names, suspSkip });
  if (names !== 'joliet' && jolietRoot) await walkTree(ctx, jolietRoot, { ...walk, names: 'joliet', suspSkip: 0 });
  else if (names === 'joliet') await walkTree(ctx, root, { ...walk, names: 'iso9660', suspSkip: 0 });
  await checkPathTables(ctx, 'primary', pvd);
  if (set.joliet) await checkPathTables(ctx, 'joliet', set.joliet);
  if (set.bootCatalogLba !== undefined) await readBootCatalog(ctx, set.bootCatalogLba, bs);
}

/** One volume's path tables, read and compared as readIso reads them. */
async function checkPathTables(ctx: IsoContext, volume: 'primary' | 'joliet', vd: VolumeInfo): Promise<void> {
  const { l, lOptional, m, mOptional } = vd.pathTables;
  const size = vd.pathTableSize;
  if (size === 0) return;
  const bs = vd.logicalBlockSize;
  const lt = await readPathTable(ctx, volume, 'L', l, size, bs);
  if (lOptional !== 0) await readPathTable(ctx, volume, 'L-optional', lOptional, size, bs);
  const mt = await readPathTable(ctx, volume, 'M', m, size, bs);
  if (mOptional !== 0) await readPathTable(ctx, volume, 'M-optional', mOptional, size, bs);
  checkPathTablesAgree(ctx, lt, mt);
}
