/**
 * A throwaway nginx on 127.0.0.1 for benchmarks: serves one folder, logs every
 * request with the bytes nginx itself counted ($body_bytes_sent), so a bench
 * reads what a client fetched from the server's side, not from the client.
 *
 * Everything nginx writes (config, pid, logs, temp folders) lives in `dir`;
 * stop() ends the master by its pid and waits for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/env.js';

/** How long nginx may take to answer its first request before the bench gives up. */
const START_TIMEOUT_MS = 10_000;
/** The access log is written when a request ends; wait until it has not grown for this long. */
const LOG_SETTLE_MS = 300;

export interface LoggedRequest {
  uri: string;
  status: number;
  /** $body_bytes_sent: response body bytes nginx sent. */
  bodyBytes: number;
  /** $bytes_sent: the same plus the response headers. */
  bytes: number;
}

export interface Traffic {
  requests: number;
  bodyBytes: number;
  bytes: number;
  byUri: Map<string, { requests: number; bodyBytes: number }>;
}

export { freePort };

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'HEAD' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Nginx {
  private child: ChildProcess | undefined;
  private readonly log: string;
  private logOffset = 0;

  private constructor(readonly dir: string, readonly port: number) {
    this.log = join(dir, 'access.log');
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /**
   * Starts nginx serving `root`; `dir` is its private folder for config, pid
   * and logs. `onSpawn` sees the instance as soon as the process exists, so a
   * signal handler can stop it even while it is still starting.
   */
  static async start(dir: string, root: string, onSpawn?: (n: Nginx) => void, opts: { limitRate?: string } = {}): Promise<Nginx> {
    const port = await freePort();
    const n = new Nginx(dir, port);
    const temp = join(dir, 'temp');
    mkdirSync(temp, { recursive: true });
    const asRoot = process.getuid?.() === 0;
    const conf = join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      [
        asRoot ? 'user root;' : '',
        'worker_processes 1;',
        'daemon off;',
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${join(dir, 'error.log')} warn;`,
        'events { worker_connections 1024; }',
        'http {',
        '  log_format bench \'$request_uri $status $body_bytes_sent $bytes_sent\';',
        `  access_log ${n.log} bench;`,
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${join(temp, k)};`),
        '  default_type application/octet-stream;',
        '  sendfile on;',
        '  server {',
        `    listen 127.0.0.1:${port};`,
        `    root ${root};`,
        // nginx's own per-connection send rate (e.g. "1m" = 1 MiB/s): a slow mirror.
        ...(opts.limitRate ? [`    limit_rate ${opts.limitRate};`] : []),
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    writeFileSync(n.log, '');
    const child = spawn('nginx', ['-p', `${dir}/`, '-e', join(dir, 'error.log'), '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    n.child = child;
    onSpawn?.(n);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        let errLog = '';
        try {
          errLog = readFileSync(join(dir, 'error.log'), 'utf8');
        } catch {
          /* nothing logged */
        }
        throw new Error(`nginx exited at start (${child.exitCode ?? child.signalCode}): ${(stderr + errLog).trim().slice(-500)}`);
      }
      try {
        await get(`${n.baseUrl}/`);
        break;
      } catch {
        if (Date.now() > deadline) {
          await n.stop();
          throw new Error(`nginx did not answer on ${n.baseUrl} within ${START_TIMEOUT_MS} ms`);
        }
        await sleep(50);
      }
    }
    await n.traffic(); // skip the readiness probes
    return n;
  }

  /** The requests logged since the previous call (waits for the log to settle first). */
  async traffic(): Promise<Traffic> {
    let size = statSync(this.log).size;
    for (;;) {
      await sleep(LOG_SETTLE_MS);
      const now = statSync(this.log).size;
      if (now === size) break;
      size = now;
    }
    const text = readFileSync(this.log).subarray(this.logOffset, size).toString('utf8');
    this.logOffset = size;
    const t: Traffic = { requests: 0, bodyBytes: 0, bytes: 0, byUri: new Map() };
    for (const line of text.split('\n')) {
      if (!line) continue;
      const m = /^(\S+) (\d+) (\d+) (\d+)$/.exec(line);
      if (!m) throw new Error(`unexpected nginx access log line: ${JSON.stringify(line)}`);
      const r: LoggedRequest = { uri: m[1]!, status: Number(m[2]), bodyBytes: Number(m[3]), bytes: Number(m[4]) };
      t.requests++;
      t.bodyBytes += r.bodyBytes;
      t.bytes += r.bytes;
      const u = t.byUri.get(r.uri) ?? { requests: 0, bodyBytes: 0 };
      u.requests++;
      u.bodyBytes += r.bodyBytes;
      t.byUri.set(r.uri, u);
    }
    return t;
  }

  /** Ends nginx (SIGTERM to the master, by its pid) and waits for it to exit. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** For a signal handler: ends nginx without waiting. */
  stopNow(): void {
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  }
}
