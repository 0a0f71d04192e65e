/**
 * Helpers for the layout tests: a small tree with every kind of entry, built
 * into real filesystem images by the real tools, and a reader for layouts.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LIMITS, MetadataBudget, type Layout, type LayoutReader } from '../../src/layouts/layout.js';
import { FileSource } from '../../src/store/file-source.js';
import type { ByteSource } from '../../src/store/byte-source.js';
import { mulberry32 } from '../helpers/random.js';
import { spawnTool } from '../helpers/env.js';

/** Text-like, compressible bytes from a seed. */
export function textBytes(seed: number, n: number): Uint8Array {
  const r = mulberry32(seed);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'init', 'main', 'call', 'ret', 'push', 'pop', 'libc', 'free'];
  const parts: string[] = [];
  let len = 0;
  while (len < n) {
    const w = words[Math.floor(r() * words.length)]! + (r() < 0.2 ? String(Math.floor(r() * 1000)) : '') + ' ';
    parts.push(w);
    len += w.length;
  }
  return new TextEncoder().encode(parts.join('')).subarray(0, n);
}

export function randomBytes(seed: number, n: number): Uint8Array {
  const r = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

/** A tree with large and small files (data blocks, fragments, inline tails), a long name, a symlink, an empty file and deep directories. */
export function makeTree(root: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>([
    ['/usr/bin/big', textBytes(1, 700_000)],
    ['/usr/bin/random.bin', randomBytes(2, 300_001)],
    ['/usr/lib/x86_64-linux-gnu/libssl.so.3', textBytes(3, 150_000)],
    ['/usr/share/doc/a/copyright', textBytes(4, 1200)],
    ['/usr/share/doc/b/copyright', textBytes(5, 900)],
    ['/usr/share/doc/c/changelog.gz', randomBytes(6, 1500)],
    ['/etc/hostname', new TextEncoder().encode('debian\n')],
    ['/etc/empty', new Uint8Array(0)],
    ['/var/lib/dpkg/status', new TextEncoder().encode('Package: a\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n')],
    ['/a/b/c/d/e/f/deep file with a long name.txt', textBytes(7, 5000)],
  ]);
  for (const [p, b] of files) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), b);
  }
  symlinkSync('../usr/bin/big', join(root, 'etc/link'));
  return files;
}

export function run(cmd: string, args: string[]): string {
  const r = spawnTool(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

export async function readLayout(reader: LayoutReader, path: string): Promise<{ layout: Layout; src: FileSource }> {
  const src = await FileSource.open(path);
  return { layout: await reader.read(src, path, DEFAULT_LIMITS, new MetadataBudget(DEFAULT_LIMITS.metadataBytes)), src };
}

export async function readFrom(reader: LayoutReader, src: ByteSource, name = 'x'): Promise<Layout> {
  return reader.read(src, name, DEFAULT_LIMITS, new MetadataBudget(64 * 1024 * 1024));
}

export const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
