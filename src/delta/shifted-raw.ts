/**
 * Changed files of an uncompressed nested image (a FAT EFI image's boot
 * loader) guessed from the old file at shifted offsets.
 *
 * A file stored as is that was edited (a run replaced, a run inserted) keeps
 * the old bytes around the edits, each stretch at its own shift: the same
 * offset before the first insertion, shifted by its length after it. The old
 * block at the same offset (nested-map.ts's changed-block guess) gives only
 * the first stretch; after an insertion every guessed byte is wrong, so the
 * sync fetched the rest of the file, and a replaced run before it made the
 * piece fail and sample everything in it (the live bench pair's EFI loader:
 * 90 KB fetched for ~22 KB of new bytes).
 *
 * So while planning, for each such file (same path, other stored size or
 * chunks, both stored raw) the new file is sampled every SHIFT_SPACING bytes
 * (SHIFT_SAMPLE bytes each, one request for every file), each sample is
 * looked up in the old file (the occurrence nearest to where the shift so
 * far puts it), and consecutive samples found at the same shift make a
 * stretch. Where a stretch ends (or starts), the gap to the next sample is
 * halved by one sample a round (as the sync's sampler halves a turn,
 * probe.ts) until it is under SHIFT_STOP bytes; what no stretch holds is
 * then fetched, while planning too. The stretches are nested-file segments
 * (evidence: piece hashes decide; a failing piece samples them like any
 * nested file), and the file's changed-block guess is dropped.
 *
 * The samples are fetched while planning, so `plan` and `sync` see the same
 * segments, and the plan prices them as any mapped bytes. `ShiftSearch` is the
 * pure core (no I/O); `shiftRawFiles` fetches and reads.
 */
import type { ByteSource } from '../store/byte-source.js';
import { entrySignature, type FileTable } from '../layouts/layout.js';
import type { NestedImage } from '../layouts/nested.js';
import type { LocalSegment } from './plan.js';
import { mergeSpans, subtractSpans, type Span } from '../core/span.js';
import { PathHasher, samePath } from '../layouts/entry-keys.js';
import { HashIndex } from './string-index.js';

/** Distance between the first round's samples: a FAT cluster rewritten in place (4 KiB) holds one. */
export const SHIFT_SPACING = 4096;
/** Bytes per sample: enough to find it once in an old file (and twice MIN_AGREE). */
export const SHIFT_SAMPLE = 16;
/** A stretch's end known to this many bytes is left to fetch: one more sample costs some 120 bytes of framing. */
export const SHIFT_STOP = 256;
/** Rounds of halving (one request each for every file). */
export const SHIFT_ROUNDS = 10;
/** Fewer equal bytes in a row than this are chance. */
const MIN_AGREE = 8;
/** Files handled: at least this long (a shorter one is fetched), at most SHIFT_MAX_BYTES (the old file is read whole). */
const SHIFT_MIN_BYTES = 4096;
const SHIFT_MAX_BYTES = 8 * 1024 * 1024;
/** A sample is looked for this far either side of where the shift so far puts it: a wholly new file costs a bounded scan per sample. */
const SHIFT_WINDOW = 64 * 1024;
/**
 * Samples of a first look at each file, evenly spread: a file none of them is found in (a new kernel: all of it other
 * bytes) is not sampled further, where the whole grid would have cost some 140 bytes per 4 KiB for nothing.
 */
const SCOUTS = 16;
/**
 * Files of a raw image mapped whole but shorter than this (too short for the sync to sample: probe.ts PROBE_MIN_BYTES)
 * are read while planning, at most SMALL_FILES of them per image: one that changed in place (grub.cfg, a byte) made
 * its piece fail, sample every guess in it and then drop guesses until it passed; read, it costs its bytes and a part
 * of a multipart reply, and nothing where its piece verifies locally.
 */
const SMALL_BYTES = 1024;
const SMALL_FILES = 16;
/** Occurrences of a sample looked at in the old file (a run of zeros occurs everywhere: the nearest is taken). */
const MAX_OCCURRENCES = 64;

