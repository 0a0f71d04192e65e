/**
 * Changed lz4hc EROFS clusters rebuilt on the client (a guess layer).
 *
 * mkfs.erofs compresses each 4 KiB physical cluster on its own, filling it
 * from the cluster's uncompressed start (LZ4_compress_HC_destSize). After an
 * edit inside a file every later cluster starts at another uncompressed
 * offset and holds other bytes, yet the file's uncompressed bytes after the
 * edit are mostly the old ones, shifted. The target's cluster index (read
 * with its metadata) gives every cluster's uncompressed start, so:
 *   1. the first changed cluster of a file (its boundaries differ from the
 *      old file's) is fetched and decoded: the new bytes up to its end;
 *   2. the shift is found by looking up the last 64 decoded bytes in the old
 *      file near the same offset (the nearest match wins);
 *   3. the rest of the file is guessed as the old bytes at that shift, and
 *      each following cluster is compressed again from its start
 *      (layouts/erofs/lz4hc.ts, the level and padding checked first on one
 *      unchanged old cluster, which must come out byte for byte). A cluster
 *      is kept only if the compressor consumed exactly up to the next
 *      cluster's start (a free check that the guessed input is the one
 *      mkfs.erofs read);
 *   4. the first cluster that fails the check (another edit) is fetched in
 *      the next round, and 2-3 go on from there.
 * Fetches are batched across files: one request a round for every file's
 * next cluster, whatever the number of files (they are then handled in
 * batches bounded in bytes, each holding its old and guessed files). The fetched
 * clusters were to be fetched anyway (the bytes are new); kept clusters are
 * guesses: piece hashes decide (reason 'reencoded').
 *
 * Not handled (left to the other layers): big pclusters (-C), raw (PLAIN)
 * clusters (the chain stops there and resumes after them), images without
 * LZ4_0PADDING, compressors other than lz4hc at levels 1-9.
 */
import type { FileTable, LayoutFile } from '../layouts/layout.js';
import { sameSignature } from '../layouts/entry-keys.js';
import type { NestedImage } from '../layouts/nested.js';
import { Lz4HcEncoder } from '../layouts/erofs/lz4hc.js';
import { decodeLz4Block } from '../layouts/erofs/lz4-block.js';
import { extentsOf, type ClusterExtent } from '../layouts/erofs/reencode.js';
import type { ByteSource, Span } from '../store/byte-source.js';
import type { LocalSegment } from './plan.js';
import type { ReencodedStore } from './reencoded-store.js';
import { calibrate, type Calibration } from './reencode-align.js';
import { ChainScratch, runChain, type ChainInput, type ChainOutput } from './reencode-chain.js';
import { ChainPool, defaultChainWorkers, MIN_WORKER_BYTES } from './reencode-pool.js';
import { spareCoresNow } from '../core/idle-sampler.js';
import { onDisk, readStoredBatch, storedBytes, type StoredFile } from './reencode-old.js';
import { BlockCache } from '../store/block-cache.js';
import { FileSource } from '../store/file-source.js';
import { pairSpans } from './reencode-resync.js';

/** Network rounds while planning (each one batched request for every file that needs a cluster). */
const ROUNDS = 5;
/** Clusters fetched per file at most (a file rewritten throughout is left to the plain fetch). */
const FETCH_BUDGET = 12;
/** Files whose old and new bytes are held at once (memory: their sizes, twice). */
const BATCH_BYTES = 8 * 1024 * 1024;
/** Largest file re-encoded. */
const MAX_FILE = 64 * 1024 * 1024;

export interface ReencodeInput {
  readonly targets: readonly NestedImage[];
  /** Source nested images, with their outer images (local). */
  readonly sources: readonly { readonly nested: readonly NestedImage[]; readonly bytes: ByteSource; readonly index: number }[];
  /** The target image (reads fetch what is not local; prefetch batches). */
  readonly target: ByteSource;
  readonly store: ReencodedStore;
  readonly storeIndex: number;
  /** Worker threads beside the calling one (0 or 1; default: one when a core is free and the work is large, reencode-pool.ts). */
  readonly workers?: number;
  /** The worker's script (tests). */
  readonly workerUrl?: URL;
  /** A pool started ahead (ChainPool.startAhead), used whatever the work and closed here; `workers` then does not apply. */
  readonly pool?: Promise<ChainPool | undefined>;
}

