/**
 * One size syntax for every option that takes bytes or bytes per second
 * (--piece-length, --min-size, --download-limit, --upload-limit): a whole
 * number of bytes, or a number with a binary unit, as curl and aria2c read
 * them: `500k`, `5M`, `5MiB`, `1.5G`, `2T` (k = 1024). `B` and `iB` after the
 * letter change nothing; rates may end in `/s`. Pure.
 */
import { IsosyncError } from '../errors.js';

const UNIT: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Parses SIZE for option `name`; throws BAD_ARGUMENT naming the option and the value. */
export function parseSize(name: string, text: string, opts: { min?: number; rate?: boolean } = {}): number {
  const t = text.trim();
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kKmMgGtT])(?:i?[bB])?|[bB])?(\/s)?$/.exec(t);
  if (!m || (m[3] !== undefined && !opts.rate)) {
    throw new IsosyncError('BAD_ARGUMENT', `Invalid ${name} ${JSON.stringify(text)}: not a size (examples: 65536, 500k, 5M, 5MiB, 1.5G)`, { option: name, value: text });
  }
  const n = Math.floor(Number(m[1]) * UNIT[(m[2] ?? '').toLowerCase()]!);
  if (!Number.isSafeInteger(n)) throw new IsosyncError('BAD_ARGUMENT', `Invalid ${name} ${JSON.stringify(text)}: too large`, { option: name, value: text });
  const min = opts.min ?? 0;
  if (n < min) throw new IsosyncError('BAD_ARGUMENT', `Invalid ${name} ${JSON.stringify(text)}: must be at least ${min} bytes`, { option: name, value: text });
  return n;
}

/** parseSize for an optional option value. */
export function sizeOption(name: string, text: string | undefined, opts: { min?: number; rate?: boolean } = {}): number | undefined {
  return text === undefined ? undefined : parseSize(name, text, opts);
}
