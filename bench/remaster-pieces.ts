/**
 * Why a stock BitTorrent client fetches what it fetches: the pieces of NEW
 * that differ from OLD at the same offset (what a client that downloads
 * into a copy of OLD fetches, whole), and the bytes of those pieces by
 * kind (NEW's region map): blocks that differ (fresh file content,
 * metadata, free space, past OLD's end) and blocks that are equal to OLD's
 * but fetched because they share a piece with a differing one (kept file
 * content, metadata, free space). Also the runs of differing pieces, to
 * see whether they cluster.
 *
 * And a lower bound for any layout that keeps every unchanged file where
 * OLD has it: the holes (OLD's blocks of files NEW changed or dropped, and
 * OLD's free blocks) are either left dead, which makes the image longer,
 * or filled with something NEW must carry anyway (fresh files, metadata),
 * which makes the client fetch the kept blocks of that hole's piece again.
 * With a dead-space allowance, the least such cost is the fractional
 * knapsack over the pieces with holes, most free blocks first (pieces that
 * hold NEW's metadata cost nothing): a true lower bound, since it also
 * ignores that files must fit the holes they go to.
 *
 *   node dist/bench/remaster-pieces.js OLD.iso NEW.iso [PIECE_BYTES] [--json]
 */
import { readFileSync } from 'node:fs';
import { readIso, regionMap, type IsoImage, type Region } from '../src/iso/index.js';
import { FileSource } from '../src/store/file-source.js';

const BLOCK = 2048;

export interface PieceBreakdown {
  pieceBytes: number;
  piecesDiffering: number;
  fetchedBytes: number;
  /** Bytes in differing pieces by `differs|equal` and region kind ('past-old' for bytes beyond OLD's end). */
  bytes: Record<string, number>;
  /** Differing pieces that hold no differing file byte (only metadata, free space or the tail). */
  metadataOnlyPieces: number;
  /** Runs of consecutive differing pieces (count). */
  runs: number;
}

async function imageOf(path: string): Promise<IsoImage> {
  const src = await FileSource.open(path);
  try {
    return await readIso(src, { name: path });
  } finally {
    await src.close();
  }
}

const METADATA = new Set(['volume-descriptor', 'path-table', 'directory', 'continuation', 'boot-catalog']);
const extentKey = (e: IsoImage['entries'][number]) => (e.type === 'file' ? e.extents.map((x) => `${x.lba}:${x.size}`).join() : '');

/**
 * The least collateral (kept bytes fetched again because they share a piece
 * with new content) of any layout that keeps NEW's unchanged files where
 * OLD has them and leaves at most `deadBytes` of OLD's holes dead.
 */
export async function collateralBound(oldPath: string, newPath: string, pieceBytes: number, deadBytes: number): Promise<{ holeBytes: number; boundBytes: number }> {
  const a = await imageOf(oldPath), b = await imageOf(newPath);
  const kept = new Map<string, string>();
  for (const e of b.entries) if (e.type === 'file') kept.set(e.path, extentKey(e));
  const byPath = new Map(a.entries.map((e) => [e.path, e] as const));
  const holes: [number, number][] = [];
  for (const r of regionMap(a)) {
    const e = r.path !== undefined ? byPath.get(r.path) : undefined;
    if (r.kind === 'unused' || (r.kind === 'file' && e !== undefined && kept.get(r.path!) !== extentKey(e))) holes.push([r.start, r.end]);
  }
  const dirty = new Set<number>();
  for (const r of regionMap(b)) if (METADATA.has(r.kind)) for (let p = Math.floor(r.start / pieceBytes); p * pieceBytes < r.end; p++) dirty.add(p);
  const free = new Map<number, number>();
  let holeBytes = 0;
  for (const [s, e] of holes) {
    holeBytes += e - s;
    for (let p = Math.floor(s / pieceBytes); p * pieceBytes < e; p++) free.set(p, (free.get(p) ?? 0) + Math.min(e, (p + 1) * pieceBytes) - Math.max(s, p * pieceBytes));
  }
  const oldEnd = a.imageBytes;
  const pieces = [...free].map(([p, f]) => ({ f, cost: dirty.has(p) ? 0 : Math.min(pieceBytes, oldEnd - p * pieceBytes) - f }));
  pieces.sort((x, y) => x.cost / x.f - y.cost / y.f);
  let toFill = holeBytes - deadBytes, boundBytes = 0;
  for (const x of pieces) {
    if (toFill <= 0) break;
    const part = Math.min(1, toFill / x.f);
    boundBytes += part * x.cost;
    toFill -= x.f;
  }
  return { holeBytes, boundBytes: Math.ceil(boundBytes) };
}

export async function pieceBreakdown(oldPath: string, newPath: string, pieceBytes: number): Promise<PieceBreakdown> {
  const a = readFileSync(oldPath), b = readFileSync(newPath);
  const regions = regionMap(await imageOf(newPath));
  const kindAt = new Array<string>(Math.ceil(b.length / BLOCK)).fill('unused');
  for (const r of regions) for (let k = Math.floor(r.start / BLOCK); k * BLOCK < r.end; k++) kindAt[k] = r.kind;
  const bytes: Record<string, number> = {};
  const add = (key: string, n: number) => (bytes[key] = (bytes[key] ?? 0) + n);
  let piecesDiffering = 0, fetchedBytes = 0, metadataOnlyPieces = 0, runs = 0, prevDiff = false;
  for (let p = 0; p * pieceBytes < b.length; p++) {
    const lo = p * pieceBytes, hi = Math.min(b.length, lo + pieceBytes);
    const diff: boolean[] = [];
    let any = false;
    for (let at = lo; at < hi; at += BLOCK) {
      const e = Math.min(hi, at + BLOCK);
      const d = e > a.length || Buffer.compare(a.subarray(at, e), b.subarray(at, e)) !== 0;
      diff.push(d);
      any ||= d;
    }
    if (any && !prevDiff) runs++;
    prevDiff = any;
    if (!any) continue;
    piecesDiffering++;
    fetchedBytes += hi - lo;
    let fileDiff = false;
    diff.forEach((d, i) => {
      const at = lo + i * BLOCK, n = Math.min(BLOCK, hi - at);
      const kind = at >= a.length ? 'past-old' : kindAt[at / BLOCK]!;
      if (d && kind === 'file') fileDiff = true;
      add(`${d ? 'differs' : 'equal'} ${kind}`, n);
    });
    if (!fileDiff) metadataOnlyPieces++;
  }
  return { pieceBytes, piecesDiffering, fetchedBytes, bytes, metadataOnlyPieces, runs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2).filter((x) => x !== '--json');
  if (args.length < 2) {
    process.stderr.write('usage: node dist/bench/remaster-pieces.js OLD.iso NEW.iso [PIECE_BYTES] [--json]\n');
    process.exit(2);
  }
  const r = await pieceBreakdown(args[0]!, args[1]!, Number(args[2] ?? 262144));
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(r, null, 1)}\n`);
  else {
    const mib = (n: number) => (n / 1048576).toFixed(2);
    process.stdout.write(`${r.piecesDiffering} pieces of ${r.pieceBytes / 1024} KiB differ (${r.runs} runs, ${r.metadataOnlyPieces} with no differing file block): ${mib(r.fetchedBytes)} MiB\n`);
    for (const [k, v] of Object.entries(r.bytes).sort((x, y) => y[1] - x[1])) process.stdout.write(`  ${k.padEnd(28)} ${mib(v).padStart(9)} MiB\n`);
  }
}
