/**
 * Kill-and-resume soak: a delta sync from a rate-limited nginx web seed
 * (`limit_rate`, per connection), killed with SIGKILL at KILLS random
 * moments between 0.2 s and 8 s after it starts, each time run again on the
 * same .part, then run to the end. It checks what a user is promised: the
 * image is bit-identical, the local source image is unchanged, and the
 * bytes nginx sent over all the runs (its own access log, $body_bytes_sent)
 * stay within 1.05 x one clean sync of the same delta, measured first in the
 * same run. Bytes received but not yet verified when a run is killed are the
 * ones a resume fetches again.
 *
 * The pair: OLD is SIZE_MIB of seeded random bytes, NEW the same with every
 * other MiB replaced, so half of it is fetched; 256 KiB pieces; the torrent
 * names the nginx URL as its web seed and the sync gets --from OLD. The rate
 * is scaled down until the clean sync lasts longer than all the killed runs
 * together (with a margin), so every kill lands inside the transfer.
 *
 *   ISOSYNC_BENCH_SOAK_KILLS   kills (default 20)
 *   ISOSYNC_BENCH_SOAK_SEED    seed of the kill moments and the data (default 13)
 *   ISOSYNC_BENCH_SOAK_MIB     image size in MiB (default 32)
 *   ISOSYNC_BENCH_SOAK_RATE    nginx limit_rate to start from (default 2m)
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTorrent } from '../src/torrent/create.js';
import { hashPieces } from '../src/torrent/hash-pieces.js';
import { BIN, hasTool, tempDir } from '../test/helpers/env.js';
import { mulberry32 } from '../test/helpers/random.js';
import { Nginx } from './delta/nginx.js';

const KILLS = Number(process.env['ISOSYNC_BENCH_SOAK_KILLS'] ?? 20);
const SEED = Number(process.env['ISOSYNC_BENCH_SOAK_SEED'] ?? 13);
const SIZE_MIB = Number(process.env['ISOSYNC_BENCH_SOAK_MIB'] ?? 32);
const START_RATE_KIB = parseRate(process.env['ISOSYNC_BENCH_SOAK_RATE'] ?? '2m');
const MIN_KILL_S = 0.2;
const MAX_KILL_S = 8;
/** The clean sync must last this much longer than the killed runs together: each of them also spends time starting and planning. */
const CLEAN_MARGIN = 1.3;
const BOUND = 1.05;
const PIECE = 256 * 1024;
const MIB = 1024 * 1024;

function parseRate(s: string): number {
  const m = /^(\d+)([km])$/i.exec(s);
  if (!m) throw new Error(`ISOSYNC_BENCH_SOAK_RATE must look like 512k or 2m, not ${JSON.stringify(s)}`);
  return Number(m[1]) * (m[2]!.toLowerCase() === 'm' ? 1024 : 1);
}

const sha256 = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Runs `isosync ARGS`; kills it with SIGKILL after `killAfterMs` unless it ends first. */
function runSync(args: string[], killAfterMs?: number): Promise<{ status: number | null; signal: string | null; ms: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(BIN, [...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = killAfterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), killAfterMs) : undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      clearTimeout(guard);
      resolve({ status, signal, ms: performance.now() - t0, stderr });
    });
  });
}

