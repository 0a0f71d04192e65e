import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cliAsync, isosyncEnv } from '../helpers/env.js';
import { Rng } from '../helpers/random.js';
import { startRangeServer, type Misbehaviour, type RangeServer } from '../helpers/range-server.js';
import { HAVE_RELEASES, publishChain, sha256, type Published } from './fixture-pair.js';
import type { Warning } from '../../src/core/warnings.js';

const skip = HAVE_RELEASES ? false : 'fixtures/releases not built (run npm run fixtures)';

describe('bad web seeds and interrupted runs', { skip }, () => {
  let pub: Published;
  let good: RangeServer;
  const T = 'distro-1.01';

  before(async () => {
    pub = publishChain(['distro-1.00', 'distro-1.01']);
    good = await startRangeServer({ [`/${T}.iso`]: pub.image(T) });
  });
  after(async () => {
    await good?.close();
    pub?.cleanup();
  });

  const modes: Misbehaviour[] = ['corrupt', 'truncate', '404', '500', 'stall'];
  for (const mode of modes) {
    test(`a web seed that answers "${mode}" is dropped with a warning and the sync completes`, async () => {
      const bad = await startRangeServer({ [`/${T}.iso`]: pub.image(T) }, mode);
      try {
        const out = join(pub.dir, `bad-${mode}.iso`);
        // The bad mirror comes first so it is surely used.
        const r = await cliAsync(['sync', pub.torrent(T), '-o', out, '--home', join(pub.dir, `h-${mode}`), '--no-catalog', '--timeout', '2',
          '--from', pub.image('distro-1.00'), '--web-seed', `${bad.url}/${T}.iso`, '--web-seed', `${good.url}/${T}.iso`, '--json']);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(sha256(out), sha256(pub.image(T)));
        const { warnings } = JSON.parse(r.stdout) as { warnings: Warning[] };
        assert.ok(warnings.some((w) => w.code === 'WEB_SEED_DROPPED' && w.source === `web seed ${bad.url}/${T}.iso`), JSON.stringify(warnings));
      } finally {
        await bad.close();
      }
    });
  }

  test('a server without range support is used with one plain GET of the whole image, with a warning, bit-identical', async () => {
    const plain = await startRangeServer({ [`/${T}.iso`]: pub.image(T) }, 'ignore-range');
    try {
      const out = join(pub.dir, 'no-ranges.iso');
      const r = await cliAsync(['sync', pub.torrent(T), '-o', out, '--home', join(pub.dir, 'h-no-ranges'), '--no-catalog', '--from', pub.image('distro-1.00'), '--web-seed', `${plain.url}/${T}.iso`, '--json']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(pub.image(T)));
      const { warnings } = JSON.parse(r.stdout) as { warnings: Warning[] };
      const source = `web seed ${plain.url}/${T}.iso`;
      assert.deepEqual(warnings.filter((w) => w.source === source).map((w) => w.code), ['WEB_SEED_NO_RANGES']);
      // The range requests it answered with the whole file (given up at once), then the one plain GET.
      assert.ok(plain.requests() <= 1 + 4 * 2, `${plain.requests()} requests`);
      assert.ok(!existsSync(`${out}.part.blocks`), 'no journal left');
    } finally {
      await plain.close();
    }
  });

  test('a server without multi-range support is used one range at a time, bit-identical', async () => {
    const plain = await startRangeServer({ [`/${T}.iso`]: pub.image(T) }, 'single-range-only');
    try {
      const out = join(pub.dir, 'single-range.iso');
      const r = await cliAsync(['sync', pub.torrent(T), '-o', out, '--home', join(pub.dir, 'h-single'), '--no-catalog', '--from', pub.image('distro-1.00'), '--web-seed', `${plain.url}/${T}.iso`, '--json']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(pub.image(T)));
      const { warnings } = JSON.parse(r.stdout) as { warnings: Warning[] };
      assert.deepEqual(warnings.filter((w) => w.code === 'WEB_SEED_DROPPED'), []);
    } finally {
      await plain.close();
    }
  });

  test('with every web seed bad: one error line, exit 1, and the .part kept for a resume, which the last line says', async () => {
    const bad = await startRangeServer({}, '404');
    try {
      const out = join(pub.dir, 'all-bad.iso');
      const r = await cliAsync(['sync', pub.torrent(T), '-o', out, '--home', join(pub.dir, 'h-all-bad'), '--no-catalog', '--from', pub.image('distro-1.00'), '--web-seed', `${bad.url}/${T}.iso`]);
      assert.equal(r.status, 1);
      const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('warning'));
      assert.equal(lines.length, 2, r.stderr);
      assert.match(lines[0]!, /^isosync: Cannot fetch piece \d+: no live source has it \(tried: web seed \S+ \(HTTP 404\)\)$/);
      // The pieces built from 1.00 were verified and stay: the user is told so, and how to go on.
      assert.match(lines[1]!, /^isosync: kept \d[\d.]* (?:KiB|MiB) in .*all-bad\.iso\.part; run the same command again to resume$/);
      assert.ok(!existsSync(out), 'no image under the final name');
      assert.ok(existsSync(`${out}.part`), 'the .part stays for a resume');
    } finally {
      await bad.close();
    }
  });

  test('killed at random moments (kill -9), a sync resumes bit-identical without refetching verified pieces', async () => {
    const slow = await startRangeServer({ [`/${T}.iso`]: pub.image(T) }, 'slow');
    const src = pub.image('distro-1.00');
    const srcHash = sha256(src);
    const rng = new Rng(42);
    try {
      // Reference: one uninterrupted run, counted by the server.
      const refOut = join(pub.dir, 'ref.iso');
      const before = slow.bytesSent();
      const ref = await cliAsync(['sync', pub.torrent(T), '-o', refOut, '--home', join(pub.dir, 'h-ref'), '--no-catalog', '--from', src, '--web-seed', `${slow.url}/${T}.iso`]);
      assert.equal(ref.status, 0, ref.stderr);
      const oneRun = slow.bytesSent() - before;

      for (let round = 0; round < 3; round++) {
        const out = join(pub.dir, `killed-${round}.iso`);
        const args = [BIN, 'sync', pub.torrent(T), '-o', out, '--home', join(pub.dir, `h-kill-${round}`), '--no-catalog', '--from', src, '--web-seed', `${slow.url}/${T}.iso`];
        const start = slow.bytesSent();
        let kills = 0;
        for (let attempt = 0; attempt < 3; attempt++) {
          const child = spawn(process.execPath, args, { env: isosyncEnv(), stdio: 'ignore' });
          const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
          await new Promise((r) => setTimeout(r, 150 + rng.int(600)));
          if (child.exitCode === null) {
            child.kill('SIGKILL');
            kills++;
          }
          await exited;
          if (existsSync(out)) break;
        }
        const final = await cliAsync(args.slice(1));
        assert.equal(final.status, 0, final.stderr);
        assert.equal(sha256(out), sha256(pub.image(T)));
        const total = slow.bytesSent() - start;
        // Each kill may lose the pieces in flight (8 at 256 KiB) and the metadata read again; nothing verified is fetched twice.
        assert.ok(total <= oneRun + kills * (8 * 262144 + 65536), `round ${round}: ${total} bytes over ${kills} kills vs ${oneRun} for one run`);
        rmSync(out);
      }
      assert.equal(sha256(src), srcHash, 'the source image is unchanged');
    } finally {
      await slow.close();
    }
  });
});
