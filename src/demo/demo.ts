/**
 * `isosync demo`: the README's main job, end to end on the committed fixture
 * releases, as a user would type it. Each step runs the real `isosync`
 * command in a child process and prints it first.
 *
 * The distro's server is `isosync serve` on 127.0.0.1: a plain file server
 * that also hands out torrents, runs the tracker, seeds over BitTorrent and
 * answers web-seed range requests. The user gives only the image URL. The
 * bytes in the summary are counted by that server (HTTP and BitTorrent), not
 * by the client. A second machine follows the distro's signed release
 * feed: it installs 1.00, is updated to 1.01 by `isosync update` (package
 * diff first, then a delta), and rolls back. Everything started is stopped,
 * and the work folder is removed unless --keep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { IsosyncError } from '../errors.js';
import { remasterPath } from './remaster-path.js';

/** The checkout: the nearest folder above this module that has bin/isosync (tsc's dist/src/demo/ and the bundle's dist/bundle/ sit at different depths). */
function checkout(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', 'isosync')) || dir === dirname(dir)) return dir;
  }
}

const ROOT = checkout();
const BIN = join(ROOT, 'bin', 'isosync');
const RELEASES = join(ROOT, 'fixtures', 'releases');
/** The server must start within this (it hashes the two 5 MB fixtures first). */
const SERVER_START_MS = 60_000;
/** A demo step that takes longer than this has hung. */
const STEP_TIMEOUT_MS = 120_000;

export interface DemoOptions {
  /** Keep the work folder (default: removed at the end). */
  keep?: boolean;
  /** Work folder (default: a new temp folder). */
  dir?: string;
  out?: (line: string) => void;
}

