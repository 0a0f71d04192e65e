/**
 * The floor of a delta: the least any method must move over the network to
 * build TARGET from SOURCES when it works at whole-file granularity.
 *
 *   floor = bytes of target files whose content exists in no source file
 *         + the target's metadata sectors (volume descriptors, path tables,
 *           directories, SUSP continuation areas, the boot catalog)
 *
 * Content is compared by SHA-256 of whole files, wherever they sit, so a
 * moved or renamed file counts as present. The system area and unused
 * sectors are not counted (they are zeros or same-offset data).
 *
 *   node dist/bench/floor.js TARGET.iso SOURCE.iso [SOURCE.iso ...] [--json]
 */
import { createHash } from 'node:crypto';
import { readIso, readEntryChunks, regionMap, type IsoImage } from '../src/iso/index.js';
import { FileSource } from '../src/store/file-source.js';

const METADATA = new Set(['volume-descriptor', 'path-table', 'directory', 'continuation', 'boot-catalog']);

async function fileHashes(src: FileSource, img: IsoImage): Promise<Map<number, string>> {
  const out = new Map<number, string>(); // extent lba -> sha256
  for (const e of img.entries) {
    if (e.type !== 'file' || e.size === 0 || out.has(e.lba)) continue;
    const h = createHash('sha256');
    for await (const chunk of readEntryChunks(src, e)) h.update(chunk);
    out.set(e.lba, `${e.size}:${h.digest('hex')}`);
  }
  return out;
}

export interface Floor {
  floorBytes: number;
  missingFileBytes: number;
  metadataBytes: number;
  missingFiles: string[];
}

export async function computeFloor(targetPath: string, sourcePaths: readonly string[]): Promise<Floor> {
  const known = new Set<string>();
  for (const p of sourcePaths) {
    const src = await FileSource.open(p);
    try {
      const img = await readIso(src, { name: p });
      for (const h of (await fileHashes(src, img)).values()) known.add(h);
    } finally {
      await src.close();
    }
  }
  const src = await FileSource.open(targetPath);
  try {
    const img = await readIso(src, { name: targetPath });
    const hashes = await fileHashes(src, img);
    let missingFileBytes = 0;
    const missingFiles: string[] = [];
    const counted = new Set<number>();
    for (const e of img.entries) {
      if (e.type !== 'file' || e.size === 0 || counted.has(e.lba)) continue;
      counted.add(e.lba);
      if (!known.has(hashes.get(e.lba)!)) {
        missingFileBytes += e.size;
        missingFiles.push(e.path);
      }
    }
    let metadataBytes = 0;
    for (const r of regionMap(img)) if (METADATA.has(r.kind)) metadataBytes += r.end - r.start;
    return { floorBytes: missingFileBytes + metadataBytes, missingFileBytes, metadataBytes, missingFiles };
  } finally {
    await src.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2).filter((a) => a !== '--json');
  if (args.length < 2) {
    process.stderr.write('usage: node dist/bench/floor.js TARGET.iso SOURCE.iso [SOURCE.iso ...] [--json]\n');
    process.exit(2);
  }
  const f = await computeFloor(args[0]!, args.slice(1));
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(f, null, 2)}\n`);
  else process.stdout.write(`floor ${f.floorBytes} bytes = files ${f.missingFileBytes} (${f.missingFiles.length}) + metadata ${f.metadataBytes}\n`);
}
