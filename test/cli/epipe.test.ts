import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { BIN, fixture, isosyncEnv } from '../helpers/env.js';

test('a reader that closes the pipe early (isosync ls IMAGE | head) gets no stack trace and exit code 0', async () => {
  const child = spawn(process.execPath, [BIN, 'ls', fixture('releases', 'distro-1.01.iso')], { env: isosyncEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // Like `| head -0`: our end of the pipe is closed before isosync writes anything.
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(stderr, '');
  assert.equal(code, 0);
});
