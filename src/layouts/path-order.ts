/**
 * The path order of a file table's entries, without a path string per entry:
 * a table of a live image's root tree lists 100,000 to 1,000,000 entries,
 * and a string of each one's whole path, made only to sort them, cost some
 * 100 bytes an entry at the peak of a walk. Only each directory's path is
 * made (as the prefix of its children's: "/usr/lib/"); an entry's path is
 * that prefix and its name, compared where they lie (the name in the
 * builder's buffer, name-list.ts: no string per name either).
 *
 * The order is exactly that of the joined paths compared as strings (UTF-16
 * code units): "/a-b" sorts before "/a/c", as '-' is before '/'.
 */
import { giveBack } from '../core/give-back.js';
import { NameList } from './name-list.js';

/**
 * Tables up to this many entries are sorted by a string of each entry's whole path (~60 bytes an entry, at most a
 * few MB at once), with the array's own sort (no function called per pair of entries): the comparison below,
 * cold in a sync's walk of a live image's 6,000 entries, took ~40 ms a table, ~15 ms so.
 */
const STRING_SORT_MAX = 65536;

/**
 * Entry indices in path order (stable: equal paths keep their order). Entry i's name is name i of `names` (its whole
 * path when it has no parent; a list of strings is copied into a NameList), `parent(i)` its parent's index or -1; a
 * parent comes before its children.
 */
export function pathOrder(list: NameList | readonly string[], parent: (i: number) => number, stringSortMax = STRING_SORT_MAX): Uint32Array {
  const names = list instanceof NameList ? list : NameList.from(list);
  const n = names.count;
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
    const path = p < 0 ? names.name(i) : prefix.get(p)! + names.name(i);
    prefix.set(i, path === '/' ? '/' : `${path}/`);
  }
  giveBack(isParent);
  if (n <= stringSortMax) {
    const order = byJoinedPaths(names, parent, prefix, n);
    if (order) return order;
  }
  const pre = (i: number) => {
    const p = parent(i);
    return p < 0 ? '' : prefix.get(p)!;
  };
  /** Code unit k of entry i's joined path (prefix `pi`, then its name). */
  const codeAt = (pi: string, i: number, k: number) => (k < pi.length ? pi.charCodeAt(k) : names.code(names.start(i) + k - pi.length));
  const compare = (a: number, b: number): number => {
    // Siblings (most pairs a sort compares): their names decide.
    if (parent(a) === parent(b) && parent(a) >= 0) return names.compare(a, b);
    const pa = pre(a);
    const pb = pre(b);
    if (pa === pb) return names.compare(a, b);
    // Decided inside the prefixes unless one is a prefix of the other.
    if (pa.length <= pb.length ? !pb.startsWith(pa) : !pa.startsWith(pb)) return pa < pb ? -1 : 1;
    const la = pa.length + names.length(a);
    const lb = pb.length + names.length(b);
    for (let k = Math.min(pa.length, pb.length); k < la && k < lb; k++) {
      const x = codeAt(pa, a, k);
      const y = codeAt(pb, b, k);
      if (x !== y) return x < y ? -1 : 1;
    }
    return la === lb ? 0 : la < lb ? -1 : 1;
  };
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => compare(a, b) || a - b);
}

/**
 * The order of `pathOrder` from the joined paths as strings, each followed by NUL and its index (fixed width): the
 * default sort compares them by UTF-16 code units, as the paths compare; a path that is a prefix of another sorts
 * first (NUL is below every code unit of a name), equal paths by index. Undefined when a name holds a NUL itself.
 */
function byJoinedPaths(names: NameList, parent: (i: number) => number, prefix: ReadonlyMap<number, string>, n: number): Uint32Array | undefined {
  const width = String(n).length;
  const keys = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const p = parent(i);
    const path = p < 0 ? names.name(i) : prefix.get(p)! + names.name(i);
    if (path.includes('\0')) return undefined;
    keys[i] = `${path}\0${String(i).padStart(width, '0')}`;
  }
  keys.sort();
  const order = new Uint32Array(n);
  for (let j = 0; j < n; j++) order[j] = Number(keys[j]!.slice(-width));
  return order;
}
