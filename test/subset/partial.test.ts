/**
 * Partial images: `sync --only` keeps a sparse .part of the chosen files and
 * the metadata, resumable and extendable (a later --only adds to it, a full
 * sync completes it), and seeds what it has. Three partial peers whose
 * subsets together cover the image, and no full seed (the mirror they
 * fetched from is gone), complete a fourth peer's full download.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, cli, cliAsync, tempDir } from '../helpers/env.js';
import { startRangeServer, type RangeServer } from '../helpers/range-server.js';
import { releasesDir, releasesMissing } from '../packages/releases.js';
import { sha256 } from '../sync/fixture-pair.js';

interface Partial {
  piecesHeld: number;
  pieceCount: number;
  complete: boolean;
  metadataPieces: number;
  filePieces: number;
  fetchedBytes: number;
  resumedBytes: number;
}

/** `isosync sync ... --only ... --seed` until it says where it seeds; stopped with SIGINT. */
function partialSeed(args: string[]): Promise<{ child: ChildProcess; port: number; output: () => string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'sync', ...args, '--seed'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const m = /seeding on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearInterval(poll);
        resolve({ child, port: Number(m[1]), output: () => out, stop });
      } else if (child.exitCode !== null || Date.now() - started > 60_000) {
        clearInterval(poll);
        void stop();
        reject(new Error(`partial peer did not start seeding: ${out.slice(-2000)}`));
      }
    }, 50);
  });
}

