/**
 * A real FTP server for tests: pyftpdlib (Debian's python3-pyftpdlib, run
 * by /usr/bin/python3) serving one folder anonymously and read-only on
 * 127.0.0.1, counting the file bytes its data connections send (so tests
 * count fetched bytes on the server side). test/helpers/ftp_server.py is
 * the server.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './env.js';

export const FTP_SCRIPT = join(ROOT, 'test', 'helpers', 'ftp_server.py');

/** Whether /usr/bin/python3 has pyftpdlib. */
export function hasPyftpdlib(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import pyftpdlib'], { stdio: 'ignore' }).status === 0;
}

export interface FtpServer {
  readonly url: string;
  readonly port: number;
  /** File bytes sent so far. */
  bytesSent(): Promise<number>;
  close(): Promise<void>;
}

export async function startFtpServer(folder: string): Promise<FtpServer> {
  const child: ChildProcessWithoutNullStreams = spawn('/usr/bin/python3', [FTP_SCRIPT, folder], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const waiters: ((line: string) => void)[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (;;) {
      const nl = out.indexOf('\n');
      if (nl < 0) break;
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      waiters.shift()?.(line);
    }
  });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`ftp server said nothing: ${err}`)), 10_000);
      waiters.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
  const first = await nextLine();
  const port = Number(/^PORT (\d+)$/.exec(first)?.[1]);
  if (!port) throw new Error(`ftp server did not start: ${first} ${err}`);
  return {
    url: `ftp://127.0.0.1:${port}`,
    port,
    bytesSent: async () => {
      child.stdin.write('bytes\n');
      return Number(/^BYTES (\d+)$/.exec(await nextLine())?.[1]);
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.write('quit\n');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}
