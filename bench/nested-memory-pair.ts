/**
 * One pair of nested-memory-bench's sync part, kept on disk and synced on
 * demand (to profile a sync, or to compare builds on one size without the
 * whole bench):
 *
 *   node dist/bench/nested-memory-pair.js DIR FORMAT ENTRIES ROUNDS ROOT...
 *
 * makes DIR/FORMAT-ENTRIES-{1,2}.iso (as the bench does: release 2 rewrites
 * one file in 50) unless they exist, serves them from a local nginx, makes a
 * stock torrent of release 2 with that web seed, and syncs 1 -> 2 with the
 * isosync of each ROOT (a built checkout), ROUNDS times, order alternated,
 * printing peak RSS and CPU seconds. ISOSYNC_BENCH_PAIR_NODE_FLAGS (e.g.
 * "--trace-gc") runs them as `node --max-semi-space-size=2 FLAGS
 * bin/isosync` (the flags of its shebang, and these); the last sync's output
 * is left in DIR/last-sync.out.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { measure } from './delta/measure.js';
import { Nginx } from './delta/nginx.js';
import { sha256 } from './delta/host.js';
import { iso, LIVE_FORMATS, tree } from './nested-memory-bench.js';

const [dir, format, entriesArg, roundsArg, ...roots] = process.argv.slice(2) as [string, string, string, string, ...string[]];
const n = Number(entriesArg);
const f = LIVE_FORMATS.find((x) => x.format === format);
if (!f || !(n > 0) || roots.length === 0) throw new Error('usage: nested-memory-pair DIR FORMAT ENTRIES ROUNDS ROOT...');
const www = join(dir, 'www');
mkdirSync(www, { recursive: true });
const names = [1, 2].map((r) => `${format}-${n}-${r}.iso`);
for (const [k, name] of names.entries()) {
  if (existsSync(join(www, name))) continue;
  const t = join(dir, `tree-${k}`);
  spawnSync('rm', ['-rf', t]);
  tree(t, n, k + 1, 1000);
  const img = join(dir, `fs-${k}.img`);
  const [cmd, args] = f.make(t, img);
  const m = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`${cmd} failed: ${m.stderr.slice(-400)}`);
  iso(img, f.at, join(www, name), join(dir, 'stage'));
  spawnSync('rm', ['-rf', img, t]);
}
const nginx = await Nginx.start(join(dir, 'nginx'), www);
try {
  const tf = join(dir, 'time.txt');
  const torrent = join(dir, `${format}-${n}.torrent`);
  spawnSync('rm', ['-f', torrent]);
  await measure('mktorrent', ['-l', '18', '-w', `${nginx.baseUrl}/${names[1]}`, '-o', torrent, join(www, names[1]!)], tf);
  const want = await sha256(join(www, names[1]!));
  const out = join(dir, 'out.iso');
  for (let round = 0; round < Number(roundsArg); round++) {
    for (const root of round % 2 === 0 ? roots : [...roots].reverse()) {
      spawnSync('rm', ['-rf', out, join(dir, 'home')]);
      const flags = process.env['ISOSYNC_BENCH_PAIR_NODE_FLAGS']?.split(' ');
      const cmd = flags ? [process.execPath, '--max-semi-space-size=2', ...flags, join(root, 'bin', 'isosync')] : [join(root, 'bin', 'isosync')];
      const m = await measure(cmd[0]!, [...cmd.slice(1), 'sync', torrent, '--from', join(www, names[0]!), '-o', out, '--no-catalog', '--home', join(dir, 'home'), '--json'], tf);
      writeFileSync(join(dir, 'last-sync.out'), m.stdout + m.stderr);
      if ((await sha256(out)) !== want) throw new Error(`${root}: the sync's output differs from the target`);
      process.stdout.write(`${format} ${n} ${root.padEnd(28)} peak ${(m.peakKiB / 1024).toFixed(1)} MiB  CPU ${m.cpuSeconds.toFixed(2)} s  load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}\n`);
    }
  }
  spawnSync('rm', ['-rf', out, join(dir, 'home')]);
} finally {
  await nginx.stop();
}