export interface ReencodeResult {
  readonly guesses: LocalSegment[];
  /** Clusters kept (of them `resynced`: the old file's own clusters, shifted), clusters fetched and decoded while planning, files tried. */
  readonly kept: number;
  readonly resynced: number;
  readonly fetched: number;
  readonly files: number;
  /** Chains run by the worker thread (0 without one). */
  readonly inWorker: number;
}

/** A file between rounds: the cluster it needs next, and the shift found so far. */
interface Pending {
  readonly f: LayoutFile;
  readonly from: LayoutFile;
  readonly want: number;
  readonly fetched: number;
  readonly shift: number;
}

interface FileJob {
  readonly t: NestedImage;
  /** The old file's entry. */
  readonly entry: LayoutFile;
  readonly f: LayoutFile;
  readonly extents: readonly ClusterExtent[];
  readonly pas: readonly number[];
  /** The old file: its stored clusters and cluster index. */
  readonly old: StoredFile;
  readonly oldExtents: readonly ClusterExtent[];
  readonly oldPas: readonly number[];
  readonly cal: Calibration;
  /** Next cluster to fetch (undefined: done). */
  want: number | undefined;
  fetched: number;
  shift: number;
}

/** The first extent whose stored length or logical boundaries differ from the old file's (as nested-map.ts decides). */
export function firstChanged(t: readonly ClusterExtent[], s: readonly ClusterExtent[], tSize: number, sSize: number): number {
  const end = (xs: readonly ClusterExtent[], i: number, size: number) => (i + 1 < xs.length ? xs[i + 1]!.la : size);
  for (let i = 0; i < t.length; i++) {
    const a = t[i]!;
    const b = s[i];
    if (!b || a.plen !== b.plen || a.la !== b.la || end(t, i, tSize) !== end(s, i, sSize)) return i;
  }
  return t.length;
}

