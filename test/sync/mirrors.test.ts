/**
 * Several plain HTTP mirrors at once (`--mirror`, repeatable): range requests
 * are spread over them, and a mirror that goes bad mid-way is dropped while
 * the others finish. Bytes are counted by the mirrors, on 127.0.0.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { cliAsync, cli, tempDir } from '../helpers/env.js';
import { startRangeServer, type Misbehaviour, type RangeServer } from '../helpers/range-server.js';
import { HAVE_RELEASES, RELEASES, sha256 } from './fixture-pair.js';

const IMAGE = join(RELEASES, 'distro-1.01.iso');

/** Publishes 1.01 (no web seeds in the torrent), starts one range server per mode, and syncs with them as --mirror. */
async function syncThroughMirrors(modes: Misbehaviour[], check: (mirrors: RangeServer[], out: string, stdout: string, stderr: string) => void): Promise<void> {
  const t = tempDir('isosync-mirrors-');
  const mirrors: RangeServer[] = [];
  try {
    for (const mode of modes) mirrors.push(await startRangeServer({ '/distro-1.01.iso': IMAGE }, mode));
    const torrent = join(t.dir, 'distro-1.01.torrent');
    const p = cli(['publish', IMAGE, '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub'), '-o', torrent]);
    assert.equal(p.status, 0, p.stderr);
    const out = join(t.dir, 'distro-1.01.iso');
    const args = ['sync', torrent, '--no-catalog', '--home', join(t.dir, 'user'), '-o', out, '--json'];
    for (const m of mirrors) args.push('--mirror', `${m.url}/distro-1.01.iso`);
    const r = await cliAsync(args, { timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(IMAGE));
    check(mirrors, out, r.stdout, r.stderr);
  } finally {
    for (const m of mirrors) await m.close();
    t.cleanup();
  }
}

test('a sync spreads its range requests over three mirrors, each sends part of the image, the result is bit-identical', { skip: HAVE_RELEASES ? false : 'fixtures/releases not built' }, async () => {
  await syncThroughMirrors(['none', 'none', 'none'], (mirrors, _out, stdout) => {
    const sent = mirrors.map((m) => m.bytesSent());
    for (const [i, n] of sent.entries()) assert.ok(n > 0, `mirror ${i} sent part of the image: ${JSON.stringify(sent)}`);
    const total = sent.reduce((a, b) => a + b, 0);
    assert.ok(total <= 1.01 * statSync(IMAGE).size, `nothing fetched twice: ${total} bytes for ${statSync(IMAGE).size}`);
    const report = JSON.parse(stdout) as { webSeeds: { url: string; bytes: number }[] };
    assert.equal(report.webSeeds.length, 3);
  });
});

test('a mirror that sends wrong bytes is dropped with a warning and the other mirrors finish the image', { skip: HAVE_RELEASES ? false : 'fixtures/releases not built' }, async () => {
  await syncThroughMirrors(['corrupt', 'none', 'none'], (mirrors, _out, stdout, stderr) => {
    const report = JSON.parse(stdout) as { webSeeds: { url: string; bytes: number; dropped?: string }[]; warnings: { code: string; source: string }[] };
    const bad = report.webSeeds.find((s) => s.url.startsWith(mirrors[0]!.url));
    assert.ok(bad?.dropped, `the corrupt mirror was dropped: ${JSON.stringify(report.webSeeds)}`);
    assert.ok(report.warnings.some((w) => w.code === 'WEB_SEED_DROPPED' && w.source === `web seed ${bad.url}`), JSON.stringify(report.warnings));
    assert.match(stderr, /warning: web seed /);
  });
});
