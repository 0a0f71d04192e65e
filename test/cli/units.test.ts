/**
 * The pure parts of the command line and the server pages, as tables: size
 * syntax, command suggestions, the first operand, plain-word errors, the
 * progress line, rates, the status history, log lines and the chart.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { firstOperand, looksLikeTarget } from '../../src/cli/argv.js';
import { parseSize } from '../../src/cli/size.js';
import { warningShown, type Verbosity } from '../../src/cli/output.js';
import type { WarningCode } from '../../src/core/warnings.js';
import { suggestName } from '../../src/cli/suggest.js';
import { plainText, systemErrorLine, userPath } from '../../src/cli/system-errors.js';
import { etaSeconds, formatClock, RateWindow, renderLine, type ProgressState } from '../../src/cli/progress.js';
import { combinedLine } from '../../src/serve/access-log.js';
import { savedBytes, StatusHistory } from '../../src/serve/status-history.js';
import { savingsChart } from '../../src/serve/status-page.js';

describe('sizes: one syntax for every option', () => {
  const ok: [string, number][] = [
    ['65536', 65536],
    ['500k', 500 * 1024],
    ['500K', 500 * 1024],
    ['5M', 5 * 1024 ** 2],
    ['5MiB', 5 * 1024 ** 2],
    ['5MB', 5 * 1024 ** 2],
    ['1.5G', 1.5 * 1024 ** 3],
    ['2T', 2 * 1024 ** 4],
    ['16b', 16],
  ];
  for (const [text, n] of ok) test(`${text} is ${n} bytes`, () => assert.equal(parseSize('--min-size', text), n));
  test('a rate may end in /s; a size may not', () => {
    assert.equal(parseSize('--download-limit', '5M/s', { rate: true }), 5 * 1024 ** 2);
    assert.throws(() => parseSize('--min-size', '5M/s'), /^IsosyncError: Invalid --min-size "5M\/s": not a size/);
  });
  for (const bad of ['', 'M', '5Q', '-1', '1e9', '5 M B', 'five']) {
    test(`${JSON.stringify(bad)} is refused naming the option`, () => assert.throws(() => parseSize('--upload-limit', bad, { rate: true }), (e: Error & { code?: string }) => e.code === 'BAD_ARGUMENT' && e.message.startsWith(`Invalid --upload-limit ${JSON.stringify(bad)}: not a size`)));
  }
  test('a minimum is enforced', () => assert.throws(() => parseSize('--min-size', '0', { min: 1 }), /must be at least 1 bytes/));
});

describe('a mistyped command gets the nearest name', () => {
  const names = ['sync', 'plan', 'publish', 'info', 'releases', 'ls', 'regions', 'extract', 'diff', 'apply', 'mount', 'umount', 'serve', 'seed', 'tracker', 'completion', 'demo'];
  const cases: [string, string | undefined][] = [
    ['pubish', 'publish'],
    ['publsih', 'publish'],
    ['relases', 'releases'],
    ['serv', 'serve'],
    ['trakcer', 'tracker'],
    ['compl', 'completion'],
    ['xyzzy', undefined],
    ['q', undefined],
  ];
  for (const [word, want] of cases) test(`${word} -> ${want ?? 'nothing'}`, () => assert.equal(suggestName(word, names), want));
});

describe('the first operand, past options and their values', () => {
  const flags = new Set(['--home', '--from', '-o', '--timeout']);
  const cases: [string[], string | undefined][] = [
    [[], undefined],
    [['--home', 'x', 'releases'], 'releases'],
    [['--home=x', 'releases'], 'releases'],
    [['--timeout', '30', 'x.torrent'], 'x.torrent'],
    [['-q', '--json', 'ls', 'a.iso'], 'ls'],
    [['--', '-weird'], '-weird'],
  ];
  for (const [args, want] of cases) test(`${args.join(' ') || '(none)'} -> ${want}`, () => assert.equal(firstOperand(args, flags), want));
  test('targets: URLs, paths, existing names; a bare word is not one', () => {
    const none = () => false;
    assert.equal(looksLikeTarget('http://x/y.iso', none), true);
    assert.equal(looksLikeTarget('x.torrent', none), true);
    assert.equal(looksLikeTarget('dir/x', none), true);
    assert.equal(looksLikeTarget('pubish', none), false);
    assert.equal(looksLikeTarget('pubish', () => true), true);
  });
});

describe('system errors in plain words, without temporary names', () => {
  test('Node texts and bare codes become words', () => {
    assert.equal(plainText(`Cannot write "/d/x.torrent": EACCES: permission denied, open '/d/.x.torrent.1234.0a1b2c3d.tmp'`), 'Cannot write "/d/x.torrent": permission denied');
    assert.equal(plainText('Cannot fetch http://h/x: ECONNREFUSED'), 'Cannot fetch http://h/x: connection refused');
    assert.equal(plainText('Cannot open "x": ENOSPC: no space left on device, write'), 'Cannot open "x": no space left on the device');
    assert.equal(plainText('Cannot read x: a plain reason'), 'Cannot read x: a plain reason');
  });
  test('a bare system error gets a "Cannot" line with the path a user knows', () => {
    assert.equal(systemErrorLine({ code: 'EACCES', syscall: 'open', path: '/srv/.distro.iso.torrent.77.deadbeef.tmp' }), 'Cannot open "/srv/distro.iso.torrent": permission denied');
    assert.equal(systemErrorLine({ code: 'EADDRINUSE', syscall: 'listen', address: '127.0.0.1', port: 8080 }), 'Cannot listen on 127.0.0.1:8080: port 8080 is already in use');
    assert.equal(systemErrorLine({ code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port: 9 }), 'Cannot connect to 127.0.0.1:9: connection refused');
    assert.equal(userPath('/a/b.part'), '/a/b.part');
  });
});

describe('the progress line', () => {
  const base: ProgressState = { phase: 'fetching', phaseStarted: 0 };
  test('bytes by origin, rates, ETA and sources', () => {
    const s: ProgressState = { ...base, doneBytes: 150 * 1024 ** 2, totalBytes: 330 * 1024 ** 2, reusedBytes: 120 * 1024 ** 2, resumedBytes: 0, fetchedBytes: 30 * 1024 ** 2, toFetchBytes: 60 * 1024 ** 2, downRate: 3 * 1024 ** 2, upRate: 512 * 1024, peers: 3, webSeeds: 1 };
    assert.equal(renderLine(s, 0, 200), 'fetching  45% 150.0/330.0 MiB (reused 120.0 MiB, resumed 0 B, fetched 30.0 MiB) ↓ 3.00 MiB/s ↑ 512.0 KiB/s ETA 0:10 · 3 peers, 1 web seed');
  });
  test('a step without a measure shows the time in it', () => {
    assert.equal(renderLine({ phase: 'computing delta hints against 1.00', phaseStarted: 1000 }, 8500, 80), 'computing delta hints against 1.00 · 0:08');
  });
  test('bytes still arriving count as fetched, never past the plan', () => {
    const s: ProgressState = { ...base, doneBytes: 100, totalBytes: 1000, reusedBytes: 100, resumedBytes: 0, fetchedBytes: 0, toFetchBytes: 900, receivedBytes: 2000 };
    assert.match(renderLine(s, 0, 200), /^fetching 100% 1000\/1000 B \(reused 100 B, resumed 0 B, fetched 900 B\) ETA 0:00$/);
  });
  test('cut to the width, never wrapped', () => {
    const line = renderLine({ ...base, doneBytes: 1, totalBytes: 2, reusedBytes: 1, resumedBytes: 0, fetchedBytes: 0, toFetchBytes: 1 }, 0, 30);
    assert.equal(line.length, 30);
    assert.ok(line.endsWith('…'));
  });
  test('ETA unknown without a rate, 0 when nothing is left', () => {
    assert.equal(etaSeconds({ ...base, toFetchBytes: 10, fetchedBytes: 5 }), undefined);
    assert.equal(etaSeconds({ ...base, toFetchBytes: 10, fetchedBytes: 10 }), 0);
    assert.equal(formatClock(3725), '1:02:05');
  });
  test('rates average over the window', () => {
    const r = new RateWindow(5000);
    assert.equal(r.rate(), undefined);
    for (let t = 0; t <= 10_000; t += 100) r.add(t, t * 100); // 100 bytes per ms
    assert.equal(Math.round(r.rate()!), 100_000);
    r.add(10_100, 10_000 * 100); // a stall lowers it, it does not drop to 0 at once
    assert.ok(r.rate()! > 90_000 && r.rate()! < 100_000);
  });
});

describe('the status page data', () => {
  test('saved is what plain HTTP would have sent minus what was sent, never below 0', () => {
    assert.equal(savedBytes({ http: 100, bittorrent: 50, baseline: 1000 }), 850);
    assert.equal(savedBytes({ http: 900, bittorrent: 500, baseline: 1000 }), 0);
  });
  test('the history keeps the newest samples and gives rates over its window', () => {
    const h = new StatusHistory(3);
    for (let i = 0; i < 5; i++) h.add({ t: i * 10_000, http: i * 1000, bittorrent: i * 500, baseline: 0 });
    assert.deepEqual(h.samples().map((s) => s.t), [20_000, 30_000, 40_000]);
    assert.deepEqual(h.rates({ t: 60_000, http: 6000, bittorrent: 3000, baseline: 0 }, 30_000), { http: 100, bittorrent: 50 });
  });
  test('combined log lines escape what could break them', () => {
    const line = combinedLine({ remote: '127.0.0.1', time: new Date(Date.UTC(2026, 9, 10, 13, 55, 36)), method: 'GET', target: '/a "b".iso', httpVersion: '1.1', status: 206, bytes: 1048576, userAgent: 'x\ny' });
    assert.equal(line, '127.0.0.1 - - [10/Oct/2026:13:55:36 +0000] "GET /a \\x22b\\x22.iso HTTP/1.1" 206 1048576 "-" "x\\x0Ay"');
    assert.match(combinedLine({ remote: '::1', time: new Date(0), method: 'HEAD', target: '/', httpVersion: '1.1', status: 404, bytes: 0 }), / 404 - "-" "-"$/);
  });
  test('the chart draws what plain HTTP would have sent, what was sent, and the band between, with human sizes', () => {
    const svg = savingsChart([
      { t: 0, http: 0, bittorrent: 0, baseline: 0 },
      { t: 60_000, http: 5 * 1024 ** 2, bittorrent: 1024 ** 2, baseline: 20 * 1024 ** 2 },
    ]);
    assert.match(svg, /<path class="saved-band" d="M[\d.,ML ]+Z"/);
    assert.match(svg, /<path class="plain-line"/);
    assert.match(svg, /<path class="sent-line"/);
    assert.match(svg, />20\.0 MiB</);
    assert.equal(savingsChart([]), '<p class="sub">No samples yet.</p>');
  });
});

describe('typed warnings: the output level decides which are printed', () => {
  const rows: [WarningCode, Verbosity, boolean][] = [
    ['PEER_UNREACHABLE', 'normal', false],
    ['PEER_UNREACHABLE', 'verbose', true],
    ['TRACKER_FAILED', 'normal', false],
    ['TRACKER_FAILED', 'verbose', true],
    ['WEB_SEED_DROPPED', 'normal', true],
    ['PEER_BANNED', 'normal', true],
    ['TRACKERS_UNREACHABLE', 'normal', true],
    ['WEB_SEED_DROPPED', 'quiet', false],
    ['PEER_UNREACHABLE', 'quiet', false],
  ];
  for (const [code, level, shown] of rows) test(`${code} at ${level}: ${shown ? 'shown' : 'not shown'}`, () => assert.equal(warningShown(code, level), shown));
});
