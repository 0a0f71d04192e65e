/**
 * `npm run bench -- erofs-reencode`: the re-encoding of changed lz4hc EROFS
 * clusters (delta/reencoded-clusters.ts) alone, on two EROFS images given as
 * EROFS_PAIR=OLD.erofs,NEW.erofs (e.g. /LiveOS/squashfs.img of the live
 * bench pair, extracted), the new one read as if it were remote (from
 * memory), and the main thread's own CPU. EROFS_WORKERS=0,1 alternates rounds without and with a worker
 * thread. Prints the phase's CPU and wall per round, the clusters kept, and
 * a digest of every guess and stored cluster, so that two builds can be
 * compared for identical output as well as for time.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { erofsReader } from '../src/layouts/erofs/read.js';
import { DEFAULT_LIMITS, MetadataBudget } from '../src/layouts/layout.js';
import type { NestedImage } from '../src/layouts/nested.js';
import { reencodeChangedClusters } from '../src/delta/reencoded-clusters.js';
import { ReencodedStore } from '../src/delta/reencoded-store.js';
import { MemorySource } from '../src/store/byte-source.js';
import { FileSource } from '../src/store/file-source.js';
import { BlockCache } from '../src/store/block-cache.js';

const out = (s = '') => process.stdout.write(`${s}\n`);

/**
 * CPU seconds of this process's main thread alone (Linux: /proc/self/task/PID/stat, in clock ticks), NaN elsewhere. With
 * a worker, the phase's wall on an idle machine is about the larger of the two threads' CPU: this one shows it under load.
 */
function mainThreadCpu(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

export async function run(): Promise<void> {
  let pair = process.env.EROFS_PAIR;
  let tmp: string | undefined;
  if (!pair) {
    // Without a pair given: the committed live fixtures' EROFS images, taken out of their ISOs with isosync's own extract.
    const root = fileURLToPath(new URL('../..', import.meta.url));
    tmp = mkdtempSync(join(tmpdir(), 'isosync-erofs-reencode-'));
    const images = ['1', '2'].map((v) => {
      const dir = join(tmp!, v);
      const r = spawnSync(join(root, 'bin', 'isosync'), ['extract', join(root, 'fixtures', 'live', `live-erofs-${v}.iso`), '-o', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) throw new Error(`isosync extract failed: ${String(r.stderr).trim()}`);
      return join(dir, 'LiveOS', 'squashfs.img');
    });
    pair = images.join(',');
    out('EROFS_PAIR not set: the committed fixtures (fixtures/live/live-erofs-1.iso -> 2, 3.7 MB; set EROFS_PAIR for a larger pair)');
  }
  try {
    await measure(pair);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

async function measure(pair: string): Promise<void> {
  const [a, b] = pair.split(',') as [string, string];
  const src = await FileSource.open(a);
  const tgt = new MemorySource(readFileSync(b));
  const read = async (s: FileSource | MemorySource, name: string): Promise<NestedImage> => ({
    path: '/fs.erofs',
    depth: 1,
    base: 0,
    layout: await erofsReader.read(s, name, DEFAULT_LIMITS, new MetadataBudget(DEFAULT_LIMITS.metadataBytes)),
    toImage: (start, end) => [{ start, end }],
  });
  const s = await read(src, 'old');
  const t = await read(tgt, 'new');
  const rounds = Number(process.env.EROFS_ROUNDS ?? 3);
  // EROFS_WORKERS=0,1: alternate rounds without and with the worker thread (default: the sync's own choice).
  const workers = process.env.EROFS_WORKERS?.split(',').map(Number) ?? [undefined];
  for (let i = 0; i < rounds * workers.length; i++) {
    const w = workers[i % workers.length];
    const store = new ReencodedStore();
    const c0 = process.cpuUsage();
    const m0 = mainThreadCpu();
    const w0 = performance.now();
    // The old image through a block cache, as a sync reads its local images (sync/prepare.ts).
    const r = await reencodeChangedClusters({ targets: [t], sources: [{ nested: [s], bytes: new BlockCache(src), index: 1 }], target: tgt, store, storeIndex: 2, ...(w !== undefined ? { workers: w } : {}) });
    const wall = (performance.now() - w0) / 1000;
    const c = process.cpuUsage(c0);
    const main = mainThreadCpu() - m0;
    const h = createHash('sha256');
    for (const g of r.guesses) h.update(`${g.start},${g.end},${g.source},${g.sourceOffset};`);
    h.update(await store.read(0, store.size));
    store.close();
    out(`round ${Math.floor(i / workers.length) + 1}${w !== undefined ? `, ${w} worker${w === 1 ? '' : 's'}` : ''}: ${wall.toFixed(2)} s wall, ${((c.user + c.system) / 1e6).toFixed(2)} s CPU (process; main thread ${main.toFixed(2)} s), ${r.kept} kept (${r.resynced} resynced), ${r.fetched} fetched, ${r.files} files (${r.inWorker} chains in the worker), digest ${h.digest('hex').slice(0, 16)}, load ${loadavg()[0]!.toFixed(1)}`);
  }
  await src.close();
}