/** A stretch of the new file [start, end) equal to the old file at [start - shift, end - shift). */
export interface Stretch {
  readonly start: number;
  readonly end: number;
  readonly shift: number;
}

/** One end of a stretch being looked for: known equal on one side of [lo, hi), unknown inside, differing (or the file's end) past it. */
interface Edge {
  readonly stretch: number;
  readonly side: 'start' | 'end';
  lo: number;
  hi: number;
}

/** Length of the common prefix (or, `fromEnd`, suffix) of `a` and `old[at, at + a.length)`; bytes outside `old` differ. */
function agreeing(a: Uint8Array, old: Uint8Array, at: number, fromEnd: boolean): number {
  const n = a.length;
  let k = 0;
  if (!fromEnd) {
    while (k < n && at + k >= 0 && at + k < old.length && a[k] === old[at + k]) k++;
  } else {
    while (k < n && at + n - 1 - k >= 0 && at + n - 1 - k < old.length && a[n - 1 - k] === old[at + n - 1 - k]) k++;
  }
  return k;
}

/** The old offset of the occurrence of `sample` in `old` nearest to `want` (an old offset), within `window` bytes of it, or undefined. */
export function locate(sample: Uint8Array, old: Uint8Array, want: number, window = SHIFT_WINDOW): number | undefined {
  const from = Math.max(0, Math.min(old.length, want - window));
  const to = Math.max(from, Math.min(old.length, want + window + sample.length));
  const buf = Buffer.from(old.buffer, old.byteOffset + from, to - from);
  let best: number | undefined;
  let seen = 0;
  for (let i = buf.indexOf(sample); i >= 0 && seen < MAX_OCCURRENCES; i = buf.indexOf(sample, i + 1), seen++) {
    if (best === undefined || Math.abs(from + i - want) < Math.abs(best - want)) best = from + i;
  }
  return best;
}

/**
 * The search over one file: `first()` gives the samples of the first round, `next()` those of each later
 * round (none once every edge is placed), `record` takes their bytes, `stretches()` what is known at the end.
 * Offsets are the new file's.
 */
export class ShiftSearch {
  private readonly got = new Map<number, Uint8Array>();
  private anchors: { at: number; shift: number | undefined }[] = [];
  private found: { start: number; end: number; shift: number }[] = [];
  private edges: Edge[] = [];
  private rounds = 0;

  constructor(
    readonly size: number,
    private readonly old: Uint8Array,
  ) {}

  /** Samples every SHIFT_SPACING bytes and at the end. */
  first(): Span[] {
    const q = SHIFT_SAMPLE;
    const out: Span[] = [];
    for (let at = 0; at + q <= this.size; at += SHIFT_SPACING) out.push({ start: at, end: at + q });
    if (this.size >= q && out[out.length - 1]!.end < this.size) out.push({ start: this.size - q, end: this.size });
    return out;
  }

  /** Up to SCOUTS of the first round's samples, evenly spread. */
  scouts(): Span[] {
    const all = this.first();
    if (all.length <= SCOUTS) return all;
    return Array.from({ length: SCOUTS }, (_, k) => all[Math.round((k * (all.length - 1)) / (SCOUTS - 1))]!);
  }

  /** Whether any of `spans` (recorded) is found in the old file near the same offset or some shift from it. */
  seen(spans: readonly Span[]): boolean {
    return spans.some((s) => locate(this.got.get(s.start)!, this.old, s.start) !== undefined);
  }

  record(at: number, bytes: Uint8Array): void {
    this.got.set(at, bytes);
  }

