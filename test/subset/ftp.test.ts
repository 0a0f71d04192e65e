/**
 * FTP mirrors, against a real FTP server on 127.0.0.1 (Debian's
 * python3-pyftpdlib, test/helpers/ftp_server.py): a delta sync takes byte
 * ranges (REST, RETR ended early) from `--mirror ftp://...` and from an
 * ftp:// url-list entry of the torrent, bit-identical; an FTP mirror that
 * sends wrong bytes is dropped like an HTTP one and the others finish.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { cli, cliAsync, freePort, hasTool, tempDir } from '../helpers/env.js';
import { hasPyftpdlib, startFtpServer, type FtpServer } from '../helpers/ftp-server.js';
import { releasesDir, releasesMissing } from '../packages/releases.js';
import { sha256 } from '../sync/fixture-pair.js';

const skip = releasesMissing() || (hasPyftpdlib() ? false : 'needs python3-pyftpdlib (install with .ci/run or apt-get)');
if (skip === 'needs python3-pyftpdlib (install with .ci/run or apt-get)') process.stderr.write(`# SKIP ftp: ${skip}\n`);

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

interface Report {
  reusedBytes: number;
  fetchedBytes: number;
  webSeeds: { url: string; bytes: number; dropped?: string }[];
  warnings: { code: string; source: string }[];
}

describe('FTP mirrors', { skip }, () => {
  let t: ReturnType<typeof tempDir>;
  let good: FtpServer;
  let liar: FtpServer;
  let image: string;
  let torrent: string;
  let old: string;

  before(async () => {
    t = tempDir('isosync-ftp-');
    const goodDir = join(t.dir, 'good');
    const liarDir = join(t.dir, 'liar');
    mkdirSync(goodDir);
    mkdirSync(liarDir);
    image = join(goodDir, 'distro-1.01.iso');
    copyFileSync(join(releasesDir(), 'distro-1.01.iso'), image);
    old = join(releasesDir(), 'distro-1.00.iso');
    // The liar has a file of the right size whose bytes are wrong in every 64 KiB.
    const bad = readFileSync(image);
    for (let i = 1000; i < bad.length; i += 65536) bad[i] = bad[i]! ^ 0xff;
    writeFileSync(join(liarDir, 'distro-1.01.iso'), bad);
    torrent = join(t.dir, 'distro-1.01.iso.torrent');
    assert.equal(cli(['publish', image, '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub'), '-o', torrent]).status, 0);
    good = await startFtpServer(goodDir);
    liar = await startFtpServer(liarDir);
  });
  after(async () => {
    await good.close();
    await liar.close();
    t.cleanup();
  });

  async function sync(label: string, args: string[]): Promise<{ report: Report; out: string; stderr: string }> {
    const out = join(t.dir, `${label}.iso`);
    const r = await cliAsync(['sync', torrent, '-o', out, '--no-catalog', '--home', join(t.dir, 'home'), '--json', ...args], { timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    return { report: JSON.parse(r.stdout) as Report, out, stderr: r.stderr };
  }

  it('a delta sync fetches byte ranges from an FTP mirror, bit-identical', async () => {
    const sentBefore = await good.bytesSent();
    const { report, out } = await sync('delta', ['--from', old, '--mirror', `${good.url}/distro-1.01.iso`]);
    assert.equal(sha256(out), sha256(image));
    assert.ok(report.reusedBytes > statSync(image).size / 2, 'most of it came from 1.00');
    const ftp = report.webSeeds[0]!;
    // Short gaps between ranges are read through (ftp-peer.ts READ_THROUGH_BYTES), so more than the fetched bytes arrive.
    assert.ok(report.fetchedBytes < statSync(image).size / 2 && ftp.bytes >= report.fetchedBytes && ftp.bytes < statSync(image).size * 0.8, `ranges, not the whole file: ${ftp.bytes} bytes taken, ${report.fetchedBytes} used`);
    assert.ok((await good.bytesSent()) > sentBefore, 'the server sent them');
  });

  it('an ftp:// URL in the url-list is a web seed too', async () => {
    const withSeed = join(t.dir, 'seeded.torrent');
    assert.equal(cli(['publish', image, '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub2'), '--web-seed', `${good.url}/`, '-o', withSeed]).status, 0);
    const out = join(t.dir, 'url-list.iso');
    const r = await cliAsync(['sync', withSeed, '-o', out, '--no-catalog', '--home', join(t.dir, 'home'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(image));
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.webSeeds[0]?.url, `${good.url}/distro-1.01.iso`);
  });

  it('an FTP mirror that sends wrong bytes is dropped with a warning and the others finish the image', async () => {
    const { report, out, stderr } = await sync('liar', ['--mirror', `${liar.url}/distro-1.01.iso`, '--mirror', `${good.url}/distro-1.01.iso`]);
    assert.equal(sha256(out), sha256(image));
    const bad = report.webSeeds.find((w) => w.url.startsWith(liar.url));
    assert.ok(bad?.dropped, `the lying mirror was dropped: ${JSON.stringify(report.webSeeds)}`);
    assert.ok(report.warnings.some((w) => w.code === 'WEB_SEED_DROPPED' && w.source === `web seed ${bad.url}`), JSON.stringify(report.warnings));
    assert.match(stderr, /warning: web seed ftp:/);
  });

  it('an FTP mirror with a file of another size is dropped before any byte is used', async () => {
    const dir = join(t.dir, 'short');
    mkdirSync(dir);
    writeFileSync(join(dir, 'distro-1.01.iso'), readFileSync(image).subarray(0, 1_000_000));
    const short = await startFtpServer(dir);
    try {
      const { report, out } = await sync('short', ['--mirror', `${short.url}/distro-1.01.iso`, '--mirror', `${good.url}/distro-1.01.iso`]);
      assert.equal(sha256(out), sha256(image));
      assert.match(report.webSeeds.find((w) => w.url.startsWith(short.url))?.dropped ?? '', /1000000 bytes/);
    } finally {
      await short.close();
    }
  });
});

describe('FTP mirrors: vsftpd', { skip: releasesMissing() || (hasTool('vsftpd') || hasTool('/usr/sbin/vsftpd') ? false : 'needs vsftpd') }, () => {
  it('a delta sync from vsftpd (anonymous, passive, REST and ABOR) is bit-identical', async () => {
    const t = tempDir('isosync-vsftpd-');
    const root = join(t.dir, 'root');
    mkdirSync(root, { mode: 0o755 });
    mkdirSync(join(t.dir, 'empty'));
    const image = join(root, 'distro-1.01.iso');
    copyFileSync(join(releasesDir(), 'distro-1.01.iso'), image);
    const port = await freePort();
    const conf = join(t.dir, 'vsftpd.conf');
    writeFileSync(conf, [
      'listen=YES', 'listen_ipv6=NO', 'listen_address=127.0.0.1', `listen_port=${port}`, 'anonymous_enable=YES', 'local_enable=NO', 'write_enable=NO',
      `anon_root=${root}`, 'no_anon_password=YES', 'pasv_enable=YES', 'pasv_address=127.0.0.1', 'background=NO', 'seccomp_sandbox=NO',
      `secure_chroot_dir=${join(t.dir, 'empty')}`, 'run_as_launching_user=YES', 'xferlog_enable=NO', '',
    ].join('\n'));
    const bin = hasTool('vsftpd') ? 'vsftpd' : '/usr/sbin/vsftpd';
    const server = spawn(bin, [conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    server.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
    const gone = new Promise((r) => server.on('exit', r));
    try {
      // vsftpd prints nothing when it listens: wait until the port accepts.
      for (let i = 0; i < 100 && !(await accepts(port)); i++) await new Promise((r) => setTimeout(r, 50));
      const torrent = join(t.dir, 'd.torrent');
      assert.equal(cli(['publish', image, '--product', 'distro', '--release', '1.01', '--home', join(t.dir, 'pub'), '-o', torrent]).status, 0);
      const out = join(t.dir, 'out.iso');
      const r = await cliAsync(['sync', torrent, '-o', out, '--from', join(releasesDir(), 'distro-1.00.iso'), '--mirror', `ftp://127.0.0.1:${port}/distro-1.01.iso`, '--no-catalog', '--home', join(t.dir, 'home'), '--json']);
      assert.equal(r.status, 0, `${r.stderr} ${log}`);
      assert.equal(sha256(out), sha256(image));
      const report = JSON.parse(r.stdout) as Report;
      assert.ok(report.webSeeds[0]!.bytes > 0 && !report.webSeeds[0]!.dropped, JSON.stringify(report.webSeeds));
    } finally {
      server.kill('SIGTERM');
      await gone;
      t.cleanup();
    }
  });
});
