/** `isosync tracker` as a user runs it: prints where it listens, serves HTTP and UDP, stops cleanly on SIGTERM/SIGINT. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { Announcer, type AnnouncedInfo } from '../../src/tracker/client.js';
import type { Warning } from '../../src/core/warnings.js';
import { BIN, cliAsync, isosyncEnv, ROOT } from '../helpers/env.js';
import { waitFor } from './helpers.js';

function startCli(args: string[]): { child: ReturnType<typeof spawn>; firstLine: Promise<string>; exit: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, 'tracker', ...args], { env: isosyncEnv(), cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(stdout);
    });
    child.on('exit', () => reject(new Error(`exited before printing: ${stderr}`)));
  });
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, firstLine, exit };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`isosync tracker --udp serves HTTP and UDP announces and exits 0 on ${signal}`, async () => {
    const { child, firstLine, exit } = startCli(['--host', '127.0.0.1', '--port', '0', '--udp', '--interval', '30']);
    try {
      const line = await firstLine;
      const m = /^Tracker listening: (http:\/\/127\.0\.0\.1:(\d+)\/announce) and (udp:\/\/127\.0\.0\.1:(\d+)\/announce) \(interval 30 s\)\n$/.exec(line);
      assert.ok(m, line);
      assert.equal(m[2], m[4], 'UDP on the same port number');
      for (const url of [m[1]!, m[3]!]) {
        const warnings: Warning[] = [];
        const a = new Announcer({
          infoHash: new Uint8Array(20).fill(9),
          peerId: Buffer.from('-IS0100-clitracker00', 'latin1'),
          port: 43000,
          tiers: [[url]],
          stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
          timeoutMs: 3000,
          onWarning: (w) => warnings.push(w),
        });
        const ok = waitFor<AnnouncedInfo>(a, 'announced');
        a.start();
        const info = await ok;
        assert.equal(info.interval, 30);
        assert.equal(info.leechers, 1);
        await a.stop();
        assert.deepEqual(warnings, []);
      }
      child.kill(signal);
      const r = await exit;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Tracker stopped\n$/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
}

test('isosync tracker --json prints the URLs as JSON', async () => {
  const { child, firstLine, exit } = startCli(['--host', '127.0.0.1', '--port', '0', '--json']);
  try {
    let text = await firstLine;
    while (!text.trimEnd().endsWith('}')) text += await new Promise<string>((r) => child.stdout!.once('data', r));
    const info = JSON.parse(text) as { announce: string; interval: number; udp?: string };
    assert.match(info.announce, /^http:\/\/127\.0\.0\.1:\d+\/announce$/);
    assert.equal(info.interval, 1800);
    assert.equal(info.udp, undefined);
    child.kill('SIGTERM');
    assert.equal((await exit).code, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('isosync tracker refuses a bad port or interval with exit 2 and a one-line error', async () => {
  const bad = await cliAsync(['tracker', '--port', '70000']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'isosync: Invalid --port "70000": must be at most 65535\n');
  const word = await cliAsync(['tracker', '--interval', 'soon']);
  assert.equal(word.status, 2);
  assert.match(word.stderr, /^isosync: Invalid --interval "soon": not a whole number\n$/);
});
