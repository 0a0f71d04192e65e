/**
 * The delta hints inside an isosync torrent's info dictionary
 * (`info["x-isosync"].hints`), so the infohash authenticates them. The
 * format is specified in docs/HINTS.md.
 *
 *   hints = { v: 1, sets: [ set, ... ] }
 *   set   = { from: <20-byte infohash>, runs: <bytes>, zeros: <bytes> }   build THIS image from `from`
 *         | { to:   <20-byte infohash>, runs: <bytes>, zeros: <bytes> }   build `to` from THIS image (rollback)
 *
 * `runs` lists CopyRuns of the image being built, sorted by target, as
 * unsigned LEB128 varints: (target - previous target end), zigzag(source -
 * previous source end), length. `zeros` lists spans of the image being built
 * that are all zero: (start - previous end), length. Bytes covered by neither
 * must be fetched. A hint is only a plan: every piece is still verified.
 *
 * An "up" set cannot name this torrent's own infohash (it is being computed),
 * hence the two key names. A rollback uses the "to" set of the newer torrent.
 */
import { IsosyncError } from '../errors.js';
import type { Span } from '../core/span.js';
import { spanBytes } from '../core/span.js';
import { runSpans, type CopyRun } from './runs.js';

export const HINTS_VERSION = 1;
/** Hints may take at most this fraction of the image (0.1%: hints must never cost more than they save; docs/HINTS.md section 7). */
export const HINT_BUDGET = 0.001;

export interface HintSet {
  /** 'from': build this torrent's image from `other`; 'to': build `other` from this torrent's image. */
  readonly direction: 'from' | 'to';
  /** The other image's infohash, 20 bytes. */
  readonly other: Uint8Array;
  readonly runs: readonly CopyRun[];
  readonly zeros: readonly Span[];
}

export interface Hints {
  readonly sets: readonly HintSet[];
}

/** Where varints go: bytes (Writer), or only their count (Counter, for the budget). */
interface VarintOut {
  uint(n: number): void;
  int(n: number): void;
}

function checkVarint(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new IsosyncError('INTERNAL', `Internal error: varint out of range: ${n}`);
}

/** Varints into a growing byte array (a safe integer takes at most 8 bytes). */
class Writer implements VarintOut {
  private bytes = new Uint8Array(4096);
  private length = 0;
  uint(n: number): void {
    checkVarint(n);
    if (this.length + 8 > this.bytes.length) {
      const more = new Uint8Array(this.bytes.length * 2);
      more.set(this.bytes.subarray(0, this.length));
      this.bytes = more;
    }
    while (n >= 0x80) {
      this.bytes[this.length++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.bytes[this.length++] = n;
  }
  int(n: number): void {
    this.uint(n >= 0 ? n * 2 : -n * 2 - 1);
  }
  done(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** The byte count a Writer would reach, without the bytes: fitBudget sizes the sets this way before encoding once. */
class Counter implements VarintOut {
  length = 0;
  uint(n: number): void {
    checkVarint(n);
    let k = 1;
    for (; n >= 0x80; k++) n = Math.floor(n / 0x80);
    this.length += k;
  }
  int(n: number): void {
    this.uint(n >= 0 ? n * 2 : -n * 2 - 1);
  }
}

class Reader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array, private readonly field: string) {}
  get more(): boolean {
    return this.at < this.bytes.length;
  }
  uint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.bytes[this.at++];
      if (b === undefined) throw bad(`${this.field} ends inside a number`);
      n += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(n)) break;
        return n;
      }
      scale *= 0x80;
    }
    throw bad(`${this.field} has a number too large at byte ${this.at}`);
  }
  int(): number {
    const z = this.uint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
}

function bad(msg: string): IsosyncError {
  return new IsosyncError('BAD_TORRENT', msg);
}

export function encodeRuns(runs: readonly CopyRun[]): Uint8Array {
  const w = new Writer();
  writeRuns(runs, w);
  return w.done();
}

function writeRuns(runs: readonly CopyRun[], w: VarintOut): void {
  let tEnd = 0;
  let sEnd = 0;
  for (const r of runs) {
    w.uint(r.target - tEnd);
    w.int(r.source - sEnd);
    w.uint(r.length);
    tEnd = r.target + r.length;
    sEnd = r.source + r.length;
  }
}

export function decodeRuns(bytes: Uint8Array, field: string): CopyRun[] {
  const r = new Reader(bytes, field);
  const runs: CopyRun[] = [];
  let tEnd = 0;
  let sEnd = 0;
  while (r.more) {
    const target = tEnd + r.uint();
    const source = sEnd + r.int();
    const length = r.uint();
    if (source < 0) throw bad(`${field} run ${runs.length} has a negative source offset ${source}`);
    if (length === 0) throw bad(`${field} run ${runs.length} has length 0`);
    runs.push({ target, source, length });
    tEnd = target + length;
    sEnd = source + length;
  }
  return runs;
}