export async function reencodeChangedClusters(input: ReencodeInput): Promise<ReencodeResult> {
  const enc = new Lz4HcEncoder();
  const scratch = new ChainScratch();
  let arena: Uint8Array = new Uint8Array(0);
  let pool: ChainPool | undefined;
  let poolTried = false;
  let starting: Promise<void> | undefined;
  const guesses: LocalSegment[] = [];
  let kept = 0;
  let resynced = 0;
  let fetched = 0;
  let files = 0;
  let inWorker = 0;
  try {
    for (const t of input.targets) {
      if (t.layout.format !== 'erofs') continue;
      const src = input.sources.flatMap((s) => s.nested.filter((n) => n.path === t.path && n.layout.format === 'erofs').map((img) => ({ img, bytes: s.bytes, index: s.index })))[0];
      if (!src) continue;
      const cal = await calibrate(src.img, src.bytes, enc);
      const path = localPath(src.bytes);
      if (!cal) continue;
      const oldFiles = src.img.layout.files;
      const byPath = pathIndex(oldFiles);
      const pending: { f: LayoutFile; from: LayoutFile; k0: number }[] = [];
      // Read from the table's columns: an entry's object is made only for the changed files (a few hundred of thousands).
      const newFiles = t.layout.files;
      for (let ti = 0; ti < newFiles.count; ti++) {
        if (newFiles.type(ti) !== 'file' || newFiles.size(ti) > MAX_FILE || !hasEvidence(newFiles, ti)) continue;
        const i = byPath(newFiles.path(ti));
        if (i < 0 || oldFiles.type(i) !== 'file' || oldFiles.size(i) > MAX_FILE || !hasEvidence(oldFiles, i) || sameSignature(oldFiles, i, newFiles, ti)) continue;
        const f = newFiles.get(ti);
        const from = oldFiles.get(i);
        const te = extentsOf(f);
        const se = extentsOf(from);
        if (!te || !se) continue;
        const k0 = firstChanged(te.extents, se.extents, f.size, from.size);
        if (te.extents.length - k0 >= 2) pending.push({ f, from, k0 });
      }
      // Each round: one request for every file's next cluster, then the files in batches bounded in bytes (each
      // holds its files' old and guessed bytes while it runs); a file that needs another cluster waits for the next round.
      let queue: Pending[] = pending.map(({ f, from, k0 }) => ({ f, from, want: k0, fetched: 0, shift: 0 }));
      // Whether a core is free is sampled (core/idle-sampler.ts), and the worker started, while the first round's clusters are fetched.
      if (!poolTried && pending.length > 0) {
        poolTried = true;
        const work = pending.reduce((n, p) => n + p.f.size, 0);
        const workers = input.workers !== undefined ? Promise.resolve(input.workers) : work >= MIN_WORKER_BYTES ? spareCoresNow().then((s) => defaultChainWorkers(work, s)) : Promise.resolve(0);
        starting = input.pool
          ? input.pool.then((p) => {
              pool = p;
            })
          : workers.then((n) => {
              if (n > 0) pool = ChainPool.start(input.workerUrl);
            });
      }
      for (let round = 0; round < ROUNDS && queue.length > 0; round++) {
        await input.target.prefetch?.(queue.flatMap((p) => t.toImage(p.f.chunks[2 * p.want]!, p.f.chunks[2 * p.want + 1]!)).sort((x, y) => x.start - y.start));
        await starting;
        const next: Pending[] = [];
        let at = 0;
        while (at < queue.length) {
          const picked: Pending[] = [];
          let bytes = 0;
          while (at < queue.length && (picked.length === 0 || bytes + queue[at]!.f.size + queue[at]!.from.size <= BATCH_BYTES)) {
            const p = queue[at++]!;
            picked.push(p);
            bytes += p.f.size + p.from.size;
          }
          // A batch's old files are read at once (stored, decoded later where needed), their runs merged in image order
          // (reencode-old.ts). An old file that cannot be read only loses its guess.
          // Into one buffer kept from batch to batch (a buffer per file was some 30 MB to collect on the bench pair).
          // From a local file, each old file's clusters are read where its chain decodes them (reencode-old.ts onDisk).
          const disk = path === undefined ? [] : picked.map((p) => onDisk(src.img, p.from, path));
          const ahead = picked.filter((_, i) => !disk[i]).map((p) => p.from);
          const total = ahead.reduce((a, f) => a + storedBytes(f), 0);
          // Shared with the worker, if any: its chains read the old files where they are.
          if (arena.length < total) arena = pool ? new Uint8Array(new SharedArrayBuffer(total)) : new Uint8Array(total);
          const read = ahead.length > 0 ? await readStoredBatch(src.img, src.bytes, ahead, arena) : [];
          const olds = picked.map((_, i) => disk[i] ?? read.shift());
          const jobs: FileJob[] = [];
          picked.forEach((p, i) => {
            const old = olds[i];
            if (!old) return;
            const ex = extentsOf(p.f)!;
            const ox = extentsOf(p.from)!;
            jobs.push({ t, f: p.f, entry: p.from, extents: ex.extents, pas: ex.pas, old, oldExtents: ox.extents, oldPas: ox.pas, cal, want: p.want, fetched: p.fetched, shift: p.shift });
          });
          if (round === 0) files += jobs.length;
          const r = await runRound(jobs, input, src, guesses, (cs) => (pool ? pool.run(cs, (c) => runChain(c, enc, scratch)) : Promise.resolve(cs.map((c) => runChain(c, enc, scratch)))));
          kept += r.kept;
          resynced += r.resynced;
          fetched += r.fetched;
          for (const j of jobs) if (j.want !== undefined && j.fetched < FETCH_BUDGET) next.push({ f: j.f, from: j.entry, want: j.want, fetched: j.fetched, shift: j.shift });
        }
        queue = next;
      }
    }
  } finally {
    await starting;
    // Started ahead but no file to re-encode: ended here all the same.
    if (!poolTried && input.pool) pool = await input.pool;
    inWorker = pool?.ranInWorker ?? 0;
    await pool?.close();
  }
  return { guesses, kept, resynced, fetched, files, inWorker };
}

/**
 * Whether entry i has evidence (EROFS: its extents' logical starts), read from the columns: the evidence string
 * (base 36 numbers joined) made for every file of both trees, and each file's signature made of it to compare
 * them, were some 26 MB of short-lived strings on the live bench pair (half of all re-encoding allocated).
 */
function hasEvidence(t: FileTable, i: number): boolean {
  return (t.chunkCount(i) > 0 && t.lasAt(i, 0) !== undefined) || !!t.evidence(i);
}

/**
 * Finds an entry by path without keeping every old entry as an object: a 30-bit hash of each path (FNV-1a,
 * small integers for V8) to its index, some 30 bytes an entry; a hit is confirmed against the table's own path.
 */
