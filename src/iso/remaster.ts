/**
 * `isosync remaster BASE TREE -o OUT`: the coordinator. Reads the base image
 * (the reader), scans TREE, finds which files hold the same bytes as the
 * base's file at the same path, builds the model, plans the layout and
 * writes OUT through OUT.part. BASE is opened read-only; an existing OUT is
 * refused unless `force`.
 *
 * Which files are unchanged: rsync's quick check by default. A tree file
 * whose size and modification time (whole seconds, as Rock Ridge TF records
 * it) equal the base entry's is taken as unchanged without reading it; any
 * other file of the same size is compared byte for byte, a few at a time.
 * `verifyContent` compares every file of the same size. (The inode is no
 * help here: the image records the writer's serial numbers, not TREE's.)
 */
import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { IsosyncError, quote } from '../errors.js';
import { FileSource } from '../store/file-source.js';
import { readEntryChunks } from './content.js';
import { SECTOR_BYTES, SYSTEM_AREA_SECTORS } from './context.js';
import { hasBootInfoTable } from './eltorito-write.js';
import type { IsoEntry, IsoImage } from './entry.js';
import { IsoContext } from './context.js';
import { PVD } from './descriptors.js';
import { DIR_RECORD, MIN_RECORD_BYTES, parseRecord } from './records.js';
import { latin1Text } from './fields.js';
import { walkTree } from './tree.js';
import { buildModel, type SourceNode } from './master-model.js';
import { planRemaster, type RemasterStats } from './master-plan.js';
import { readIso } from './read-iso.js';
import { scanTree } from './scan-tree.js';
import { writeImage } from './write-image.js';
import { crc32, moveHybrid } from './hybrid.js';
import { open } from 'node:fs/promises';
import { defaultPieceLength } from '../torrent/piece-length.js';
import { choosePieceLength, stockFetchBytes } from './piece-cost.js';
import { hasBootOptions, resolveBoot, type BootOptions } from './boot-options.js';
import { isohybridSystemArea, PLATFORM, systemAreaFrom, type BootSetup } from './boot-setup.js';
import type { RemasterPlan } from './master-plan.js';

export interface RemasterOptions {
  /** New volume identifier (default: the base's). */
  readonly volumeId?: string;
  /** Largest dead fraction of the image (default 0.05). */
  readonly maxWaste?: number;
  /** Volume dates, in ms since the epoch (SOURCE_DATE_EPOCH). */
  readonly dateMs: number;
  /** Replace an existing OUT. */
  readonly force?: boolean;
  /**
   * Piece length the image will be published with (default: publish's default for the base's size); fresh content is packed by piece.
   * 'auto': the largest, from that default down, at which a stock client's fetch stays near the changed bytes (piece-cost.ts).
   */
  readonly pieceBytes?: number | 'auto';
  /** Compare every same-size file byte for byte, even when its mtime equals the base's. */
  readonly verifyContent?: boolean;
  /** A boot setup instead of the base's (El Torito images, catalog path, system area). */
  readonly boot?: BootOptions;
}

export interface RemasterReport extends RemasterStats {
  readonly base: string;
  readonly tree: string;
  readonly output: string;
  /** `compared`: files read and compared byte for byte; `quick`: taken as unchanged on size and mtime. */
  readonly files: { readonly kept: number; readonly fresh: number; readonly compared: number; readonly quick: number };
  /** The piece length fresh content was packed for: publish the image with it. */
  readonly pieceBytes: number;
  /** At most what a stock BitTorrent client downloading into a copy of BASE fetches at that piece length. */
  readonly stockFetchBytes: number;
}

/** ECMA-119 §8.4.6: the volume identifier is 32 d-characters; isosync accepts printable ASCII as xorriso does. */
const VOLUME_ID = /^[\x20-\x7e]{1,32}$/;
const COMPARE_CHUNK = 1024 * 1024;
/** Files compared at once (reads overlap; the page cache or the disk queue does the rest). */
const COMPARE_PARALLEL = 4;
const MAX_BOOT_IMAGE_BYTES = 64 * 1024 * 1024;
/** Bytes after the ISO volume (appended partitions, a backup GPT) carried along in memory. */
const MAX_TAIL_BYTES = 256 * 1024 * 1024;

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Whether the tree file holds exactly the bytes of the base entry (`buf` is scratch space, reused). */
async function sameContent(base: FileSource, entry: IsoEntry, file: string, buf: Buffer): Promise<boolean> {
  const h = await open(file, 'r');
  try {
    let at = 0;
    for await (const chunk of readEntryChunks(base, entry, buf.length)) {
      let got = 0;
      while (got < chunk.length) {
        const { bytesRead } = await h.read(buf, got, chunk.length - got, at + got);
        if (bytesRead === 0) return false;
        got += bytesRead;
      }
      if (Buffer.compare(buf.subarray(0, got), chunk) !== 0) return false;
      at += got;
    }
    return true;
  } finally {
    await h.close();
  }
}

