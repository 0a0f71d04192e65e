/**
 * Selecting entries by path or glob: `*` and `?` match within one path
 * component, `**` matches across components; a pattern is anchored at the
 * root (a missing leading '/' is implied); a selected directory brings its
 * whole subtree. Pure: no I/O.
 */
import { IsosyncError } from '../errors.js';
import type { IsoEntry } from './entry.js';

/** Compiles one pattern to a RegExp over entry paths. */
export function globToRegExp(pattern: string): RegExp {
  let p = pattern.startsWith('/') ? pattern : `/${pattern}`;
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      // "/**/" also matches a single "/" (zero components)
      if (p[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/**
 * The entries selected by `patterns` (all entries when none), in path
 * order. A pattern that matches nothing is an error naming it.
 */
export function selectEntries<E extends Pick<IsoEntry, 'path'>>(entries: readonly E[], patterns: readonly string[], imageName: string): E[] {
  if (patterns.length === 0) return [...entries];
  const roots = new Set<string>();
  for (const pat of patterns) {
    const re = globToRegExp(pat);
    let hit = false;
    for (const e of entries) {
      if (re.test(e.path)) {
        roots.add(e.path);
        hit = true;
      }
    }
    if (!hit) throw new IsosyncError('NOT_FOUND', `Cannot select ${JSON.stringify(pat)} in ${JSON.stringify(imageName)}: no entry matches`, { pattern: pat });
  }
  if (roots.has('/')) return [...entries];
  // An entry is selected when it or one of its ancestors is (only directories have descendants).
  return entries.filter((e) => {
    for (let p = e.path; p.length > 1; p = p.slice(0, Math.max(1, p.lastIndexOf('/')))) if (roots.has(p)) return true;
    return false;
  });
}