export function encodeSpans(spans: readonly Span[]): Uint8Array {
  const w = new Writer();
  writeSpans(spans, w);
  return w.done();
}

function writeSpans(spans: readonly Span[], w: VarintOut): void {
  let end = 0;
  for (const s of spans) {
    w.uint(s.start - end);
    w.uint(s.end - s.start);
    end = s.end;
  }
}

export function decodeSpans(bytes: Uint8Array, field: string): Span[] {
  const r = new Reader(bytes, field);
  const spans: Span[] = [];
  let end = 0;
  while (r.more) {
    const start = end + r.uint();
    const len = r.uint();
    if (len === 0) throw bad(`${field} span ${spans.length} has length 0`);
    spans.push({ start, end: start + len });
    end = start + len;
  }
  return spans;
}

/** The bencodable value stored under info["x-isosync"].hints. */
export function encodeHints(hints: Hints): Record<string, unknown> {
  return {
    v: HINTS_VERSION,
    sets: hints.sets.map((s) => ({
      [s.direction]: s.other,
      runs: encodeRuns(s.runs),
      zeros: encodeSpans(s.zeros),
    })),
  };
}

/** Encoded size in bytes of a set's runs and zeros (what the budget counts). */
export function encodedSize(set: HintSet): number {
  const c = new Counter();
  writeRuns(set.runs, c);
  writeSpans(set.zeros, c);
  return c.length + 20 + 24;
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

/** A decoded dictionary: the strict parser gives Maps, bencode encoders take plain objects. */
function asDict(v: unknown): ((key: string) => unknown) | undefined {
  if (v instanceof Map) return (k) => v.get(k);
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && !isBytes(v)) return (k) => (v as Record<string, unknown>)[k];
  return undefined;
}

/**
 * Reads info["x-isosync"].hints as decoded by the torrent parser (byte
 * strings as Uint8Array). Unknown versions are ignored (returns undefined);
 * a malformed known version is an error that names the field.
 */
export function decodeHints(value: unknown, field = 'info.x-isosync.hints'): Hints | undefined {
  if (value === undefined) return undefined;
  const dict = asDict(value);
  if (!dict) throw bad(`${field} is not a dictionary`);
  if (dict('v') !== HINTS_VERSION) return undefined;
  const sets = dict('sets');
  if (!Array.isArray(sets)) throw bad(`${field}.sets is not a list`);
  return {
    sets: sets.map((raw, i): HintSet => {
      const f = `${field}.sets[${i}]`;
      const d = asDict(raw);
      if (!d) throw bad(`${f} is not a dictionary`);
      const direction = isBytes(d('from')) ? 'from' : isBytes(d('to')) ? 'to' : undefined;
      if (!direction) throw bad(`${f} has neither "from" nor "to"`);
      const other = d(direction) as Uint8Array;
      if (other.length !== 20) throw bad(`${f}.${direction} has length ${other.length}, expected 20`);
      const runs = d('runs');
      const zeros = d('zeros');
      if (!isBytes(runs)) throw bad(`${f}.runs is not a byte string`);
      if (zeros !== undefined && !isBytes(zeros)) throw bad(`${f}.zeros is not a byte string`);
      return { direction, other, runs: decodeRuns(runs, `${f}.runs`), zeros: zeros ? decodeSpans(zeros, `${f}.zeros`) : [] };
    }),
  };
}

/**
 * Shrinks sets to fit `budget` bytes in total by dropping their shortest runs
 * and zero spans first (they save the fewest bytes per hint byte).
 */
export function fitBudget(sets: readonly HintSet[], budget: number): HintSet[] {
  let out = sets.map((s) => ({ ...s, runs: [...s.runs], zeros: [...s.zeros] }));
  const total = () => out.reduce((n, s) => n + encodedSize(s), 0);
  let floor = 0;
  while (total() > budget) {
    floor = floor === 0 ? 1024 : floor * 2;
    out = out.map((s) => ({ ...s, runs: s.runs.filter((r) => r.length >= floor), zeros: s.zeros.filter((z) => z.end - z.start >= floor) }));
    if (out.every((s) => s.runs.length === 0 && s.zeros.length === 0)) break;
  }
  return out;
}

/** What `isosync info` shows of a torrent's hints: their size and, per set, its direction, runs and bytes. */
export function summarizeHints(hints: unknown, encodedBytes: number): Record<string, unknown> {
  let decoded: Hints | undefined;
  try {
    decoded = decodeHints(hints);
  } catch (e) {
    return { bytes: encodedBytes, error: (e as Error).message };
  }
  if (!decoded) return { bytes: encodedBytes, version: 'unknown' };
  return {
    bytes: encodedBytes,
    sets: decoded.sets.map((s) => ({
      direction: s.direction,
      infoHash: Buffer.from(s.other).toString('hex'),
      runs: s.runs.length,
      runBytes: spanBytes(runSpans(s.runs)),
      zeroBytes: spanBytes(s.zeros),
      encodedBytes: encodedSize(s),
    })),
  };
}
