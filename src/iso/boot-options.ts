/**
 * The boot options of `isosync remaster` turned into a boot setup
 * (boot-setup.ts): image paths checked against TREE, the catalog's path
 * chosen (the option, else the base's when TREE still has it, else hidden)
 * and added to the tree when TREE has no file there, the MBR code and
 * system area files read. I/O: reads the two files.
 */
import { readFile } from 'node:fs/promises';
import { IsosyncError, quote } from '../errors.js';
import { PLATFORM, type BootImageSpec, type BootSetup, MAX_BOOT_IMAGES, MBR_CODE_BYTES } from './boot-setup.js';
import { SECTOR_BYTES, SYSTEM_AREA_SECTORS } from './context.js';
import type { IsoImage } from './entry.js';
import type { SourceNode } from './master-model.js';

export interface BootOptions {
  /** `-b`: a BIOS no-emulation image, a path in TREE. */
  readonly bios?: string;
  /** `-boot-load-size`: 512-byte sectors the BIOS loads (default 4, as isolinux and GRUB want). */
  readonly biosLoadSectors?: number;
  /** `-boot-info-table` for the BIOS image. */
  readonly bootInfoTable?: boolean;
  /** `-e`: an EFI no-emulation image (a FAT file system), a path in TREE. */
  readonly efi?: string;
  /** `-c`: where the catalog shows in the tree. */
  readonly catalog?: string;
  /** `-isohybrid-mbr`: a file whose first 432 bytes are MBR boot code (isohdpfx.bin). */
  readonly isohybridMbr?: string;
  /** `-G`: a file holding the system area (up to 32 KiB), taken as it is. */
  readonly systemArea?: string;
}

export interface ResolvedBoot {
  readonly setup: BootSetup;
  /** The tree with the catalog's entry when TREE has no file at its path. */
  readonly nodes: SourceNode[];
}

const DEFAULT_LOAD_SECTORS = 4;
const S_IFREG = 0o100000;

/** '/a/b' for 'a/b', './a/b' or '/a/b'. */
function treePath(p: string): string {
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  return `/${parts.join('/')}`;
}

export function hasBootOptions(o: BootOptions | undefined): o is BootOptions {
  return o !== undefined && (o.bios ?? o.efi ?? o.catalog ?? o.isohybridMbr ?? o.systemArea ?? o.biosLoadSectors ?? (o.bootInfoTable || undefined)) !== undefined;
}

export async function resolveBoot(o: BootOptions, nodes: readonly SourceNode[], base: IsoImage, dateMs: number): Promise<ResolvedBoot> {
  const byPath = new Map(nodes.map((n) => [n.path, n]));
  const image = (option: string, p: string): string => {
    const path = treePath(p);
    const n = byPath.get(path);
    if (n?.type !== 'file' || n.size === 0) {
      throw new IsosyncError('BAD_ARGUMENT', `Invalid ${option} ${quote(p)}: the tree has no file with content at ${path}`, { option, path });
    }
    return path;
  };
  const images: BootImageSpec[] = [];
  if (o.bios !== undefined) {
    const load = o.biosLoadSectors ?? DEFAULT_LOAD_SECTORS;
    if (!Number.isInteger(load) || load < 1 || load > 0xffff) throw new IsosyncError('BAD_ARGUMENT', `Invalid --boot-load-size ${load}: give 1 to 65535 sectors of 512 bytes`);
    images.push({ path: image('-b', o.bios), platform: PLATFORM.bios, loadSectors: load, bootInfoTable: o.bootInfoTable === true });
  } else if (o.bootInfoTable || o.biosLoadSectors !== undefined) {
    throw new IsosyncError('BAD_ARGUMENT', `Invalid ${o.bootInfoTable ? '--boot-info-table' : '--boot-load-size'}: it applies to the BIOS image, given with -b`);
  }
  if (o.efi !== undefined) images.push({ path: image('-e', o.efi), platform: PLATFORM.efi, loadSectors: 'image', bootInfoTable: false });
  if (images.length > MAX_BOOT_IMAGES) throw new IsosyncError('BAD_ARGUMENT', `Cannot boot ${images.length} images: one catalog block holds ${MAX_BOOT_IMAGES}`);
  if (o.isohybridMbr !== undefined && o.bios === undefined) {
    throw new IsosyncError('BAD_ARGUMENT', 'Invalid --isohybrid-mbr: its boot code starts the BIOS image, given with -b');
  }
  if (o.isohybridMbr !== undefined && o.systemArea !== undefined) {
    throw new IsosyncError('BAD_ARGUMENT', 'Invalid --isohybrid-mbr with -G: both give the system area; use one');
  }
  if (o.catalog !== undefined && images.length === 0) throw new IsosyncError('BAD_ARGUMENT', 'Invalid -c: a boot catalog needs a boot image (-b or -e)');

  const out = nodes.slice();
  let catalogPath: string | undefined;
  if (images.length > 0) {
    if (o.catalog !== undefined) catalogPath = treePath(o.catalog);
    else if (base.boot) {
      // The base's catalog file, when TREE still has it (an extracted tree does).
      const old = base.entries.find((e) => e.type === 'file' && e.lba === base.boot!.catalogLba);
      if (old && byPath.get(old.path)?.type === 'file') catalogPath = old.path;
    }
    if (catalogPath !== undefined) {
      const n = byPath.get(catalogPath);
      if (n && n.type !== 'file') throw new IsosyncError('BAD_ARGUMENT', `Invalid -c ${quote(catalogPath)}: the tree has a ${n.type === 'dir' ? 'directory' : 'symlink'} there`, { path: catalogPath });
      if (images.some((i) => i.path === catalogPath)) throw new IsosyncError('BAD_ARGUMENT', `Invalid -c ${quote(catalogPath)}: it is a boot image`, { path: catalogPath });
      const parent = catalogPath.slice(0, catalogPath.lastIndexOf('/')) || '/';
      if (byPath.get(parent)?.type !== 'dir') throw new IsosyncError('BAD_ARGUMENT', `Invalid -c ${quote(catalogPath)}: the tree has no directory ${parent}`, { path: catalogPath });
      if (!n) out.push({ path: catalogPath, type: 'file', mode: S_IFREG | 0o444, uid: 0, gid: 0, mtimeMs: dateMs, size: SECTOR_BYTES });
    }
  }
  const read = async (option: string, file: string, min: number) => {
    let b: Buffer;
    try {
      b = await readFile(file);
    } catch (e) {
      throw new IsosyncError('BAD_ARGUMENT', `Cannot read ${option} ${quote(file)}: ${(e as Error).message}`, { path: file }, { cause: e });
    }
    if (b.length < min) throw new IsosyncError('BAD_ARGUMENT', `Invalid ${option} ${quote(file)}: ${b.length} bytes, fewer than ${min}`, { path: file });
    return new Uint8Array(b.subarray(0, SYSTEM_AREA_SECTORS * SECTOR_BYTES));
  };
  return {
    setup: {
      images, ...(catalogPath !== undefined ? { catalogPath } : {}),
      ...(o.isohybridMbr !== undefined ? { isohybridMbr: await read('--isohybrid-mbr', o.isohybridMbr, MBR_CODE_BYTES) } : {}),
      ...(o.systemArea !== undefined ? { systemArea: await read('-G', o.systemArea, 512) } : {}),
    },
    nodes: out,
  };
}
