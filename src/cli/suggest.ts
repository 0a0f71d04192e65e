/**
 * "did you mean" for a mistyped command: the known name nearest in edit
 * distance (insertions, deletions, substitutions and swaps of two
 * neighbours cost 1), when it is near enough to be a typo. Pure.
 */

/** Optimal string alignment distance between a and b (both short: command names). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number) => d[i * cols + j]!;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      d[i * cols + j] = v;
    }
  }
  return at(a.length, b.length);
}

/** The closest of `names` to `word`, if within a third of its length (at least 1, at most 3 edits), or a name it is a prefix of. */
export function suggestName(word: string, names: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = editDistance(w, n);
    if (d < bestD) {
      best = n;
      bestD = d;
    }
  }
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3)));
  if (best !== undefined && bestD <= limit) return best;
  if (w.length >= 2) return names.find((n) => n.startsWith(w));
  return undefined;
}
