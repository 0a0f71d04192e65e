/**
 * The path order of a file table's entries, without a path string per entry:
 * a table of a live image's root tree lists 100,000 to 1,000,000 entries,
 * and a string of each one's whole path, made only to sort them, cost some
 * 100 bytes an entry at the peak of a walk. Only each directory's path is
 * made (as the prefix of its children's: "/usr/lib/"); an entry's path is
 * that prefix and its name, compared where they lie.
 *
 * The order is exactly that of the joined paths compared as strings (UTF-16
 * code units): "/a-b" sorts before "/a/c", as '-' is before '/'.
 */

/** Compares prefix `pa` + name `na` with `pb` + `nb` as the joined strings would compare (-1, 0, 1). */
function compareJoined(pa: string, na: string, pb: string, nb: string): number {
  if (pa === pb) return na < nb ? -1 : na > nb ? 1 : 0;
  // Decided inside the prefixes unless one is a prefix of the other.
  if (pa.length <= pb.length ? !pb.startsWith(pa) : !pa.startsWith(pb)) return pa < pb ? -1 : 1;
  // One prefix holds the other: compare the rest of the longer one's prefix and its name with the shorter one's name.
  const swap = pa.length > pb.length;
  const short = swap ? nb : na;
  const restPrefix = swap ? pa.slice(pb.length) : pb.slice(pa.length);
  const restName = swap ? na : nb;
  const lx = short.length;
  const ly = restPrefix.length + restName.length;
  for (let i = 0; i < lx && i < ly; i++) {
    const x = short.charCodeAt(i);
    const y = i < restPrefix.length ? restPrefix.charCodeAt(i) : restName.charCodeAt(i - restPrefix.length);
    if (x !== y) return (x < y ? -1 : 1) * (swap ? -1 : 1);
  }
  return lx === ly ? 0 : (lx < ly ? -1 : 1) * (swap ? -1 : 1);
}

/**
 * Entry indices in path order (stable: equal paths keep their order). `names[i]` is entry i's name (its whole
 * path when it has no parent), `parent(i)` its parent's index or -1; a parent comes before its children.
 */
export function pathOrder(names: readonly string[], parent: (i: number) => number): Uint32Array {
  const n = names.length;
  const isParent = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = parent(i);
    if (p >= 0) isParent[p] = 1;
  }
  /** Per directory: its path and '/', the prefix of its children's paths ("/" for the root). */
  const prefix = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    if (!isParent[i]) continue;
    const p = parent(i);
    const path = p < 0 ? names[i]! : prefix.get(p)! + names[i]!;
    prefix.set(i, path === '/' ? '/' : `${path}/`);
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const pre = (i: number) => {
    const p = parent(i);
    return p < 0 ? '' : prefix.get(p)!;
  };
  return order.sort((a, b) => compareJoined(pre(a), names[a]!, pre(b), names[b]!) || a - b);
}
