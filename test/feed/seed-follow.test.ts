/**
 * `isosync seed --follow PRODUCT` on a follower: it seeds what is on disk,
 * starts seeding each release as soon as `isosync update` has fetched it,
 * keeps seeding the previous one, and stops seeding what update removed.
 * A second machine downloads each release from it over BitTorrent alone
 * (a copy of the torrent without trackers or web seeds, so the seed is the
 * only source), bit-identical.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { wrapInfo } from '../../src/serve/torrent-wrap.js';
import { BIN, cliAsync, isosyncEnv } from '../helpers/env.js';
import { followingWorld, HAVE_FIXTURES, type Server, type World } from './world.js';

interface SeedEvent {
  event: string;
  release?: string;
  infoHash?: string;
  port?: number;
}

describe('seed --follow', { skip: HAVE_FIXTURES ? false : 'fixtures/releases not built' }, () => {
  let w: World;
  let server: Server;
  let seeder: ChildProcess;
  const events: SeedEvent[] = [];
  const waiters: { test: (e: SeedEvent) => boolean; resolve: (e: SeedEvent) => void }[] = [];
  /** Resolves with the first event (past or future) that passes `test`. */
  const waitFor = (test: (e: SeedEvent) => boolean) =>
    new Promise<SeedEvent>((resolve) => {
      const seen = events.find(test);
      if (seen) resolve(seen);
      else waiters.push({ test, resolve });
    });

  before(async () => {
    ({ w, server } = await followingWorld());
    seeder = spawn(process.execPath, [BIN, 'seed', '--follow', 'distro', '--home', w.userHome, '--json'], { env: isosyncEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: seeder.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as SeedEvent;
      events.push(e);
      for (const wt of waiters.splice(0)) (wt.test(e) ? wt.resolve(e) : waiters.push(wt));
    });
  });
  after(async () => {
    if (seeder && seeder.exitCode === null) {
      await new Promise<void>((done) => {
        seeder.once('exit', () => done());
        seeder.kill('SIGTERM');
      });
    }
    await server?.stop();
    w?.cleanup();
  });

  let leeches = 0;
  /** Downloads a release from the seed alone and checks it. */
  async function leech(release: string, port: number): Promise<void> {
    const torrent = parseMetainfo(readFileSync(join(w.pub, `distro-${release}.iso.torrent`)), 't');
    const bare = join(w.dir, `bare-${release}.torrent`);
    writeFileSync(bare, wrapInfo(torrent.rawInfo, { trackers: [], webSeeds: [] }));
    const out = join(w.dir, `leeched-${release}-${++leeches}.iso`);
    const r = await cliAsync(['sync', bare, '--peer', `127.0.0.1:${port}`, '--no-catalog', '-o', out, '--json'], { timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.peers.downloaded, torrent.length, 'every byte came from the follower\'s seed');
    assert.ok(readFileSync(out).equals(readFileSync(w.source(release))));
  }

  it('seeds the release on disk when it starts', async () => {
    const e = await waitFor((x) => x.event === 'seeding' && x.release === '1.00');
    await leech('1.00', e.port!);
  });

  it('seeds a new release as soon as update fetched it, and keeps seeding the previous one', async () => {
    assert.equal(w.publish('1.01').status, 0);
    const u = await cliAsync(['update', '--yes', '--home', w.userHome]);
    assert.equal(u.status, 0, u.stderr);
    const e = await waitFor((x) => x.event === 'seeding' && x.release === '1.01');
    await leech('1.01', e.port!);
    const prev = events.find((x) => x.event === 'seeding' && x.release === '1.00')!;
    assert.ok(!events.some((x) => x.event === 'stopped' && x.release === '1.00'), '1.00 is still seeded');
    await leech('1.00', prev.port!);
  });

  it('stops seeding a release update removed (older than the ones kept)', async () => {
    assert.equal(w.publish('1.02').status, 0);
    const u = await cliAsync(['update', '--yes', '--home', w.userHome]);
    assert.equal(u.status, 0, u.stderr);
    await waitFor((x) => x.event === 'seeding' && x.release === '1.02');
    const stopped = await waitFor((x) => x.event === 'stopped' && x.release === '1.00');
    assert.equal(stopped.infoHash, parseMetainfo(readFileSync(join(w.pub, 'distro-1.00.iso.torrent')), 't').infoHash);
  });
});
