/**
 * `--download-limit` covers FTP mirrors too: a sync that takes the whole
 * image from a real FTP server on 127.0.0.1 (Debian's python3-pyftpdlib,
 * test/helpers/ftp_server.py) receives no more than the limit allows over
 * its run (the rate times the elapsed time plus the bucket's one-second
 * burst, with a margin), and still ends bit-identical; a delta sync under
 * the limit still ends its ranges early (ABOR) and reuses the connection. The bound is on bytes
 * against the time the run took, not a fixed time: on loopback the unlimited
 * run is several times faster than the limit, so a limiter that lets FTP
 * bytes by fails it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cli, cliAsync, tempDir } from '../helpers/env.js';
import { hasPyftpdlib, startFtpServer, type FtpServer } from '../helpers/ftp-server.js';
import { releasesDir, releasesMissing } from '../packages/releases.js';
import { sha256 } from '../sync/fixture-pair.js';
import { BURST_SECONDS } from '../../src/swarm/rate-limit.js';

const NO_FTP = 'needs python3-pyftpdlib (install with .ci/run or apt-get)';
const skip = releasesMissing() || (hasPyftpdlib() ? false : NO_FTP);
if (skip === NO_FTP) process.stderr.write(`# SKIP ftp download limit: ${skip}\n`);

/** 1 MiB/s: the ~5 MiB image then needs about 4 s (the first second's burst aside). */
const RATE = 1024 * 1024;

describe('FTP mirrors under --download-limit', { skip }, () => {
  let t: ReturnType<typeof tempDir>;
  let server: FtpServer;
  let image: string;
  let torrent: string;

  before(async () => {
    t = tempDir('isosync-ftp-limit-');
    const root = join(t.dir, 'root');
    mkdirSync(root);
    image = join(root, 'distro-1.01.iso');
    copyFileSync(join(releasesDir(), 'distro-1.01.iso'), image);
    torrent = join(t.dir, 'distro-1.01.iso.torrent');
    assert.equal(cli(['publish', image, '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub'), '-o', torrent]).status, 0);
    server = await startFtpServer(root);
  });
  after(async () => {
    await server.close();
    t.cleanup();
  });

  it('a whole-image sync from an FTP mirror stays at or under the limit plus its burst', async () => {
    const out = join(t.dir, 'out.iso');
    const started = performance.now();
    const r = await cliAsync(['sync', torrent, '-o', out, '--mirror', `${server.url}/distro-1.01.iso`, '--download-limit', String(RATE), '--no-catalog', '--home', join(t.dir, 'home'), '--json']);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(image));
    const report = JSON.parse(r.stdout) as { fetchedBytes: number; webSeeds: { url: string; bytes: number; dropped?: string }[] };
    const ftp = report.webSeeds[0]!;
    assert.ok(!ftp.dropped && ftp.bytes >= statSync(image).size, `the image came from the FTP mirror: ${JSON.stringify(report.webSeeds)}`);
    // The wall time includes the process's start, so it over-states the transfer's: the bound only gets looser.
    const allowed = RATE * (seconds + BURST_SECONDS) * 1.2;
    assert.ok(ftp.bytes <= allowed, `${ftp.bytes} bytes in ${seconds.toFixed(2)} s is above ${RATE} B/s plus a ${BURST_SECONDS} s burst (allowed ${Math.round(allowed)})`);
  });

  it('a delta sync under the limit still ends its ranges early (ABOR) and is bit-identical', async () => {
    const out = join(t.dir, 'delta.iso');
    const started = performance.now();
    const r = await cliAsync(['sync', torrent, '-o', out, '--from', join(releasesDir(), 'distro-1.00.iso'), '--mirror', `${server.url}/distro-1.01.iso`, '--download-limit', String(RATE), '--no-catalog', '--home', join(t.dir, 'home'), '--json']);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(image));
    const report = JSON.parse(r.stdout) as { fetchedBytes: number; reusedBytes: number; webSeeds: { url: string; bytes: number; dropped?: string }[] };
    const ftp = report.webSeeds[0]!;
    assert.ok(!ftp.dropped && ftp.bytes > 0 && ftp.bytes < statSync(image).size * 0.8, `ranges, not the whole file: ${JSON.stringify(report.webSeeds)}`);
    assert.ok(report.reusedBytes > 0, 'the old release filled the rest');
    const allowed = RATE * (seconds + BURST_SECONDS) * 1.2;
    assert.ok(ftp.bytes <= allowed, `${ftp.bytes} bytes in ${seconds.toFixed(2)} s is above ${RATE} B/s plus a ${BURST_SECONDS} s burst (allowed ${Math.round(allowed)})`);
  });
});
