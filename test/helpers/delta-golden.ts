/**
 * Digests of what the matcher and the hints produce for the seeded pairs of
 * delta-pairs.ts, computed through the modules under `srcRoot` (a dist/src
 * folder): the golden test compares this tree's digests with the ones an
 * earlier build gave, so a change that makes the matcher faster cannot
 * change a torrent's hints (or the pieces hashed in the matcher's read).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deltaPair } from './delta-pairs.js';

/** The pairs: seed, files, largest file (bytes). Sizes from ~50 KiB to ~7 MiB, so reads cross the matcher's 1 MiB windows. */
export const GOLDEN_PAIRS: readonly (readonly [number, number, number])[] = [
  [1, 60, 200_000],
  [2, 60, 200_000],
  [3, 80, 150_000],
  [4, 200, 5_000],
  [5, 30, 400_000],
];

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex').slice(0, 16);

export async function goldenDigests(srcRoot: string): Promise<string[]> {
  const { matchBothWays } = await import(join(srcRoot, 'delta/two-way.js'));
  const { buildHints } = await import(join(srcRoot, 'delta/hints.js'));
  const { encodeBencode } = await import(join(srcRoot, 'torrent/bencode-encode.js'));
  const { FileSource } = await import(join(srcRoot, 'store/file-source.js'));
  const { PieceStream } = await import(join(srcRoot, 'library/piece-stream.js'));
  const dir = mkdtempSync(join(tmpdir(), 'isosync-golden-'));
  const out: string[] = [];
  try {
    for (const [seed, files, maxFile] of GOLDEN_PAIRS) {
      const { older, newer } = deltaPair(seed, files, maxFile);
      const o = join(dir, `old-${seed}.iso`);
      const n = join(dir, `new-${seed}.iso`);
      writeFileSync(o, older);
      writeFileSync(n, newer);
      const stream = new PieceStream(newer.length, 32 * 1024);
      const ns = await FileSource.open(n);
      const os = await FileSource.open(o);
      const both = await matchBothWays(ns, os, { onNewerBytes: stream.update });
      await ns.close();
      await os.close();
      const hints = await buildHints(n, [{ infoHash: '11'.repeat(20), release: '1', imagePath: o }]);
      out.push(`${seed}: from ${sha(JSON.stringify(both.from))} to ${sha(JSON.stringify(both.to))} pieces ${sha(stream.pieces() ?? 'none')} hints ${sha(encodeBencode(hints))}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
