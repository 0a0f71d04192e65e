/**
 * Seeded image pairs for the matcher's golden tests: an older image made of
 * "files" padded to 2048-byte sectors (random, zero, repeated), and a newer
 * one that keeps most of them in another order, edits some (replaced bytes,
 * insertions and deletions at odd offsets), drops some, repeats some and adds
 * new ones, with odd padding now and then (moves by offsets that are not
 * whole blocks). The same seed gives the same pair on every run.
 */
import { Rng, concat } from './random.js';

const SECTOR = 2048;

function pad(bytes: Uint8Array, to: number): Uint8Array {
  const n = Math.ceil(bytes.length / to) * to;
  return n === bytes.length ? bytes : concat(bytes, new Uint8Array(n - bytes.length));
}

function edit(rng: Rng, f: Uint8Array): Uint8Array {
  if (f.length < 16) return rng.bytes(f.length + 1);
  const at = rng.int(f.length);
  const len = 1 + rng.int(Math.min(5000, f.length - at));
  switch (rng.int(3)) {
    case 0:
      return concat(f.subarray(0, at), rng.bytes(len), f.subarray(at + len));
    case 1:
      return concat(f.subarray(0, at), rng.bytes(1 + rng.int(3000)), f.subarray(at));
    default:
      return concat(f.subarray(0, at), f.subarray(at + len));
  }
}

export function deltaPair(seed: number, files = 60, maxFile = 200_000): { older: Uint8Array; newer: Uint8Array } {
  const rng = new Rng(seed);
  const olderFiles: Uint8Array[] = [];
  for (let i = 0; i < files; i++) {
    const kind = rng.int(10);
    if (kind === 0 && olderFiles.length > 0) olderFiles.push(olderFiles[rng.int(olderFiles.length)]!);
    else if (kind === 1) olderFiles.push(new Uint8Array(1 + rng.int(maxFile)));
    else olderFiles.push(rng.bytes(1 + rng.int(maxFile)));
  }
  const older = concat(...olderFiles.map((f) => pad(f, SECTOR)));
  const order = olderFiles.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const parts: Uint8Array[] = [];
  for (const i of order) {
    const f = olderFiles[i]!;
    const k = rng.int(20);
    let out: Uint8Array;
    if (k < 13) out = f;
    else if (k < 16) out = edit(rng, f);
    else if (k < 17) continue;
    else if (k < 18) out = concat(f, f.subarray(0, rng.int(f.length)));
    else out = rng.bytes(1 + rng.int(maxFile));
    parts.push(rng.int(8) === 0 ? concat(out, rng.bytes(1 + rng.int(700))) : pad(out, SECTOR));
  }
  return { older, newer: concat(...parts) };
}
