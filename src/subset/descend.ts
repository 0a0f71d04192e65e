/**
 * Which directories of an image to read when only some files are wanted:
 * the directories on the paths to what `PATH_OR_GLOB` patterns can match
 * (the glob rules of iso/select.ts: `*` and `?` within one component, `**`
 * across components, anchored at the root, a matched directory brings its
 * subtree). A directory is read when a pattern could match it, something
 * below it, or one of its ancestors. Pure: no I/O.
 *
 * Each pattern runs as a small automaton over path components (a set of
 * positions in the pattern; `**` stays where it is or moves on), so the cost
 * is components x pattern length, with no backtracking.
 */

type Part = { readonly kind: 'any-depth' } | { readonly kind: 'one'; readonly re: RegExp };

/** The components of a pattern: `**` (any number of components) or a one-component glob. */
export function patternParts(pattern: string): Part[] {
  let p = pattern.startsWith('/') ? pattern : `/${pattern}`;
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p
    .split('/')
    .filter((c) => c.length > 0)
    .map((c): Part => {
      // A "**" inside a component may cross components (iso/select.ts): it reaches any depth.
      if (c.includes('**')) return { kind: 'any-depth' };
      let re = '';
      for (const ch of c) re += ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      return { kind: 'one', re: new RegExp(`^${re}$`, 's') };
    });
}

/** Positions reachable without consuming a component (`**` may match none). */
function closure(parts: readonly Part[], states: Set<number>): Set<number> {
  const out = new Set<number>();
  const todo = [...states];
  while (todo.length > 0) {
    const i = todo.pop()!;
    if (out.has(i)) continue;
    out.add(i);
    if (i < parts.length && parts[i]!.kind === 'any-depth') todo.push(i + 1);
  }
  return out;
}

/** Whether `dir` (components from the root) must be read for `parts`: on the way to a match, a match, or below one. */
function mayHold(parts: readonly Part[], dir: readonly string[]): boolean {
  let states = closure(parts, new Set([0]));
  for (const name of dir) {
    // An ancestor (or the directory itself) matched: its whole subtree is selected.
    if (states.has(parts.length)) return true;
    const next = new Set<number>();
    for (const i of states) {
      const part = parts[i];
      if (!part) continue;
      if (part.kind === 'any-depth') next.add(i);
      else if (part.re.test(name)) next.add(i + 1);
    }
    if (next.size === 0) return false;
    states = closure(parts, next);
  }
  return states.size > 0;
}

/** The `descend` test of iso's reader (ReadIsoOptions.descend) for `patterns`; every directory when there are none. */
export function descendFor(patterns: readonly string[]): (dirPath: string) => boolean {
  if (patterns.length === 0) return () => true;
  const compiled = patterns.map(patternParts);
  return (dirPath) => {
    const comps = dirPath.split('/').filter((c) => c.length > 0);
    return compiled.some((parts) => mayHold(parts, comps));
  };
}