/** The ISO 9660 identifier of every base entry of the ISO tree (read from its directory record). */
async function isoIds(base: FileSource, img: IsoImage): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (img.tree === 'joliet') return out;
  // Records never cross a logical block (ECMA-119 §6.8.1.1): read each directory block once.
  const blocks = new Map<number, Uint8Array>();
  for (const e of img.entries) {
    if (e.path === '/') continue;
    const at = Math.floor(e.recordOffset / SECTOR_BYTES) * SECTOR_BYTES;
    let block = blocks.get(at);
    if (!block) {
      block = await base.read(at, Math.min(SECTOR_BYTES, base.size - at));
      blocks.set(at, block);
    }
    const head = block.subarray(e.recordOffset - at);
    const len = head[DIR_RECORD.identifierLength.at] ?? 0;
    out.set(e.path, latin1Text(head.subarray(DIR_RECORD.identifier.at, DIR_RECORD.identifier.at + len)));
  }
  return out;
}

/** The base's Joliet tree as the reader lists it (its directories may be reused as they are). */
async function jolietEntries(base: FileSource, img: IsoImage, name: string): Promise<IsoEntry[] | undefined> {
  const jd = img.descriptors.find((d) => d.type === 'joliet');
  if (!jd || jd.type !== 'joliet') return undefined;
  if (img.tree === 'joliet') return img.entries.slice();
  const ctx = new IsoContext(base, name);
  const root = parseRecord(ctx, jd.rootRecord, 0, jd.sector * SECTOR_BYTES + PVD.rootDirectoryRecord.at, MIN_RECORD_BYTES, 'root directory record');
  return (await walkTree(ctx, root, { names: 'joliet', blockSize: img.logicalBlockSize, suspSkip: 0 })).entries;
}

/** The system area a boot setup gives: an isohybrid MBR over the new image, or the given bytes. */
function systemArea(setup: BootSetup, plan: RemasterPlan, baseSystem: Uint8Array, volume: string, dateMs: number): Uint8Array {
  if (setup.systemArea) return systemAreaFrom(setup.systemArea);
  const bios = plan.boot!.images.find((i) => i.platform === PLATFORM.bios)!;
  // The disk id stays the base's when it had an MBR; else one derived from the volume and its date (deterministic).
  const view = new DataView(baseSystem.buffer, baseSystem.byteOffset, baseSystem.length);
  const hadMbr = baseSystem[510] === 0x55 && baseSystem[511] === 0xaa && view.getUint32(440, true) !== 0;
  const diskId = hadMbr ? view.getUint32(440, true) : crc32(new TextEncoder().encode(`${volume}:${dateMs}`));
  return isohybridSystemArea(setup.isohybridMbr!, bios.lba, plan.imageBytes, diskId);
}

/**
 * An isohybrid base's MBR names its BIOS image's place (in 512-byte sectors
 * at byte 432): when that image moves (a new boot setup placed it, or the
 * tree's loader changed and took new blocks), the pointer follows it.
 */
function followBiosImage(system: Uint8Array, base: IsoImage, plan: Pick<RemasterPlan, 'boot' | 'movedBootImages'>): Uint8Array {
  const entries = base.boot?.entries ?? [];
  const index = entries.findIndex((e) => e.platform === PLATFORM.bios);
  const old = entries[index];
  const now = plan.boot ? plan.boot.images.find((i) => i.platform === PLATFORM.bios)?.lba : plan.movedBootImages.get(index);
  if (!old || now === undefined || old.lba === now || system[510] !== 0x55 || system[511] !== 0xaa) return system;
  const view = new DataView(system.buffer, system.byteOffset, system.length);
  if (view.getUint32(432, true) !== old.lba * 4 || view.getUint32(436, true) !== 0) return system;
  const out = system.slice();
  new DataView(out.buffer).setUint32(432, now * 4, true);
  return out;
}