  /** After the first round: where each sample sits in the old file, the stretches they make, and the edges to look for. */
  placeFirst(samples: readonly Span[]): void {
    let shift = 0;
    this.anchors = samples.map((s) => {
      const bytes = this.got.get(s.start)!;
      const at = locate(bytes, this.old, s.start - shift);
      if (at !== undefined) shift = s.start - at;
      return { at: s.start, shift: at === undefined ? undefined : s.start - at };
    });
    const q = SHIFT_SAMPLE;
    const a = this.anchors;
    for (let i = 0; i < a.length; ) {
      const d = a[i]!.shift;
      let j = i;
      while (j + 1 < a.length && d !== undefined && a[j + 1]!.shift === d) j++;
      if (d !== undefined) {
        const k = this.found.length;
        // Known equal from the first anchor's start to the last one's end; each side open up to the next anchor (or the file's
        // and the old file's ends), less what that anchor's own bytes already say.
        const startLo = Math.max(i > 0 ? a[i - 1]!.at + q : 0, d);
        const endHi = Math.min(j + 1 < a.length ? a[j + 1]!.at : this.size, this.old.length + d);
        let start = a[i]!.at;
        let end = a[j]!.at + q;
        if (i > 0) {
          const m = agreeing(this.got.get(a[i - 1]!.at)!, this.old, a[i - 1]!.at - d, true);
          if (m >= MIN_AGREE) start = a[i - 1]!.at + q - m;
        }
        if (j + 1 < a.length) {
          const m = agreeing(this.got.get(a[j + 1]!.at)!, this.old, a[j + 1]!.at - d, false);
          if (m >= MIN_AGREE) end = a[j + 1]!.at + m;
        }
        this.found.push({ start, end, shift: d });
        this.edges.push({ stretch: k, side: 'start', lo: Math.min(startLo, start), hi: start }, { stretch: k, side: 'end', lo: end, hi: Math.max(endHi, end) });
      }
      i = j + 1;
    }
  }

  /** The samples of the next round: one in the middle of each edge still wider than SHIFT_STOP. */
  next(): Span[] {
    if (this.rounds++ >= SHIFT_ROUNDS) return [];
    const q = SHIFT_SAMPLE;
    const out: Span[] = [];
    for (const e of this.edges) if (e.hi - e.lo > Math.max(SHIFT_STOP, 2 * q)) out.push(this.middle(e));
    return out;
  }

  /** Narrows every open edge by the samples fetched for this round. */
  placeNext(): void {
    const q = SHIFT_SAMPLE;
    for (const e of this.edges) {
      if (e.hi - e.lo <= Math.max(SHIFT_STOP, 2 * q)) continue;
      const m = this.middle(e);
      const bytes = this.got.get(m.start);
      if (!bytes) continue;
      const f = this.found[e.stretch]!;
      if (e.side === 'end') {
        const k = agreeing(bytes, this.old, m.start - f.shift, false);
        if (k === q) e.lo = m.end;
        else if (k >= MIN_AGREE) e.lo = e.hi = m.start + k;
        else e.hi = m.start;
        f.end = e.lo;
      } else {
        const k = agreeing(bytes, this.old, m.start - f.shift, true);
        if (k === q) e.hi = m.start;
        else if (k >= MIN_AGREE) e.lo = e.hi = m.end - k;
        else e.lo = m.end;
        f.start = e.hi;
      }
    }
  }

  private middle(e: Edge): Span {
    const at = e.lo + Math.floor((e.hi - e.lo - SHIFT_SAMPLE) / 2);
    return { start: at, end: at + SHIFT_SAMPLE };
  }

  /** The stretches known to equal the old file, sorted and disjoint (an overlap goes to the earlier one). */
  stretches(): Stretch[] {
    const out: Stretch[] = [];
    let at = 0;
    for (const f of [...this.found].sort((x, y) => x.start - y.start)) {
      const start = Math.max(f.start, at);
      if (f.end > start) out.push({ start, end: f.end, shift: f.shift });
      at = Math.max(at, f.end);
    }
    return out;
  }
}

/** A file's bytes as outer-image spans, in file order, with the file offset each starts at. */
interface Placed {
  readonly at: number;
  readonly start: number;
  readonly end: number;
}

