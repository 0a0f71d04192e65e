/**
 * Choosing files inside nested images (a live image's squashfs or EROFS root
 * filesystem, its EFI FAT image) by the paths `ls --deep` prints:
 * "CONTAINER:PATH", e.g. "/live/filesystem.squashfs:/usr/bin/bash", one
 * ":" per level ("/boot/efi.img:/inner.img:/x"). Every part may be a glob
 * of iso/select.ts (`*`, `?`, `**`; anchored at the root of its level); a
 * container part names files, the last part entries (a directory brings
 * its subtree).
 *
 * Only the containers a pattern names are opened (layouts/nested.ts
 * openNested, through the caller's ByteSource: for a get, a subset session
 * that builds and verifies each piece a read touches), so what is read is
 * those containers' heads and metadata, never another nested image; and of
 * their trees only the paths the patterns may reach (`visitFor`: an EROFS
 * image's inodes lie all over it, so this decides what a get costs there).
 */
import { IsosyncError, quote } from '../errors.js';
import { mergeSpans, type Span } from '../core/span.js';
import { globToRegExp, selectEntries } from '../iso/select.js';
import { descendFor } from './descend.js';
import type { IsoImage } from '../iso/entry.js';
import { extentsOf } from '../layouts/deep-list.js';
import { isoLayout } from '../layouts/iso-layout.js';
import { DEFAULT_LIMITS, MetadataBudget, type FileTable, type LayoutFile } from '../layouts/layout.js';
import { DEFAULT_NEST, openNested, type NestedImage } from '../layouts/nested.js';
import type { ByteSource } from '../store/byte-source.js';

/** The separator `ls --deep` puts between a container's path and a path inside it. */
export const NESTED_SEPARATOR = ':/';

/** A pattern's parts, one per level, each with a leading '/': ["/live/fs.squashfs", "/usr/bin/*"]; one part when it names no nested file. */
export function nestedParts(pattern: string): string[] {
  const parts = pattern.split(NESTED_SEPARATOR);
  return parts.map((p, i) => (i === 0 ? (p.startsWith('/') ? p : `/${p}`) : `/${p}`));
}

/** Whether `pattern` names files inside a nested image. */
export function isNestedPattern(pattern: string): boolean {
  return pattern.includes(NESTED_SEPARATOR);
}

export interface NestedSelection {
  readonly image: NestedImage;
  /** The folder (relative to the output) its entries go to: its containers' paths joined ("live/filesystem.squashfs"). */
  readonly folder: string;
  /** Chosen entries of `image`, in path order (directories, symlinks and files). */
  readonly entries: readonly LayoutFile[];
}

export interface NestedChoice {
  /** Every nested image opened, outer levels first. */
  readonly images: readonly NestedImage[];
  readonly selections: readonly NestedSelection[];
}

/**
 * What to read of the image at the end of `chain` (its containers' paths):
 * the paths the next part of every pattern through that chain may reach
 * (descend.ts rules), so a reader skips the rest of its tree.
 */
export function visitFor(split: readonly (readonly string[])[], chain: readonly string[]): (path: string) => boolean {
  const d = chain.length;
  const next = split.filter((parts) => parts.length > d && chain.every((c, i) => globToRegExp(parts[i]!).test(c))).map((parts) => parts[d]!);
  // No pattern reaches inside (cannot happen for an image a pattern opened): read all of it.
  return next.length > 0 ? descendFor(next) : () => true;
}

/** Files of a level whose path a container part matches. */
function containersIn(files: FileTable, part: string): LayoutFile[] {
  const re = globToRegExp(part);
  return files.filter((f) => f.type === 'file' && re.test(f.path));
}

/**
 * Opens the containers `patterns` name in `iso` (read through `src`) and
 * selects the entries their last parts match. A part that matches nothing,
 * or a container that is no squashfs, EROFS or FAT image, is an IsosyncError
 * naming it ('NOT_FOUND', 'UNSUPPORTED'); an image that does not read is its
 * reader's error.
 */