export async function remaster(basePath: string, treePath: string, outPath: string, opts: RemasterOptions): Promise<RemasterReport> {
  const maxWaste = opts.maxWaste ?? 0.05;
  if (!(maxWaste >= 0 && maxWaste < 1)) throw new IsosyncError('BAD_ARGUMENT', `Invalid --max-waste ${maxWaste * 100}: must be at least 0 and below 100`);
  if (opts.volumeId !== undefined && !VOLUME_ID.test(opts.volumeId)) {
    throw new IsosyncError('BAD_ARGUMENT', `Invalid volume id ${quote(opts.volumeId)}: use 1 to 32 printable ASCII characters`, { volumeId: opts.volumeId });
  }
  if (await exists(outPath)) {
    if (!opts.force) throw new IsosyncError('CONFLICT', `Cannot write ${quote(outPath)}: it exists (use --force to replace it)`, { path: outPath });
    if (await exists(basePath) && (await realpath(outPath)) === (await realpath(basePath))) {
      throw new IsosyncError('BAD_ARGUMENT', `Cannot write ${quote(outPath)}: it is the base image, which is never modified`, { path: outPath });
    }
  }
  const treeAbs = await realpath(treePath).catch(() => resolve(treePath));
  const outAbs = resolve(outPath);
  if (outAbs.startsWith(`${treeAbs}/`)) {
    throw new IsosyncError('BAD_ARGUMENT', `Cannot write ${quote(outPath)}: it is inside the tree ${quote(treePath)}, which would then contain it`, { path: outPath });
  }

  const base = await FileSource.open(basePath);
  try {
    const img = await readIso(base, { name: basePath });
    const scanned: SourceNode[] = await scanTree(treePath);
    const boot = hasBootOptions(opts.boot) ? await resolveBoot(opts.boot, scanned, img, opts.dateMs) : undefined;
    const nodes = boot?.nodes ?? scanned;
    const newImages = boot && boot.setup.images.length > 0 ? boot.setup.images : undefined;
    const byPath = new Map<string, IsoEntry>();
    for (const e of img.entries) byPath.set(e.path, e);
    const same = new Set<string>();
    const toCompare: { n: SourceNode; e: IsoEntry }[] = [];
    const quick = new Set<string>();
    for (const n of nodes) {
      if (n.type !== 'file') continue;
      const e = byPath.get(n.path);
      if (e?.type !== 'file' || e.size !== n.size || n.path === boot?.setup.catalogPath) continue;
      if (n.size === 0) same.add(n.path);
      else if (!opts.verifyContent && img.hasRockRidge && e.mtimeMs !== undefined && Math.floor(e.mtimeMs / 1000) === Math.floor(n.mtimeMs / 1000)) {
        same.add(n.path);
        quick.add(n.path);
      } else toCompare.push({ n, e });
    }
    let next = 0;
    const worker = async () => {
      const scratch = Buffer.allocUnsafe(COMPARE_CHUNK);
      while (next < toCompare.length) {
        const { n, e } = toCompare[next++]!;
        if (await sameContent(base, e, resolve(treePath, `.${n.path}`), scratch)) same.add(n.path);
      }
    };
    await Promise.all(Array.from({ length: Math.min(COMPARE_PARALLEL, toCompare.length) }, worker));
    // A BIOS image to carry a boot information table stays only if the base's copy has a good one in place.
    for (const spec of newImages ?? []) {
      const e = byPath.get(spec.path);
      if (!spec.bootInfoTable || !same.has(spec.path) || e?.type !== 'file' || e.size > MAX_BOOT_IMAGE_BYTES) continue;
      if (e.extents.length !== 1 || !hasBootInfoTable(await base.read(e.lba * SECTOR_BYTES, e.size), e.lba)) {
        same.delete(spec.path);
        quick.delete(spec.path);
      }
    }
    const terminator = img.descriptors.find((d) => d.type === 'terminator')!;
    const descriptorSet = await base.read(SYSTEM_AREA_SECTORS * SECTOR_BYTES, (terminator.sector + 1 - SYSTEM_AREA_SECTORS) * SECTOR_BYTES);
    const bootInfoTables = new Set<number>();
    let catalog: Uint8Array | undefined;
    if (img.boot) {
      catalog = await base.read(img.boot.catalogLba * SECTOR_BYTES, SECTOR_BYTES);
      for (const [i, b] of img.boot.entries.entries()) {
        const file = img.entries.find((e) => e.type === 'file' && e.lba === b.lba);
        if (!file || file.size > MAX_BOOT_IMAGE_BYTES || file.size < 64) continue;
        if (hasBootInfoTable(await base.read(b.lba * SECTOR_BYTES, file.size), b.lba)) bootInfoTables.add(i);
      }
    }
    const bootPaths = new Map<string, number[]>();
    newImages?.forEach((spec, i) => bootPaths.set(spec.path, [...(bootPaths.get(spec.path) ?? []), i]));
    const model = buildModel({
      nodes, base: img, same, joliet: img.hasJoliet, baseIsoIds: await isoIds(base, img),
      ...(newImages ? { boot: { images: bootPaths, ...(boot!.setup.catalogPath !== undefined ? { catalogPath: boot!.setup.catalogPath } : {}) } } : {}),
    });
    const baseJoliet = await jolietEntries(base, img, basePath);
    const planFor = (pieceBytes: number) => planRemaster({
      base: img, descriptorSet, ...(catalog ? { catalog } : {}), bootInfoTables, model, maxWaste, dateMs: opts.dateMs,
      pieceBlocks: Math.max(1, Math.floor(pieceBytes / SECTOR_BYTES)),
      ...(baseJoliet ? { baseJoliet } : {}),
      ...(opts.volumeId !== undefined ? { volumeId: opts.volumeId } : {}),
      ...(newImages ? { newBoot: newImages } : {}),
    });
    const costOf = (p: RemasterPlan, pieceBytes: number) =>
      ({ fetchBytes: stockFetchBytes(p.segments, base.size, p.imageBytes, pieceBytes), changedBytes: p.stats.newBytes + p.stats.metadataBytes });
    const { plan, pieceBytes } = opts.pieceBytes === 'auto'
      ? choosePieceLength(defaultPieceLength(base.size), planFor, costOf)
      : { plan: planFor(opts.pieceBytes ?? defaultPieceLength(base.size)), pieceBytes: opts.pieceBytes ?? defaultPieceLength(base.size) };
    // A hybrid image's partition tables and whatever follows the volume move with its end.
    const oldEnd = img.volumeSpaceSize * img.logicalBlockSize;
    const tailBytes = base.size - oldEnd;
    if (tailBytes > MAX_TAIL_BYTES) {
      throw new IsosyncError('UNSUPPORTED', `Cannot remaster ${quote(basePath)}: ${tailBytes} bytes follow its ISO volume, more than ${MAX_TAIL_BYTES}`, { image: basePath });
    }
    const baseSystem = await base.read(0, SYSTEM_AREA_SECTORS * SECTOR_BYTES);
    const given = boot?.setup.systemArea ?? boot?.setup.isohybridMbr;
    // A system area given on the command line replaces the base's partition layout, and with it what followed the volume.
    const hybrid = given
      ? { system: systemArea(boot!.setup, plan, baseSystem, opts.volumeId ?? img.volumeId, opts.dateMs), tail: new Uint8Array(0) }
      : moveHybrid(followBiosImage(baseSystem, img, plan), tailBytes > 0 ? await base.read(oldEnd, tailBytes) : new Uint8Array(0), oldEnd, plan.imageBytes);
    const final = {
      ...plan,
      imageBytes: plan.imageBytes + hybrid.tail.length,
      segments: [
        { at: 0, length: hybrid.system.length, kind: 'bytes' as const, bytes: hybrid.system },
        ...plan.segments,
        ...(hybrid.tail.length > 0 ? [{ at: plan.imageBytes, length: hybrid.tail.length, kind: 'bytes' as const, bytes: hybrid.tail }] : []),
      ],
      stats: { ...plan.stats, imageBytes: plan.imageBytes + hybrid.tail.length },
    };
    await writeImage(final, base, basePath, treePath, outPath);
    const kept = model.contents.filter((c) => c.kept).length;
    return {
      base: basePath, tree: treePath, output: outPath, ...final.stats,
      files: { kept, fresh: model.contents.length - kept, compared: toCompare.length, quick: quick.size },
      pieceBytes, stockFetchBytes: stockFetchBytes(Buffer.from(hybrid.system).equals(baseSystem) ? final.segments.slice(1) : final.segments, base.size, final.imageBytes, pieceBytes),
    };
  } finally {
    await base.close();
  }
}