describe('partial images', { skip: releasesMissing() }, () => {
  let t: ReturnType<typeof tempDir>;
  let server: RangeServer;
  let torrent: string;
  let image: string;
  let mirror: string;

  before(async () => {
    t = tempDir('isosync-partial-');
    image = join(t.dir, 'distro-1.01.iso');
    copyFileSync(join(releasesDir(), 'distro-1.01.iso'), image);
    torrent = join(t.dir, 'distro-1.01.iso.torrent');
    assert.equal(cli(['publish', image, '--product', 'distro', '--release', '1.01', '--piece-length', '32K', '--home', join(t.dir, 'pub'), '-o', torrent]).status, 0);
    server = await startRangeServer({ '/distro-1.01.iso': image });
    mirror = `${server.url}/distro-1.01.iso`;
  });
  after(async () => {
    await server.close();
    t.cleanup();
  });

  const only = (...paths: string[]) => paths.flatMap((p) => ['--only', p]);

  it('--only keeps a sparse .part, a second --only adds to it without fetching again, a full sync completes it', async () => {
    const out = join(t.dir, 'grow', 'distro-1.01.iso');
    const base = ['sync', torrent, '-o', out, '--mirror', mirror, '--no-catalog', '--home', join(t.dir, 'home'), '--json'];
    assert.equal(cli(['sync', torrent, '-o', join(t.dir, 'nowhere', 'x.iso'), '--only', 'pool']).status, 2, 'bad output folder');
    mkdirSync(join(t.dir, 'grow'));
    const s0 = server.bytesSent();
    const first = await cliAsync([...base, ...only('pool/main/a', 'pool/main/b')]);
    assert.equal(first.status, 0, first.stderr);
    const a = JSON.parse(first.stdout) as Partial;
    assert.equal(a.complete, false);
    assert.ok(existsSync(`${out}.part`) && !existsSync(out), 'a .part, no image');
    assert.ok(a.piecesHeld > a.filePieces && a.piecesHeld < a.pieceCount / 2, JSON.stringify(a));
    const s1 = server.bytesSent();
    assert.ok(s1 - s0 <= (a.metadataPieces + a.filePieces) * 32768, `fetched only its pieces: ${s1 - s0}`);
    // The same again: everything is in the .part already.
    const again = await cliAsync([...base, ...only('pool/main/a', 'pool/main/b')]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(server.bytesSent(), s1, 'a repeated --only fetches nothing');
    // Another subset: the metadata is not fetched again.
    const second = await cliAsync([...base, ...only('pool/main/c')]);
    assert.equal(second.status, 0, second.stderr);
    const b = JSON.parse(second.stdout) as Partial;
    assert.ok(b.piecesHeld > a.piecesHeld);
    assert.ok(b.resumedBytes >= a.metadataPieces * 32768, 'the metadata came from the .part');
    assert.ok(server.bytesSent() - s1 <= b.filePieces * 32768, `only the new files' pieces: ${server.bytesSent() - s1}`);
    // A sync without --only completes it, fetching only what is missing.
    const s2 = server.bytesSent();
    const full = await cliAsync(base);
    assert.equal(full.status, 0, full.stderr);
    assert.equal(sha256(out), sha256(image));
    assert.ok(server.bytesSent() - s2 <= statSync(image).size - (b.piecesHeld - 1) * 32768, 'the full sync resumed from the partial .part');
  });

  it('three partial peers that together cover the image, and no full seed, complete a fourth peer', { timeout: 240_000 }, async () => {
    const subsets = [
      only('pool/main/a', 'pool/main/b', 'pool/main/c', 'pool/main/d', 'pool/main/e', 'pool/main/f', 'pool/main/g', 'pool/main/h', 'pool/main/i'),
      only('pool/main/l', 'pool/main/liba', 'pool/main/libc', 'pool/main/libg', 'pool/main/libs', 'pool/main/libz', 'pool/main/m', 'pool/main/n', 'pool/main/o'),
      only('pool/main/p', 'pool/main/s', 'pool/main/t', 'pool/main/v', 'pool/main/x', 'pool/main/z', 'dists', '*.txt', '.disk'),
    ];
    const peers: Awaited<ReturnType<typeof partialSeed>>[] = [];
    const mirrorOnly = await startRangeServer({ '/distro-1.01.iso': image });
    try {
      for (const [i, s] of subsets.entries()) {
        mkdirSync(join(t.dir, `p${i}`));
        peers.push(await partialSeed([torrent, '-o', join(t.dir, `p${i}`, 'distro-1.01.iso'), ...s, '--mirror', `${mirrorOnly.url}/distro-1.01.iso`, '--no-catalog', '--home', join(t.dir, `h${i}`), '--port', '0']));
      }
      for (const [i, p] of peers.entries()) {
        assert.ok(existsSync(join(t.dir, `p${i}`, 'distro-1.01.iso.part')), `peer ${i} is partial`);
        assert.ok(!existsSync(join(t.dir, `p${i}`, 'distro-1.01.iso')), `peer ${i} has no whole image`);
        assert.match(p.output(), /partial: /);
      }
    } finally {
      // No full seed from here on: the mirror is gone.
      await mirrorOnly.close();
    }
    try {
      const out = join(t.dir, 'fourth.iso');
      const args = ['sync', torrent, '-o', out, '--no-catalog', '--home', join(t.dir, 'h4'), '--json'];
      for (const p of peers) args.push('--peer', `127.0.0.1:${p.port}`);
      const r = await cliAsync(args, { timeoutMs: 200_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(out), sha256(image));
      const report = JSON.parse(r.stdout) as { webSeeds: unknown[]; peers: { downloaded: number; list: { address: string; peerId?: string; downloaded: number }[] } };
      assert.deepEqual(report.webSeeds, []);
      // A peer is one peer id, not one address: PEX tells the partial peers about the fourth, one may dial it too, and
      // of the two connections both sides keep the one dialed by the lower peer id (random), listed under the
      // dialing side's ephemeral port. The dialed address's line always has the id: nobody can learn the fourth's
      // address before the fourth's own connection to that peer has shaken hands.
      for (const p of peers) {
        const id = report.peers.list.find((x) => x.address === `127.0.0.1:${p.port}`)?.peerId;
        assert.ok(id, `partial peer ${p.port} shook hands: ${JSON.stringify(report.peers.list)}`);
        const got = report.peers.list.filter((x) => x.peerId === id).reduce((n, x) => n + x.downloaded, 0);
        assert.ok(got > 0, `partial peer ${p.port} sent part of the image: ${JSON.stringify(report.peers.list)}`);
      }
    } finally {
      for (const p of peers) await p.stop();
    }
  });
});