export async function run(): Promise<void> {
  if (!hasTool('nginx')) {
    process.stdout.write('SKIPPED: needs nginx (install with .ci/run or apt-get)\n');
    return;
  }
  const tmp = tempDir('isosync-soak-');
  let nginx: Nginx | undefined;
  try {
    // The pair: NEW differs from OLD in every other MiB.
    const r = mulberry32(SEED);
    const old = Buffer.alloc(SIZE_MIB * MIB);
    for (let i = 0; i < old.length; i += 4) old.writeUInt32LE(Math.floor(r() * 2 ** 32), i);
    const next = Buffer.from(old);
    for (let m = 1; m < SIZE_MIB; m += 2) for (let i = m * MIB; i < (m + 1) * MIB; i += 4) next.writeUInt32LE(Math.floor(r() * 2 ** 32), i);
    const www = join(tmp.dir, 'www');
    mkdirSync(www);
    const oldPath = join(tmp.dir, 'old.iso');
    const newPath = join(www, 'new.iso');
    writeFileSync(oldPath, old);
    writeFileSync(newPath, next);
    const oldSha = sha256(oldPath);
    const newSha = sha256(newPath);
    const pieces = await hashPieces(newPath, PIECE);
    const moments = Array.from({ length: KILLS }, () => MIN_KILL_S + r() * (MAX_KILL_S - MIN_KILL_S));
    const minCleanS = Math.max(MAX_KILL_S + 2, CLEAN_MARGIN * moments.reduce((a, b) => a + b, 0));

    let rateKib = START_RATE_KIB;
    let clean: { bytes: number; seconds: number } | undefined;
    let torrent = '';
    for (;;) {
      await nginx?.stop();
      nginx = await Nginx.start(join(tmp.dir, `nginx-${rateKib}`), www, undefined, { limitRate: `${rateKib}k` });
      torrent = join(tmp.dir, `new-${rateKib}.torrent`);
      writeFileSync(torrent, createTorrent({ name: 'new.iso', length: next.length, pieceLength: PIECE, pieces, webSeeds: [`${nginx.baseUrl}/new.iso`] }).bytes);
      const out = join(tmp.dir, 'clean.iso');
      rmSync(out, { force: true });
      const c = await runSync(['sync', torrent, '-o', out, '--from', oldPath, '--no-catalog', '--home', join(tmp.dir, 'home-clean'), '-q']);
      if (c.status !== 0) throw new Error(`the clean sync failed (${c.status}): ${c.stderr.trim()}`);
      if (sha256(out) !== newSha) throw new Error('the clean sync gave other bytes');
      const t = await nginx.traffic();
      clean = { bytes: t.bodyBytes, seconds: c.ms / 1000 };
      rmSync(join(tmp.dir, 'home-clean'), { recursive: true, force: true });
      if (clean.seconds >= minCleanS || rateKib <= 16) break;
      // Several connections share the work: scale the per-connection rate to the time measured, with a margin.
      rateKib = Math.max(16, Math.floor((rateKib * clean.seconds) / (minCleanS * 1.15)));
    }
    process.stdout.write(`pair: ${SIZE_MIB} MiB, ${(clean.bytes / MIB).toFixed(1)} MiB to fetch; nginx limit_rate ${rateKib}k per connection\n`);
    process.stdout.write(`clean sync: ${(clean.bytes / MIB).toFixed(2)} MiB sent by nginx in ${clean.seconds.toFixed(1)} s\n`);

    // The soak: same output, same home, so every run resumes the .part.
    const out = join(tmp.dir, 'soak.iso');
    const home = join(tmp.dir, 'home-soak');
    const args = ['sync', torrent, '-o', out, '--from', oldPath, '--no-catalog', '--home', home, '-q'];
    let soakBytes = 0;
    let kills = 0;
    let finishedEarly = 0;
    const perRun: string[] = [];
    for (const [k, s] of moments.entries()) {
      const run = await runSync(args, Math.round(s * 1000));
      const t = await nginx!.traffic();
      soakBytes += t.bodyBytes;
      if (run.signal === 'SIGKILL') kills++;
      else finishedEarly++;
      perRun.push(`${k + 1}:${s.toFixed(1)}s/${(t.bodyBytes / MIB).toFixed(1)}M${run.signal === 'SIGKILL' ? '' : `(exit ${run.status})`}`);
      if (run.signal !== 'SIGKILL' && run.status === 0) break; // done before the kill: nothing left to resume
    }
    const last = await runSync(args);
    const t = await nginx!.traffic();
    soakBytes += t.bodyBytes;
    perRun.push(`final/${(t.bodyBytes / MIB).toFixed(1)}M`);
    process.stdout.write(`runs (kill moment / MiB sent): ${perRun.join(' ')}\n`);
    const identical = last.status === 0 && existsSync(out) && sha256(out) === newSha;
    const sourceKept = sha256(oldPath) === oldSha;
    const partGone = !existsSync(`${out}.part`);
    const ratio = soakBytes / clean.bytes;
    process.stdout.write(`soak: ${kills} kills between ${MIN_KILL_S} and ${MAX_KILL_S} s${finishedEarly > 0 ? ` (${finishedEarly} run ended before its kill: the transfer was done)` : ''}, then a run to the end\n`);
    process.stdout.write(`  image bit-identical: ${identical ? 'yes' : `NO (last run exit ${last.status}: ${last.stderr.trim().slice(-300)})`}; source unchanged: ${sourceKept ? 'yes' : 'NO'}; .part removed: ${partGone ? 'yes' : 'no'}\n`);
    process.stdout.write(`  nginx sent ${(soakBytes / MIB).toFixed(2)} MiB over all runs = ${ratio.toFixed(3)} x the clean sync (bound ${BOUND} x)${ratio <= BOUND ? '' : '  ABOVE THE BOUND'}\n`);
    if (!identical || !sourceKept) throw new Error('the soak broke a promise: see above');
    if (ratio > BOUND) throw new Error(`kills cost ${ratio.toFixed(3)} x the bytes of one clean sync, above ${BOUND} x`);
  } finally {
    await nginx?.stop();
    tmp.cleanup();
  }
}