function placeFile(img: NestedImage, files: FileTable, f: number): Placed[] {
  const out: Placed[] = [];
  let at = 0;
  for (let i = 0; i < files.chunkCount(f); i++) {
    for (const s of img.toImage(files.chunkStart(f, i), files.chunkEnd(f, i))) {
      out.push({ at, start: s.start, end: s.end });
      at += s.end - s.start;
    }
  }
  return out;
}

/** Outer-image spans of file bytes [a, b). */
function imageSpans(placed: readonly Placed[], a: number, b: number): Span[] {
  const out: Span[] = [];
  for (const p of placed) {
    const s = Math.max(a, p.at);
    const e = Math.min(b, p.at + (p.end - p.start));
    if (e > s) out.push({ start: p.start + (s - p.at), end: p.start + (e - p.at) });
  }
  return out;
}

/** Segments for new-file bytes [a, b) from old-file bytes [a - shift, ...), through both files' spans. */
function stretchSegments(t: readonly Placed[], s: readonly Placed[], x: Stretch, source: number): LocalSegment[] {
  const out: LocalSegment[] = [];
  for (const ts of imageSpans(t, x.start, x.end)) {
    // The file offset of this target span, then the old file's spans for the same length.
    const tp = t.find((p) => p.start <= ts.start && ts.start < p.end)!;
    const from = tp.at + (ts.start - tp.start) - x.shift;
    let at = ts.start;
    for (const ss of imageSpans(s, from, from + (ts.end - ts.start))) {
      out.push({ start: at, end: at + (ss.end - ss.start), source, sourceOffset: ss.start, reason: 'nested-file' });
      at += ss.end - ss.start;
    }
  }
  return out;
}

export interface ShiftInput {
  readonly targets: readonly NestedImage[];
  /** The sources' nested images with their bytes. */
  readonly sources: readonly { readonly nested: readonly NestedImage[]; readonly bytes: ByteSource; readonly index: number }[];
  /** The target, read while planning (fetched bytes are kept for the sync: CheckedTarget over the VirtualTarget). */
  readonly target: ByteSource & { prefetch?(ranges: readonly Span[]): Promise<void> };
}

export interface ShiftResult {
  /** Nested-file segments of the stretches found. */
  readonly segments: LocalSegment[];
  /** Outer-image spans of the files searched: their changed-block guesses are dropped. */
  readonly covered: Span[];
  readonly files: number;
  /** Sampled ranges fetched (or found verified locally), small files read included. */
  readonly samples: number;
}

interface Job {
  readonly search: ShiftSearch;
  readonly t: Placed[];
  readonly s: Placed[];
  readonly source: number;
}

/** Reads file-offset `spans` of each job's new file from the target, all at once, into its search. */
async function fetchRound(target: ShiftInput['target'], asks: readonly { job: Job; spans: readonly Span[] }[], also: readonly Span[] = []): Promise<number> {
  const image = [...asks.flatMap((a) => a.spans.flatMap((s) => imageSpans(a.job.t, s.start, s.end))), ...also];
  if (image.length === 0) return 0;
  await target.prefetch?.(mergeSpans(image));
  // Read, so that a target without prefetch fetches them too (they are kept for the sync).
  for (const x of also) await target.read(x.start, x.end - x.start);
  for (const a of asks) {
    for (const s of a.spans) {
      const bytes = new Uint8Array(s.end - s.start);
      let at = 0;
      for (const r of imageSpans(a.job.t, s.start, s.end)) {
        bytes.set(await target.read(r.start, r.end - r.start), at);
        at += r.end - r.start;
      }
      a.job.search.record(s.start, bytes);
    }
  }
  return image.length;
}