function pathIndex(table: FileTable): (path: string) => number {
  const first = new Map<number, number>();
  const more = new Map<number, number[]>();
  for (let i = 0; i < table.count; i++) {
    const h = fnv1a(table.path(i));
    if (!first.has(h)) first.set(h, i);
    else more.set(h, [...(more.get(h) ?? []), i]);
  }
  return (path) => {
    const h = fnv1a(path);
    for (const i of [first.get(h) ?? -1, ...(more.get(h) ?? [])]) if (i >= 0 && table.path(i) === path) return i;
    return -1;
  };
}

/** The local file under `src` (a file source, or a block cache over one), whose offsets are the source's; undefined for any other. */
export function localPath(src: ByteSource): string | undefined {
  let s: ByteSource | undefined = src;
  for (let depth = 0; s && depth < 4; depth++) {
    if (s instanceof FileSource) return s.path;
    s = s instanceof BlockCache ? s.inner : undefined;
  }
  return undefined;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}

/**
 * One round: each file's cluster (prefetched) fetched and decoded, then the chains after them (the shift, then the
 * clusters compressed again as far as the guess holds: reencode-chain.ts, by `chains`, in order), then their results recorded.
 */
async function runRound(jobs: FileJob[], input: ReencodeInput, src: { readonly img: NestedImage; readonly index: number }, out: LocalSegment[], chains: (cs: ChainInput[]) => Promise<ChainOutput[]>): Promise<{ kept: number; resynced: number; fetched: number }> {
  let kept = 0;
  let resynced = 0;
  let fetched = 0;
  const started: FileJob[] = [];
  const inputs: ChainInput[] = [];
  for (const j of jobs) {
    const k = j.want!;
    j.want = undefined;
    const x = j.extents[k]!;
    const end = k + 1 < j.extents.length ? j.extents[k + 1]!.la : j.f.size;
    const stored = await readSpans(input.target, j.t.toImage(j.pas[k]!, j.pas[k]! + x.plen));
    j.fetched++;
    fetched++;
    // A cluster that does not decode to its length but holds as many bytes is a raw (PLAIN) one.
    const plain = decodeCluster(stored, end - x.la) ?? (stored.length === end - x.la ? stored.slice() : undefined);
    if (!plain) continue; // inline or undecodable: the chain stops here
    started.push(j);
    inputs.push({ size: j.f.size, extents: j.extents, k, plain, shift: j.shift, level: j.cal.level, old: j.old, oldExtents: j.oldExtents });
  }
  const results = await chains(inputs);
  started.forEach((j, i) => {
    const r = results[i]!;
    j.shift = r.shift;
    j.want = r.want;
    let o = 0;
    for (let p = 0; p < r.kept.length; p += 2) {
      const n = r.kept[p]!;
      const same = r.kept[p + 1]!;
      const e = j.extents[n]!;
      const spans = j.t.toImage(j.pas[n]!, j.pas[n]! + e.plen);
      kept++;
      if (same >= 0) {
        // The old file's own cluster, shifted: taken from the old image as it is.
        pairSpans(spans, src.img.toImage(j.oldPas[same]!, j.oldPas[same]! + j.oldExtents[same]!.plen), src.index, out);
        resynced++;
        continue;
      }
      let at = input.store.put(spans[0]!.start, r.encoded.subarray(o, o + e.plen));
      o += e.plen;
      for (const s of spans) {
        out.push({ start: s.start, end: s.end, source: input.storeIndex, sourceOffset: at, reason: 'reencoded' });
        at += s.end - s.start;
      }
    }
  });
  return { kept, resynced, fetched };
}

async function readSpans(src: ByteSource, spans: Span[]): Promise<Uint8Array> {
  if (spans.length === 1) return src.read(spans[0]!.start, spans[0]!.end - spans[0]!.start);
  const out = new Uint8Array(spans.reduce((n, s) => n + s.end - s.start, 0));
  let at = 0;
  for (const s of spans) {
    out.set(await src.read(s.start, s.end - s.start), at);
    at += s.end - s.start;
  }
  return out;
}

/** A cluster's uncompressed bytes (LZ4_0PADDING: the stream after the leading zeros), or undefined when it does not decode to `want` bytes. */
function decodeCluster(stored: Uint8Array, want: number): Uint8Array | undefined {
  let z = 0;
  while (z < stored.length && stored[z] === 0) z++;
  const plain = new Uint8Array(want);
  return decodeLz4Block(stored, z, stored.length, plain, 0) === want ? plain : undefined;
}
