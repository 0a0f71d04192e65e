/**
 * walkTreeSorted (tree-sorted.ts) over directories read as columns
 * (lean-dir.ts): the same order, the same directories read at the same
 * turns, but each entry handed out as a LeanDir and an index, not as an
 * IsoEntry (`ls`'s table and `extract` of a whole image make no object
 * per file).
 */
import { LeanReader, type LeanDir } from './lean-dir.js';
import type { PendingDir, TreeWalk } from './tree.js';
import { sortFrame } from './tree-sorted.js';

/** Called in path order; a promise returned is awaited (backpressure). */
export interface LeanSink {
  /** Directory `d`'s own entry; `parent`: the path of its parent, undefined for the root. */
  dir(d: LeanDir, parent: string | undefined): Promise<void> | undefined;
  /** File or symlink `i` of `d` (its path: d.dir.path, "/" unless that is the root, and d.names[i]). */
  file(d: LeanDir, i: number): Promise<void> | undefined;
}

const ENTRY = 0, DIR = 1, SUBTREE = 2;

/** One directory's listing in key order (tree-sorted.ts Frame): `refs[i]` indexes d's files (ENTRY) or subdirectories (DIR, SUBTREE). */
interface LeanFrame {
  readonly d: LeanDir;
  readonly keys: string[];
  readonly refs: number[];
  readonly kinds: number[];
  /** Subdirectories read (their entry emitted), by index, until their subtree's turn. */
  readonly reads: (LeanDir | undefined)[];
  next: number;
}

function frameOf(d: LeanDir): LeanFrame {
  const { names, subdirs } = d;
  const files = names.length;
  // Arrays of their final length: grown from empty, they took several times the bytes in a walk of small directories.
  const n = files + 2 * subdirs.length;
  const keys = new Array<string>(n);
  const refs = new Array<number>(n);
  const kinds = new Array<number>(n);
  const reads = new Array<LeanDir | undefined>(subdirs.length);
  for (let i = 0; i < files; i++) {
    keys[i] = names[i]!;
    refs[i] = i;
    kinds[i] = ENTRY;
  }
  for (let i = 0, at = files; i < subdirs.length; i++, at += 2) {
    const name = subdirs[i]!.name;
    keys[at] = name;
    keys[at + 1] = `${name}/`;
    refs[at] = refs[at + 1] = i;
    kinds[at] = DIR;
    kinds[at + 1] = SUBTREE;
  }
  const frame = { d, keys, refs, kinds, reads, next: 0 };
  sortFrame(frame);
  return frame;
}

/** Walks `walk` (entries kept, a TransientReads source) from `rootDir` in path order. */
export async function walkLeanSorted(walk: TreeWalk, rootDir: PendingDir, sink: LeanSink): Promise<void> {
  const reader = new LeanReader(walk);
  const first = reader.read(rootDir);
  const top = first instanceof Promise ? await first : first;
  if (!top.hidden) await sink.dir(top, undefined);
  const stack: LeanFrame[] = [frameOf(top)];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const i = frame.next++;
    if (i >= frame.keys.length) {
      stack.pop();
      continue;
    }
    const kind = frame.kinds[i]!;
    const ref = frame.refs[i]!;
    if (kind === ENTRY) {
      const wait = sink.file(frame.d, ref);
      if (wait) await wait;
    } else if (kind === DIR) {
      const read = reader.read(frame.d.subdirs[ref]!);
      const d = read instanceof Promise ? await read : read; // no await where the window held the directory
      if (d.hidden) continue;
      frame.reads[ref] = d;
      const wait = sink.dir(d, frame.d.dir.path);
      if (wait) await wait;
    } else {
      const d = frame.reads[ref];
      if (!d) continue; // hidden
      frame.reads[ref] = undefined;
      stack.push(frameOf(d));
    }
  }
}
