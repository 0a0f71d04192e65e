/**
 * Test helper: a publisher and a follower as people run them. The publisher
 * has a key and a catalog, publishes the fixture releases with --sign into
 * an --out-dir, and serves it with a real `isosync serve` on 127.0.0.1 (a
 * child process); the follower has its own catalog and images folder. The
 * fixture releases: 1.00, 1.01, and 1.02 (distro-1.01-appended.iso, a
 * re-layout of 1.01 under another infohash).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BIN, cli, isosyncEnv, tempDir, type CliResult } from '../helpers/env.js';
import { RELEASES } from '../sync/fixture-pair.js';

export const HAVE_FIXTURES = ['distro-1.00.iso', 'distro-1.01.iso', 'distro-1.01-appended.iso'].every((f) => existsSync(join(RELEASES, f)));
const SOURCE: Record<string, string> = { '1.00': 'distro-1.00.iso', '1.01': 'distro-1.01.iso', '1.02': 'distro-1.01-appended.iso' };

export interface Server {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
  /** http and BitTorrent bytes the server sent so far. */
  sent(): Promise<{ http: number; bittorrent: number }>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>;
}

export function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** Starts `isosync serve DIR --port 0 --json` and resolves once it prints its URL. */
export function startServe(dir: string, home: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', dir, '--port', '0', '--home', home, '--json'], { env: isosyncEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('exit', (code) => reject(new Error(`serve exited early with ${code}: ${err}`)));
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      text += `${line}\n`;
      let url: string;
      try {
        url = (JSON.parse(text) as { url: string }).url;
      } catch {
        return;
      }
      lines.close();
      const stop = () =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.removeAllListeners('exit');
          child.once('exit', () => done());
          child.kill('SIGTERM');
        });
      const fetch = (path: string, headers: Record<string, string> = {}) => httpGet(`${url}${path}`, headers);
      resolve({
        url,
        child,
        stop,
        get: fetch,
        sent: async () => {
          const s = JSON.parse((await fetch('/status.json')).body.toString('utf8')) as { http: { bytesSent: number }; bittorrent: { bytesSent: number } };
          return { http: s.http.bytesSent, bittorrent: s.bittorrent.bytesSent };
        },
      });
    });
  });
}

export interface World {
  dir: string;
  pub: string;
  pubHome: string;
  userHome: string;
  imgs: string;
  key: string;
  publicKey: string;
  /** The fixture image of a release, as the publisher has it. */
  source(release: string): string;
  publish(release: string, extra?: string[]): CliResult;
  /** The follower runs `isosync ARGS --home USER_HOME`. */
  user(args: string[]): CliResult;
  userJson(args: string[]): { status: number | null; json: any; stderr: string };
  /** Files in the follower's images folder. */
  images(): string[];
  cleanup(): void;
}

export function makeWorld(): World {
  const t = tempDir('isosync-feed-');
  const dir = t.dir;
  const pub = join(dir, 'pub');
  const pubHome = join(dir, 'publisher-home');
  const userHome = join(dir, 'user-home');
  const imgs = join(dir, 'images');
  const key = join(dir, 'publisher.key');
  for (const [release, f] of Object.entries(SOURCE)) copyFileSync(join(RELEASES, f), join(dir, `distro-${release}.iso`));
  const k = cli(['keygen', '-o', key]);
  if (k.status !== 0) throw new Error(`keygen failed: ${k.stderr}`);
  const user = (args: string[]) => cli([...args, '--home', userHome], { timeoutMs: 180_000 });
  return {
    dir,
    pub,
    pubHome,
    userHome,
    imgs,
    key,
    publicKey: k.stdout.trim(),
    source: (release) => join(dir, `distro-${release}.iso`),
    publish: (release, extra = []) => {
      const r = cli(['publish', join(dir, `distro-${release}.iso`), '--product', 'distro', '--release', release, '--out-dir', pub, '--home', pubHome, ...(extra.includes('--sign') ? [] : ['--sign', key]), ...extra]);
      return r;
    },
    user,
    userJson: (args) => {
      const r = user([...args, '--json']);
      let json: unknown;
      try {
        json = JSON.parse(r.stdout);
      } catch {
        json = undefined;
      }
      return { status: r.status, json, stderr: r.stderr };
    },
    images: () => (existsSync(imgs) ? readdirSync(imgs).sort() : []),
    cleanup: t.cleanup,
  };
}

export function sameBytes(a: string, b: string): boolean {
  return readFileSync(a).equals(readFileSync(b));
}

/** A world where release 1.00 is published and served, and the user follows the feed and has updated once (assert-checked). */
export async function followingWorld(): Promise<{ w: World; server: Server }> {
  const w = makeWorld();
  assert.equal(w.publish('1.00').status, 0);
  const server = await startServe(w.pub, w.pubHome);
  assert.equal(w.user(['follow', `${server.url}/feeds/distro`]).status, 0);
  assert.equal(w.user(['update', '--yes', '--dir', w.imgs]).status, 0);
  return { w, server };
}
