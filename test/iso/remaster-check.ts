/**
 * Checks a remastered image against the tree it was made from, with the
 * Debian tools as oracles: `xorriso -find` and `isoinfo -l -R [-J]` list
 * exactly the tree's paths, `bsdtar -xf` extracts it and `diff -r` finds no
 * difference, `xorriso -check_media` reads every block. Each returns a
 * problem description, or undefined when the tool agrees.
 */
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnTool } from '../helpers/env.js';

function run(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnTool(cmd, args, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Every path of `dir` as '/a/b' (the root '/'), sorted, without following symlinks; an explicit stack, no recursion. */
export function treePaths(dir: string): string[] {
  const out = ['/'];
  const stack: [string, string][] = [[dir, '']];
  while (stack.length > 0) {
    const [disk, rel] = stack.pop()!;
    for (const n of readdirSync(disk)) {
      const p = `${rel}/${n}`;
      out.push(p);
      if (lstatSync(join(disk, n)).isDirectory()) stack.push([join(disk, n), p]);
    }
  }
  return out.sort();
}

function firstDifference(a: string[], b: string[]): string | undefined {
  const sa = new Set(a), sb = new Set(b);
  const missing = b.filter((p) => !sa.has(p));
  const extra = a.filter((p) => !sb.has(p));
  if (missing.length === 0 && extra.length === 0) return undefined;
  return `${missing.length} missing (${missing.slice(0, 3).join(', ')}), ${extra.length} extra (${extra.slice(0, 3).join(', ')})`;
}

export function xorrisoFind(image: string, tree: string): string | undefined {
  const r = run('xorriso', ['-indev', image, '-find', '/']);
  if (r.status !== 0) return `xorriso -find failed: ${r.stderr.slice(-500)}`;
  const listed = r.stdout.split('\n').filter((l) => l.startsWith("'")).map((l) => l.slice(1, -1).replace(/'"'"'/g, "'"));
  const d = firstDifference(listed.sort(), treePaths(tree));
  return d && `xorriso -find: ${d}`;
}

function isoinfoPaths(image: string, flags: string[]): string[] | string {
  const r = run('isoinfo', ['-l', ...flags, '-i', image]);
  if (r.status !== 0) return `isoinfo ${flags.join(' ')} failed: ${r.stderr.slice(-500)}`;
  const paths: string[] = ['/'];
  let dir = '/';
  for (const line of r.stdout.split('\n')) {
    const m = /^Directory listing of (.*)$/.exec(line);
    if (m) {
      dir = m[1]!;
      continue;
    }
    const e = /^\S{10}\s+\d+\s+\d+\s+\d+\s+\d+ \w{3} \s?\d+ \d{4} \[\s*\d+ \d+\]  (.*?) ?$/.exec(line);
    if (!e) continue;
    let name = e[1]!;
    if (name === '.' || name === '..') continue;
    const arrow = name.indexOf(' -> ');
    if (arrow >= 0 && line.startsWith('l')) name = name.slice(0, arrow);
    paths.push(`${dir}${name}`.replace(/\/$/, '') || '/');
  }
  return paths.sort();
}

/**
 * isoinfo -l -R lists the Rock Ridge tree (every image remaster writes has
 * one); with Joliet, isoinfo -l -J lists the Joliet tree, compared on the
 * names it can print (ASCII, at most 64 characters: isoinfo converts UCS-2
 * to an 8-bit charset only).
 */
export function isoinfoList(image: string, tree: string, joliet: boolean): string | undefined {
  const all = treePaths(tree);
  const rr = isoinfoPaths(image, ['-R']);
  if (typeof rr === 'string') return rr;
  const d = firstDifference(rr, all);
  if (d) return `isoinfo -l -R: ${d}`;
  if (!joliet) return undefined;
  const jol = isoinfoPaths(image, ['-J']);
  if (typeof jol === 'string') return jol;
  // Every printable path is listed as it is, and as many entries as the tree has.
  const printable = (p: string) => /^[\x20-\x7e]*$/.test(p) && p.split('/').every((c) => c.length <= 64);
  const listed = new Set(jol);
  const missing = all.filter(printable).filter((p) => !listed.has(p));
  if (missing.length > 0 || jol.length !== all.length) return `isoinfo -l -J: ${jol.length} entries for ${all.length}, missing ${missing.slice(0, 3).join(', ')}`;
  return undefined;
}

export function bsdtarDiff(image: string, tree: string): string | undefined {
  const out = mkdtempSync(join(tmpdir(), 'isosync-bsdtar-'));
  try {
    const x = run('bsdtar', ['-xf', image, '-C', out]);
    if (x.status !== 0 || x.stderr.trim() !== '') return `bsdtar -xf: ${x.stderr.slice(-500)}`;
    const d = run('diff', ['-r', '--no-dereference', out, tree]);
    if (d.status !== 0) return `diff -r: ${(d.stdout + d.stderr).slice(0, 500)}`;
    return undefined;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export function checkMedia(image: string): string | undefined {
  const r = run('xorriso', ['-indev', image, '-check_media', '--']);
  const region = /Media region :\s+\d+ ,\s+\d+ , (\S+)/.exec(r.stdout + r.stderr);
  if (r.status !== 0 || !region || region[1] !== '+') return `xorriso -check_media: ${(r.stdout + r.stderr).slice(-500)}`;
  if (/Media region :.*[-0]\s/.test(r.stdout + r.stderr) && /bad|unreadable/i.test(r.stdout + r.stderr)) return 'xorriso -check_media found bad blocks';
  return undefined;
}

/** All four oracles; the problems found. */
export function checkImage(image: string, tree: string, joliet: boolean): string[] {
  return [xorrisoFind(image, tree), isoinfoList(image, tree, joliet), bsdtarDiff(image, tree), checkMedia(image)].filter((x): x is string => x !== undefined);
}

/** `bsdtar -xf image -C dir` (the way a user makes TREE from an image). */
export function extractTo(image: string, dir: string): void {
  const r = run('bsdtar', ['-xf', image, '-C', dir]);
  if (r.status !== 0) throw new Error(`bsdtar -xf ${image}: ${r.stderr}`);
}