interface ServerCounters {
  http: number;
  bittorrent: number;
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (c) => h.update(c)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

async function sameFile(a: string, b: string): Promise<boolean> {
  return (await sha256(a)) === (await sha256(b));
}

function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (e) {
          reject(new IsosyncError('IO', `Demo cannot read ${url}: ${(e as Error).message}`));
        }
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function counters(url: string): Promise<ServerCounters> {
  const s = (await getJson(`${url}/status.json`)) as { http: { bytesSent: number }; bittorrent: { bytesSent: number } };
  return { http: s.http.bytesSent, bittorrent: s.bittorrent.bytesSent };
}

/** Starts `isosync serve` (or seed) and resolves with `key` of the JSON document it prints once it listens. */
function startServer(args: string[], cwd: string, key: 'url' | 'port' = 'url'): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new IsosyncError('IO', 'Demo server did not start within 60 s'));
    }, SERVER_START_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new IsosyncError('IO', `Demo server "isosync serve" exited early with code ${code}`));
    });
    // --json prints one JSON document (over several lines) once it listens.
    let text = '';
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      text += `${line}\n`;
      let url: unknown;
      try {
        url = (JSON.parse(text) as Record<string, unknown>)[key];
      } catch {
        return; // not complete yet
      }
      clearTimeout(timer);
      lines.close();
      if (typeof url === 'string' || typeof url === 'number') resolve({ child, url: String(url) });
      else {
        child.kill('SIGTERM');
        reject(new IsosyncError('IO', `Demo server printed ${JSON.stringify(text.trim())} instead of its address`));
      }
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function runDemo(opts: DemoOptions = {}): Promise<void> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  for (const f of ['distro-1.00.iso', 'distro-1.01.iso']) {
    if (!existsSync(join(RELEASES, f))) throw new IsosyncError('NOT_FOUND', `Cannot run the demo: fixture ${JSON.stringify(join(RELEASES, f))} is missing (run npm run fixtures)`);
  }
  const work = opts.dir ?? mkdtempSync(join(tmpdir(), 'isosync-demo-'));
  const mirror = join(work, 'mirror');
  const client = join(work, 'client');
  mkdirSync(mirror, { recursive: true });
  mkdirSync(client, { recursive: true });
  const pubHome = join(work, 'publisher-home');
  const userHome = join(work, 'user-home');
  const machine = join(work, 'machine');
  const machineHome = join(work, 'machine-home');
  const key = join(work, 'distro.key');
  const show = (p: string) => relative(work, p) || '.';
  const children = new Set<ChildProcess>();
  const run = (args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      out(`\n$ isosync ${args.map((a) => (a.startsWith(work) ? show(a) : a)).join(' ')}`);
      const child = spawn(process.execPath, [BIN, ...args], { cwd: work, stdio: ['ignore', 'inherit', 'inherit'] });
      children.add(child);
      const timer = setTimeout(() => child.kill('SIGTERM'), STEP_TIMEOUT_MS);
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        children.delete(child);
        if (code === 0) resolve();
        else reject(new IsosyncError('IO', `Demo step "isosync ${args[0]}" failed with ${signal ? `signal ${signal}` : `exit code ${code}`}`));
      });
    });
  let server: ChildProcess | undefined;
  try {
    out(`isosync demo: a distro publishes 1.00 and 1.01 on its server; a user with 1.00 upgrades, then rolls back; a machine that follows the distro's signed feed updates itself.`);
    out(`work folder ${work}`);
    copyFileSync(join(RELEASES, 'distro-1.00.iso'), join(mirror, 'distro-1.00.iso'));
    copyFileSync(join(RELEASES, 'distro-1.00.iso'), join(client, 'distro-1.00.iso'));

    out('\n== The release team makes its signing key and publishes 1.00, signed, with its release feed (mirror/feeds/distro)');
    await run(['keygen', '-o', key]);
    await run(['publish', join(mirror, 'distro-1.00.iso'), '--product', 'distro', '--release', '1.00', '--sign', key, '--out-dir', mirror, '--home', pubHome]);

    out('\n== The release team serves the folder: files over HTTP, a torrent per image, a tracker, a seed, web-seed ranges');
    out(`$ isosync serve mirror --port 0 --min-size 1 --home publisher-home`);
    const started = await startServer(['serve', mirror, '--port', '0', '--min-size', '1', '--home', pubHome, '--json'], work);
    server = started.child;
    const url = started.url;
    out(`server at ${url}/ (tracker ${url}/announce, status ${url}/status, feed ${url}/feeds/distro)`);

    out('\n== Follow and update: a machine subscribes to the signed feed (the key is pinned on first use) and installs the newest release');
    await run(['follow', `${url}/feeds/distro`, '--home', machineHome]);
    await run(['update', '--yes', '--dir', machine, '--home', machineHome]);

    out('\n== The release team publishes 1.01 (delta hints against 1.00, signed, added to the feed) while the server runs');
    copyFileSync(join(RELEASES, 'distro-1.01.iso'), join(mirror, 'distro-1.01.iso'));
    await run(['publish', join(mirror, 'distro-1.01.iso'), '--product', 'distro', '--release', '1.01', '--previous', join(mirror, 'distro-1.00.iso.torrent'), '--sign', key, '--out-dir', mirror, '--home', pubHome]);

    out('\n== The user has 1.00 on disk and asks what 1.01 would change');
    await run(['diff', join(client, 'distro-1.00.iso'), join(mirror, 'distro-1.01.iso')]);
    await run(['plan', `${url}/distro-1.01.iso`, '--from', join(client, 'distro-1.00.iso'), '--home', userHome]);

    out('\n== Upgrade 1.00 -> 1.01 from the image URL: local bytes reused, only the changes fetched (peers and web seed)');
    let before = await counters(url);
    await run([`${url}/distro-1.01.iso`, '--from', join(client, 'distro-1.00.iso'), '-o', join(client, 'distro-1.01.iso'), '--home', userHome]);
    let after = await counters(url);
    const up = { http: after.http - before.http, bittorrent: after.bittorrent - before.bittorrent };

    out('\n== Roll back 1.01 -> 1.00 (the catalog finds 1.01 on disk; the old 1.00 copy is gone)');
    rmSync(join(client, 'distro-1.00.iso'));
    before = after;
    await run([`${url}/distro-1.00.iso`, '-o', join(client, 'distro-1.00.iso'), '--home', userHome]);
    after = await counters(url);
    const down = { http: after.http - before.http, bittorrent: after.bittorrent - before.bittorrent };

    out('\n== The machine updates itself from the feed: the signed feed and torrent are checked, the package diff shown, only the changes fetched');
    before = await counters(url);
    await run(['update', '--yes', '--home', machineHome]);
    after = await counters(url);
    const follow = { http: after.http - before.http, bittorrent: after.bittorrent - before.bittorrent };
    const okFollow = await sameFile(join(machine, 'distro-1.01.iso'), join(mirror, 'distro-1.01.iso'));
    await run(['rollback', 'distro', '--home', machineHome]);
    const okFollowBack = await sameFile(join(machine, 'distro-1.00.iso'), join(mirror, 'distro-1.00.iso'));
    await run(['status', '--home', machineHome]);

    const stock = await remasterPath(run, startServer, children, out, work, mirror, pubHome);

    out('\n== The packages that changed, extracted for the package manager');
    await run(['extract', join(client, 'distro-1.01.iso'), '--changed-from', join(client, 'distro-1.00.iso'), '-o', join(client, 'changed')]);

    const same = sameFile;
    const okUp = await same(join(client, 'distro-1.01.iso'), join(mirror, 'distro-1.01.iso'));
    const okDown = await same(join(client, 'distro-1.00.iso'), join(mirror, 'distro-1.00.iso'));
    const size = statSync(join(mirror, 'distro-1.01.iso')).size;
    out('\n== Summary (bytes counted by the server)');
    out(`upgrade:  server sent ${up.http + up.bittorrent} bytes (HTTP ${up.http}, BitTorrent ${up.bittorrent}) for a ${size}-byte image; result ${okUp ? 'bit-identical' : 'DIFFERENT'}`);
    out(`rollback: server sent ${down.http + down.bittorrent} bytes (HTTP ${down.http}, BitTorrent ${down.bittorrent}); result ${okDown ? 'bit-identical' : 'DIFFERENT'}`);
    out(`follow and update: server sent ${follow.http + follow.bittorrent} bytes (HTTP ${follow.http}, BitTorrent ${follow.bittorrent}) for 1.00 -> 1.01; result ${okFollow ? 'bit-identical' : 'DIFFERENT'}; rollback ${okFollowBack ? 'bit-identical' : 'DIFFERENT'}`);
    if (stock) out(`stock libtorrent with 1.00 on disk: fetched ${stock.scratch} bytes of 1.01 rebuilt from scratch, ${stock.remastered} bytes of 1.01 remastered over 1.00 (the blocks that differ from 1.00 hold ${stock.floor})`);
    if (!okUp || !okDown || !okFollow || !okFollowBack) throw new IsosyncError('VERIFY_FAILED', 'Demo result differs from the published image');
    if (opts.keep) out(`kept ${work}`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    if (server) await stopChild(server);
    if (!opts.keep && !opts.dir) rmSync(work, { recursive: true, force: true });
  }
}
