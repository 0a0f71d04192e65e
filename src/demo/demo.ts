/**
 * `isosync demo`: the README's main job, end to end on the committed fixture
 * releases, as a user would type it. Each step runs the real `isosync`
 * command in a child process and prints it first. A plain HTTP server on
 * 127.0.0.1 plays the distro's mirror (a web seed); everything started is
 * stopped, and the work folder is removed unless --keep.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IsosyncError } from '../errors.js';
import { serveFile, type StaticStats } from '../serve/static-files.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'isosync');
const RELEASES = join(ROOT, 'fixtures', 'releases');

export interface DemoOptions {
  /** Keep the work folder (default: removed at the end). */
  keep?: boolean;
  /** Work folder (default: a new temp folder). */
  dir?: string;
  out?: (line: string) => void;
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (c) => h.update(c)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
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
  const stats: StaticStats = { bytesSent: 0, requests: 0 };
  const server = createServer((req, res) => {
    serveFile(mirror, req, res, stats).catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const show = (p: string) => relative(work, p) || '.';
  const run = (args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      out(`\n$ isosync ${args.map((a) => (a.startsWith(work) ? show(a) : a)).join(' ')}`);
      const child = spawn(process.execPath, [BIN, ...args], { cwd: work, stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new IsosyncError('IO', `Demo step "isosync ${args[0]}" failed with exit code ${code}`))));
    });
  try {
    out(`isosync demo: a distro publishes 1.00 and 1.01; a user with 1.00 upgrades, then rolls back.`);
    out(`work folder ${work}; mirror (plain HTTP web seed) at ${url}`);
    for (const f of ['distro-1.00.iso', 'distro-1.01.iso']) copyFileSync(join(RELEASES, f), join(mirror, f));
    copyFileSync(join(RELEASES, 'distro-1.00.iso'), join(client, 'distro-1.00.iso'));
    const pubHome = join(work, 'publisher-home');
    const userHome = join(work, 'user-home');

    out('\n== The release team publishes each release (torrent + catalog; 1.01 carries delta hints against 1.00)');
    await run(['publish', join(mirror, 'distro-1.00.iso'), '--product', 'distro', '--release', '1.00', '--web-seed', `${url}/distro-1.00.iso`, '--home', pubHome]);
    await run(['publish', join(mirror, 'distro-1.01.iso'), '--product', 'distro', '--release', '1.01', '--previous', join(mirror, 'distro-1.00.torrent'), '--web-seed', `${url}/distro-1.01.iso`, '--home', pubHome]);

    out('\n== The user has 1.00 on disk and asks what 1.01 would change');
    await run(['diff', join(client, 'distro-1.00.iso'), join(mirror, 'distro-1.01.iso')]);
    await run(['plan', join(mirror, 'distro-1.01.torrent'), '--from', join(client, 'distro-1.00.iso'), '--home', userHome]);

    out('\n== Upgrade 1.00 -> 1.01: local bytes reused, only the changes fetched from the mirror');
    let before = stats.bytesSent;
    await run(['sync', join(mirror, 'distro-1.01.torrent'), '--from', join(client, 'distro-1.00.iso'), '-o', join(client, 'distro-1.01.iso'), '--home', userHome]);
    const up = stats.bytesSent - before;

    out('\n== Roll back 1.01 -> 1.00 (the catalog finds 1.01 on disk; the old 1.00 copy is not used)');
    rmSync(join(client, 'distro-1.00.iso'));
    before = stats.bytesSent;
    await run(['sync', join(mirror, 'distro-1.00.torrent'), '-o', join(client, 'distro-1.00.iso'), '--home', userHome]);
    const down = stats.bytesSent - before;

    out('\n== The packages that changed, extracted for the package manager');
    await run(['extract', join(client, 'distro-1.01.iso'), '--changed-from', join(client, 'distro-1.00.iso'), '-o', join(client, 'changed')]);

    const same = async (a: string, b: string) => (await sha256(a)) === (await sha256(b));
    const okUp = await same(join(client, 'distro-1.01.iso'), join(mirror, 'distro-1.01.iso'));
    const okDown = await same(join(client, 'distro-1.00.iso'), join(mirror, 'distro-1.00.iso'));
    out('\n== Summary (bytes counted by the mirror)');
    out(`upgrade:  mirror sent ${up} bytes for a ${statSync(join(mirror, 'distro-1.01.iso')).size}-byte image; result ${okUp ? 'bit-identical' : 'DIFFERENT'}`);
    out(`rollback: mirror sent ${down} bytes; result ${okDown ? 'bit-identical' : 'DIFFERENT'}`);
    if (!okUp || !okDown) throw new IsosyncError('VERIFY_FAILED', 'Demo result differs from the published image');
    if (opts.keep) out(`kept ${work}`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    if (!opts.keep && !opts.dir) rmSync(work, { recursive: true, force: true });
  }
}