export async function chooseNested(src: ByteSource, iso: IsoImage, patterns: readonly string[]): Promise<NestedChoice> {
  const outer = isoLayout(iso, src);
  const budget = new MetadataBudget(DEFAULT_NEST.metadataBytes);
  const opened = new Map<string, NestedImage>();
  const folders = new Map<NestedImage, string>();
  /** Each opened image's container paths, one per level ("/live/fs.squashfs"). */
  const chains = new Map<NestedImage, string[]>();
  /** Paths chosen in each image. */
  const chosen = new Map<NestedImage, Set<string>>();
  const split = patterns.map(nestedParts);
  const open = async (file: LayoutFile, parent: NestedImage | undefined): Promise<NestedImage> => {
    const path = parent ? `${parent.path}:${file.path}` : file.path;
    const known = opened.get(path);
    if (known) return known;
    if ((parent?.depth ?? 0) >= DEFAULT_NEST.maxDepth) throw new IsosyncError('UNSUPPORTED', `Cannot open ${quote(path)}: nested images go at most ${DEFAULT_NEST.maxDepth} levels deep`, { path });
    const chain = [...(parent ? chains.get(parent)! : []), file.path];
    const img = await openNested(src, file, parent, path, DEFAULT_LIMITS, budget, visitFor(split, chain));
    if (!img) throw new IsosyncError('UNSUPPORTED', `Cannot open ${quote(path)} of ${quote(iso.name)}: it is no squashfs, EROFS or FAT image`, { path });
    opened.set(path, img);
    chains.set(img, chain);
    folders.set(img, `${parent ? folders.get(parent)! : ''}${file.path}`.replace(/^\/+/, ''));
    return img;
  };
  for (const [k, pattern] of patterns.entries()) {
    const parts = split[k]!;
    let level: { files: FileTable; image: NestedImage | undefined }[] = [{ files: outer.files, image: undefined }];
    for (const part of parts.slice(0, -1)) {
      const next: typeof level = [];
      for (const l of level) {
        for (const f of containersIn(l.files, part)) {
          const img = await open(f, l.image);
          next.push({ files: img.layout.files, image: img });
        }
      }
      if (next.length === 0) throw new IsosyncError('NOT_FOUND', `Cannot select ${quote(pattern)} in ${quote(iso.name)}: no file matches ${quote(part)}`, { pattern });
      level = next;
    }
    const last = parts[parts.length - 1]!;
    let hit = false;
    for (const l of level) {
      let picked: LayoutFile[];
      try {
        picked = selectEntries([...l.files], [last], l.image!.path);
      } catch (e) {
        if (e instanceof IsosyncError && e.code === 'NOT_FOUND') continue;
        throw e;
      }
      hit = true;
      const set = chosen.get(l.image!) ?? new Set<string>();
      for (const f of picked) set.add(f.path);
      chosen.set(l.image!, set);
    }
    if (!hit) throw new IsosyncError('NOT_FOUND', `Cannot select ${quote(pattern)} in ${quote(iso.name)}: no entry matches ${quote(last)}`, { pattern });
  }
  const selections = [...chosen].map(([image, set]) => ({ image, folder: folders.get(image)!, entries: image.layout.files.filter((f) => set.has(f.path)) }));
  return { images: [...opened.values()], selections };
}

/** Outer-image spans of the stored bytes of the chosen files (compressed blocks and the shared blocks holding their tails). */
export function nestedSpans(selections: readonly NestedSelection[]): Span[] {
  const out: Span[] = [];
  for (const s of selections) for (const f of s.entries) if (f.type === 'file') for (const x of extentsOf(f.chunks, f.tail?.block ?? -1, s.image)) out.push(x);
  return mergeSpans(out);
}

/** Spans of each chosen file, merged per file: how many runs of stored bytes each touches (for the fetch bound). */
export function nestedRuns(selections: readonly NestedSelection[]): number {
  let n = 0;
  for (const s of selections) for (const f of s.entries) if (f.type === 'file') n += mergeSpans(extentsOf(f.chunks, f.tail?.block ?? -1, s.image)).length;
  return n;
}