/** Finds the stretches of every changed raw file of the targets that has an old version (same path) in a source. */
export async function shiftRawFiles(o: ShiftInput): Promise<ShiftResult> {
  const jobs: Job[] = [];
  const smalls: Span[] = [];
  for (const t of o.targets) {
    const tf = t.layout.files;
    for (const src of o.sources) {
      const s = src.nested.find((x) => x.path === t.path);
      if (!s) continue;
      const sf = s.layout.files;
      // Raw source files by a hash of their path, compared on the columns (entry-keys.ts): a Map keyed by path
      // strings held one per raw file (most files of an lz4hc EROFS tree: some 110 bytes each at the plan's peak).
      const isRaw = (x: FileTable, i: number) => x.type(i) === 'file' && x.raw(i);
      let g0 = 0;
      const byPath = new HashIndex(sf.count);
      const sourcePath = new PathHasher(sf);
      const sameAsG0 = (j: number) => samePath(sf, g0, sf, j);
      for (; g0 < sf.count; g0++) if (isRaw(sf, g0)) byPath.set(sourcePath.hash(g0), g0, sameAsG0);
      const targetPath = new PathHasher(tf);
      let f = 0;
      const sameAsF = (j: number) => samePath(tf, f, sf, j);
      const small: Span[] = [];
      let tooMany = false; // past SMALL_FILES spans, the list is not used: no more are kept
      for (; f < tf.count; f++) {
        const g = isRaw(tf, f) ? byPath.get(targetPath.hash(f), sameAsF) : undefined;
        if (g === undefined) continue;
        const same = entrySignature(sf, g) === entrySignature(tf, f);
        if (same && !tooMany && tf.size(f) > 0 && tf.size(f) < SMALL_BYTES) for (const x of imageSpans(placeFile(t, tf, f), 0, tf.size(f))) small.push(x);
        if (small.length > SMALL_FILES) {
          tooMany = true;
          small.length = 0;
        }
        if (same || tf.size(f) < SHIFT_MIN_BYTES || tf.size(f) > SHIFT_MAX_BYTES || sf.size(g) < SHIFT_MIN_BYTES || sf.size(g) > SHIFT_MAX_BYTES) continue;
        const sp = placeFile(s, sf, g);
        const old = new Uint8Array(sf.size(g));
        for (const p of sp) if (p.at < old.length) old.set((await src.bytes.read(p.start, Math.min(p.end - p.start, old.length - p.at))), p.at);
        const tp = placeFile(t, tf, f);
        jobs.push({ search: new ShiftSearch(tf.size(f), old), t: tp, s: sp, source: src.index });
      }
      byPath.release();
      if (!tooMany) for (const x of small) smalls.push(x);
      break;
    }
  }
  let samples = 0;
  const scouts = jobs.map((job) => ({ job, spans: job.search.scouts() }));
  samples += await fetchRound(o.target, scouts, smalls);
  const firsts = scouts.filter((x) => x.job.search.seen(x.spans)).map(({ job }) => ({ job, spans: job.search.first() }));
  samples += await fetchRound(o.target, firsts);
  for (const f of firsts) f.job.search.placeFirst(f.spans);
  for (;;) {
    const asks = firsts.map(({ job }) => ({ job, spans: job.search.next() })).filter((a) => a.spans.length > 0);
    if (asks.length === 0) break;
    samples += await fetchRound(o.target, asks);
    for (const a of asks) a.job.search.placeNext();
  }
  // What no stretch holds is fetched now too (new bytes, and edges left open): the sync would fetch it anyway, and a
  // guess of a later layer there (the container's whole-file mapping, the only layer left in a piece of the file when
  // its changed-block guess is dropped) would make the piece fail and sample every stretch in it.
  const rest = firsts.map(({ job }) => ({ job, spans: subtractSpans([{ start: 0, end: job.search.size }], job.search.stretches()) }));
  samples += await fetchRound(o.target, rest);
  const segments = firsts.flatMap(({ job: j }) => j.search.stretches().flatMap((x) => stretchSegments(j.t, j.s, x, j.source)));
  // A file not searched keeps its changed-block guess (nothing is dropped for it).
  const searched = new Set(firsts.map((f) => f.job));
  const kept = jobs.filter((j) => searched.has(j)).flatMap((j) => imageSpans(j.t, 0, j.search.size));
  return { segments, covered: mergeSpans(kept), files: firsts.length, samples };
}
