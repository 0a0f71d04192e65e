/**
 * The progress line as a person sees it: a sync runs in a real terminal
 * (tmux), its screen is read mid-sync (phase, bytes, rate, ETA, source
 * count), then Ctrl-C is typed and the last line must say what was kept and
 * how to resume; running the same command again resumes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BIN, cli, cliAsync, fixture, needTools, tempDir } from '../helpers/env.js';
import { startRangeServer } from '../helpers/range-server.js';

/** Polls `read` until `ok` holds (a bounded wait for a screen to show something, not a timing assertion). */
async function waitFor(read: () => string, ok: (screen: string) => boolean, what: string, limitMs = 60_000): Promise<string> {
  const until = Date.now() + limitMs;
  let screen = read();
  while (!ok(screen)) {
    if (Date.now() > until) assert.fail(`the terminal never showed ${what}; last screen:\n${screen}`);
    await new Promise((r) => setTimeout(r, 150));
    screen = read();
  }
  return screen;
}

describe('the progress line in a terminal', { skip: needTools('tmux') }, () => {
  it('shows phase, bytes by origin, rate, ETA and the web seeds mid-sync, and on Ctrl-C says what was kept and how to resume', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    for (const v of ['1.00', '1.01']) copyFileSync(fixture('releases', `distro-${v}.iso`), join(tmp.dir, `distro-${v}.iso`));
    const home = join(tmp.dir, 'pub');
    for (const v of ['1.00', '1.01']) assert.equal(cli(['publish', join(tmp.dir, `distro-${v}.iso`), '--product', 'distro', '--release', v, '--home', home]).status, 0);
    const server = await startRangeServer({ '/distro-1.01.iso': join(tmp.dir, 'distro-1.01.iso') }, 'trickle');
    t.after(() => server.close());
    const socket = `isosync-test-${process.pid}`;
    const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    t.after(() => void tmux('kill-server'));
    const out = join(tmp.dir, 'new.iso');
    const args = [BIN, 'distro-1.01.iso.torrent', '--from', 'distro-1.00.iso', '--no-catalog', '--home', join(tmp.dir, 'user'), '-o', out, '--web-seed', `${server.url}/distro-1.01.iso`];
    const shellLine = `cd '${tmp.dir}' && '${process.execPath}' ${args.map((a) => `'${a}'`).join(' ')}; echo "EXIT=$?"; sleep 120`;
    const started = tmux('-u', 'new-session', '-d', '-s', 'sync', '-x', '200', '-y', '20', shellLine);
    assert.equal(started.status, 0, started.stderr);
    const screen = () => tmux('capture-pane', '-p', '-t', 'sync').stdout;

    const mid = await waitFor(screen, (s) => /fetching +\d+% .*↓ \d[\d.]* (?:B|KiB|MiB)\/s.*ETA \d+:\d\d.*1 web seed/.test(s), 'a live line with rate, ETA and 1 web seed');
    const line = mid.split('\n').find((l) => l.startsWith('fetching'))!;
    assert.match(line, /^fetching +\d+% [\d.]+(?: \w+)?\/5\.03 MiB \(reused [\d.]+ \w+, resumed 0 B, fetched [\d.]+ \w+\) ↓ [\d.]+ \w+\/s ETA \d+:\d\d · 1 web seed$/);
    assert.equal(mid.split('\n').filter((l) => l.startsWith('fetching')).length, 1, 'one line, redrawn in place');

    tmux('send-keys', '-t', 'sync', 'C-c');
    const end = await waitFor(screen, (s) => s.includes('EXIT='), 'the exit code after Ctrl-C');
    assert.match(end, /^isosync: interrupted: kept \d[\d.]* MiB in .*new\.iso\.part; run the same command again to resume$/m);
    assert.match(end, /^EXIT=130$/m);
    assert.ok(existsSync(`${out}.part`) && !existsSync(out), 'the .part stays, no image under the final name');

    // The same command again resumes: what was kept is not fetched again.
    server.setMode('none');
    const again = await cliAsync(args.slice(1), { cwd: tmp.dir });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /resumed from \.part/);
    assert.ok(existsSync(out) && !existsSync(`${out}.part`));
  });
});
