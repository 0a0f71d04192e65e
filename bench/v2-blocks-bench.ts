/**
 * `LIVE_SCALE=4 npm run bench -- v2-blocks`: what per-16 KiB verification of
 * guesses (BEP 52 leaf hashes, delta/block-verify.ts) saves. The live-image
 * pair of the live bench (fixtures/make-live.sh; LIVE_PAIR=DIR reuses one),
 * and the fixture release pair, each synced 1 -> 2 `--from` the old image
 * from an `isosync seed` of the new one (a peer: web seeds give no leaf
 * hashes), with a v1 torrent and a v2 one of the same piece length, in the
 * same run. Printed: bytes fetched, and `guessedRightFetchedBytes` (bytes a
 * guess had right, by 16 KiB block, fetched anyway because their piece
 * failed or was sampled) with its cut from v1 to v2.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { have } from './delta/host.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'isosync');
const out = (s = '') => process.stdout.write(`${s}\n`);
const ENV = { ...process.env, ISOSYNC_DHT_BOOTSTRAP: '' };

interface Result {
  fetchedBytes: number;
  guessedRightFetchedBytes: number;
}

export async function run(): Promise<void> {
  const missing = ['mksquashfs', 'mkfs.erofs', 'xorriso'].filter((t) => !have(t));
  if (missing.length > 0) {
    out(`skipped: needs ${missing.join(', ')}`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'isosync-v2-blocks-'));
  try {
    const pairDir = process.env.LIVE_PAIR ?? work;
    if (!existsSync(join(pairDir, 'live', 'live-erofs-2.iso'))) {
      const r = spawnSync('bash', [join(ROOT, 'fixtures', 'make-live.sh'), pairDir, String(Number(process.env.LIVE_SCALE ?? 60))], { stdio: 'ignore' });
      if (r.status !== 0) {
        out('skipped: the live pair could not be made');
        return;
      }
    }
    const releases = join(ROOT, 'fixtures', 'releases');
    const pairs: [string, string, string][] = [
      ['fixture releases', join(releases, 'distro-1.00.iso'), join(releases, 'distro-1.01.iso')],
      ['live, xz squashfs', join(pairDir, 'live', 'live-1.iso'), join(pairDir, 'live', 'live-2.iso')],
      ['live, lz4hc EROFS', join(pairDir, 'live', 'live-erofs-1.iso'), join(pairDir, 'live', 'live-erofs-2.iso')],
    ];
    out('pair                 piece     v1 fetched   v2 fetched   v1 guessed-right fetched   v2 guessed-right fetched   cut');
    for (const [name, from, to] of pairs) {
      for (const piece of ['256K', '1M']) {
        const v1 = await syncOnce(work, from, to, piece, 'v1');
        const v2 = await syncOnce(work, from, to, piece, 'v2');
        const cut = v1.guessedRightFetchedBytes > 0 ? `${(100 * (1 - v2.guessedRightFetchedBytes / v1.guessedRightFetchedBytes)).toFixed(1)} %` : 'n/a';
        out(`${name.padEnd(20)} ${piece.padEnd(6)} ${String(v1.fetchedBytes).padStart(12)} ${String(v2.fetchedBytes).padStart(12)} ${String(v1.guessedRightFetchedBytes).padStart(26)} ${String(v2.guessedRightFetchedBytes).padStart(26)}   ${cut}`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Publishes `to` (v1 or v2 at `piece`), seeds it, syncs it --from `from` through the seed; the sync's report. */
async function syncOnce(work: string, from: string, to: string, piece: string, mode: 'v1' | 'v2'): Promise<Result> {
  const dir = mkdtempSync(join(work, `${mode}-`));
  mkdirSync(join(dir, 'out'));
  const torrent = join(dir, 't.torrent');
  const pub = spawnSync(BIN, ['publish', to, '--product', 'p', '--release', '2', '--home', join(dir, 'pub'), '-o', torrent, '--piece-length', piece, ...(mode === 'v2' ? ['--v2'] : [])], { env: ENV, encoding: 'utf8' });
  if (pub.status !== 0) throw new Error(`publish failed: ${pub.stderr}`);
  const seed = spawn(BIN, ['seed', torrent, to, '--port', '0', '--home', join(dir, 'pub'), '--no-dht', '--no-catalog'], { env: ENV, stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let text = '';
      seed.stdout.setEncoding('utf8').on('data', (d: string) => {
        text += d;
        const m = / on 127\.0\.0\.1:(\d+)/.exec(text);
        if (m) resolve(Number(m[1]));
      });
      seed.on('exit', () => reject(new Error('isosync seed exited')));
    });
    const args = ['sync', torrent, '--peer', `127.0.0.1:${port}`, '--from', from, '--no-catalog', '--no-dht', '--home', join(dir, 'home'), '-o', join(dir, 'out', 'x.iso'), '--json'];
    const r = await new Promise<string>((resolve, reject) => {
      const c = spawn(BIN, args, { env: ENV, stdio: ['ignore', 'pipe', 'ignore'] });
      let s = '';
      c.stdout.setEncoding('utf8').on('data', (d: string) => (s += d));
      c.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`sync exited ${code}`))));
    });
    if (!readFileSync(join(dir, 'out', 'x.iso')).equals(readFileSync(to))) throw new Error('the synced image differs');
    const { fetchedBytes, guessedRightFetchedBytes } = JSON.parse(r) as Result;
    return { fetchedBytes, guessedRightFetchedBytes };
  } finally {
    seed.kill('SIGINT');
  }
}
