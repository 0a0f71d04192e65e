/**
 * The swarm start policy (src/sync/swarm-start.ts), as tables: no socket,
 * no timer; time is passed in. The watch scenarios are one line per web
 * seed, one character per sample (peers-on-need.ts samples every SAMPLE_MS):
 *
 *   '.'  bytes arrived since the last sample, asks out
 *   '-'  asks out, no byte
 *   ' '  nothing asked (idle)
 *   'x'  dropped
 *
 * After '/', the web seed's measured rate (e.g. '/32M': MiB/s; '/4K': KiB/s),
 * known from its first byte on. `left`: bytes the plan still fetches
 * ('21M'), undefined while planning. `busy`: the event loop's busy share at
 * each sample, in tenths ('9999': 0.9; default idle). The result reads
 * 'reason@sample'.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SAMPLE_MS } from '../../src/sync/peers-on-need.js';
import { NeedWatch, SLOW_LEFT_MS, STALL_QUIET_MS, startAtOnce, type SwarmFacts } from '../../src/sync/swarm-start.js';

const BLOCK = 16 * 1024;

function bytes(spec: string): number {
  const m = /^(\d+(?:\.\d+)?)([KM])$/.exec(spec);
  if (!m) throw new Error(`bad size ${spec}`);
  return Number(m[1]) * (m[2] === 'M' ? 1024 * 1024 : 1024);
}

function watch(left: string | undefined, ...mirrors: string[]): string {
  return watchWith({ left }, ...mirrors);
}

function watchWith(o: { left: string | undefined; busy?: string }, ...mirrors: string[]): string {
  const { left } = o;
  const parsed = mirrors.map((spec) => {
    const [ticks = '', rate] = spec.split('/');
    return { ticks, rate: rate ? bytes(rate) : undefined };
  });
  const w = new NeedWatch();
  const received = parsed.map(() => 0);
  const samples = Math.max(...parsed.map((p) => p.ticks.length));
  for (let i = 0; i < samples; i++) {
    const why = w.observe({
      at: i * SAMPLE_MS,
      mirrors: parsed.map((p, k) => {
        const c = p.ticks[i] ?? ' ';
        if (c === '.') received[k]! += BLOCK;
        return { dropped: c === 'x', received: received[k]!, outstanding: c === '.' || c === '-' ? 1024 * 1024 : 0, rate: received[k]! > 0 ? p.rate : undefined };
      }),
      leftBytes: left === undefined ? undefined : bytes(left),
      loopBusy: Number(o.busy?.[i] ?? '0') / 10,
    });
    if (why) return `${why}@${i}`;
  }
  return 'none';
}

describe('when a sync starts its swarm', () => {
  const none: SwarmFacts = { webSeeds: 1, magnet: false, trackers: false, lsd: false, seeding: false };
  test('at once: without a usable web seed, for a magnet link, when announced (trackers, LSD), with --seed', () => {
    const table: [Partial<SwarmFacts>, string | undefined][] = [
      [{}, undefined],
      [{ webSeeds: 0 }, 'no-web-seed'],
      [{ webSeeds: 0, trackers: true }, 'no-web-seed'],
      [{ magnet: true }, 'magnet'],
      [{ trackers: true }, 'trackers'],
      [{ lsd: true }, 'lsd'],
      [{ seeding: true }, 'seeding'],
      [{ webSeeds: 3, seeding: true, lsd: true }, 'lsd'],
    ];
    for (const [facts, want] of table) assert.equal(startAtOnce({ ...none, ...facts }), want, JSON.stringify(facts));
  });

  test('a web seed that keeps up: never', () => {
    // 21 MB at 32 MiB/s: some 0.6 s of fetching (the mixed bench's mirror-32).
    assert.equal(watch('21M', '................/32M'), 'none');
    assert.equal(watch('21M', '.. ..  . ...  ../120M'), 'none');
    // While planning nothing is known of what is left: only a drop or a stall counts.
    assert.equal(watch(undefined, '................/4K'), 'none');
    // Idle between asks is not a stall.
    assert.equal(watch(undefined, '..          ..  .'), 'none');
    // Bytes keep coming, slowly but within the quiet time.
    assert.equal(watch(undefined, '..-----.-----.-----.'), 'none');
  });

  test('a web seed that drops: at once', () => {
    assert.equal(watch(undefined, '...x'), 'web-seed-dropped@3');
    assert.equal(watch('21M', '......../32M', '..x'), 'web-seed-dropped@2');
  });

  test('a web seed that stalls: asks out and no byte for the quiet time, over enough samples', () => {
    // The last byte came at sample 1: 1.5 s later is sample 7.
    assert.equal(watch(undefined, '..--------'), `web-seed-stalled@${1 + STALL_QUIET_MS / SAMPLE_MS}`);
    assert.equal(watch(undefined, '------'), 'none');
    assert.equal(watch(undefined, '--------'), 'web-seed-stalled@6');
    // One stalled web seed of two is enough.
    assert.equal(watch('21M', '............/32M', '..--------'), 'web-seed-stalled@7');
    // A byte resets the quiet time.
    assert.equal(watch(undefined, '..-----.-----.'), 'none');
  });

  test('one late sample is not a stall (a process starved of CPU runs its timer late)', () => {
    const w = new NeedWatch();
    const m = (received: number) => [{ dropped: false, received, outstanding: 1024 * 1024, rate: undefined }];
    const at = (t: number, received: number) => w.observe({ at: t, mirrors: m(received), leftBytes: undefined, loopBusy: 1 });
    assert.equal(at(0, BLOCK), undefined);
    assert.equal(at(250, BLOCK), undefined);
    assert.equal(at(3000, BLOCK), undefined);
    assert.equal(at(3250, 2 * BLOCK), undefined);
  });

  test('web seeds too slow for what is left: more than SLOW_LEFT_MS of fetching', () => {
    assert.equal(SLOW_LEFT_MS, 5000);
    // 21 MB at 4 MiB/s: 5.25 s.
    assert.equal(watch('21M', '--..../4M'), 'web-seed-slow@2');
    assert.equal(watch('19M', '--..../4M'), 'none');
    // Two web seeds: their rates add up.
    assert.equal(watch('30M', '..../4M', '..../4M'), 'none');
    assert.equal(watch('60M', '..../4M', '..../4M'), 'web-seed-slow@0');
    // A web seed that sent nothing yet is judged by its stall, not by a rate of 0.
    assert.equal(watch('21M', '----/0K'), 'none');
    // Nothing left: nothing to start for.
    assert.equal(watch('0K', '..../1K'), 'none');
  });

  test('a sync bound by its own CPU reads its mirror slowly too: no peers for that', () => {
    // 21 MB at 2 MiB/s while the event loop is busy (local reconstruction, a loaded machine): peers would add CPU.
    assert.equal(watchWith({ left: '21M', busy: '99999999' }, '......../2M'), 'none');
    assert.equal(watchWith({ left: '21M', busy: '66666666' }, '......../2M'), 'none');
    // Busy, then waiting for the mirror: the average over the last second decides.
    assert.equal(watchWith({ left: '21M', busy: '9999220000' }, '........../2M'), 'web-seed-slow@6');
    // A stall counts whatever the loop does.
    assert.equal(watchWith({ left: undefined, busy: '99999999' }, '--------'), 'web-seed-stalled@6');
  });
});
