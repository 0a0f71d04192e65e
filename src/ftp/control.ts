/**
 * One FTP control connection (RFC 959) that fetches byte ranges of a file:
 *
 *   login     USER / PASS, TYPE I (binary)
 *   SIZE      the file's length (RFC 3659 §4), checked against the torrent
 *   a range   EPSV (RFC 2428; PASV when the server lacks it), a data
 *             connection to the control connection's own address (the
 *             address in a 227 reply is ignored: a server cannot point us
 *             elsewhere), REST start (RFC 3659 §5), RETR; the bytes are read
 *             until the range is complete (with a download limit, each
 *             chunk waits for its tokens, the data connection paused), then
 *             the data connection is closed early and ABOR sent (RFC 959
 *             §4.1.3); the two replies that follow (the transfer's 226 or
 *             426, ABOR's 225 or 226) are read before the connection serves
 *             the next range.
 *
 * A connection serves one range at a time. Anything unexpected (a reply
 * out of place, no byte for `stallMs`, a closed socket) fails the range and
 * the connection: its owner opens another or gives the mirror up.
 */
import net from 'node:net';
import { IsosyncError } from '../errors.js';
import type { ByteGate } from '../engine/handle.js';
import { parseEpsv, parsePasv, parseSize, ReplyReader, type Reply } from './reply.js';

export interface FtpEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** How long the two replies after an early close may take before the connection is given up. */
export const ABORT_REPLIES_MS = 5000;

export class FtpControl {
  private readonly replies: Reply[] = [];
  private waiter: { resolve: (r: Reply) => void; reject: (e: unknown) => void } | undefined;
  private failure: IsosyncError | undefined;
  private busy = false;
  private dead = false;

  private constructor(
    private readonly socket: net.Socket,
    readonly label: string,
    private readonly stallMs: number,
  ) {
    const reader = new ReplyReader((r) => this.deliver(r));
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (e) {
        this.fail(e instanceof IsosyncError ? e : this.error('BAD_REPLY', String(e)));
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => this.fail(this.error('NETWORK', e.code ?? e.message)));
    socket.on('close', () => this.fail(this.error('NETWORK', 'the server closed the control connection')));
  }

  /** Connects and logs in (binary mode). */
  static async open(ep: FtpEndpoint, label: string, stallMs: number): Promise<FtpControl> {
    if (/[\r\n]/.test(ep.user + ep.password)) throw new IsosyncError('BAD_ARGUMENT', `Cannot log in to ${label}: a line break in the user name or password`);
    const socket = net.connect({ host: ep.host, port: ep.port });
    socket.setNoDelay(true);
    const c = new FtpControl(socket, label, stallMs);
    try {
      c.expect(await c.reply(), [220], 'greeting');
      let r = await c.send(`USER ${ep.user}`);
      if (r.code === 331 || r.code === 332) r = await c.send(`PASS ${ep.password}`);
      c.expect(r, [230, 202], 'login');
      c.expect(await c.send('TYPE I'), [200], 'TYPE I');
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  get usable(): boolean {
    return !this.dead && !this.busy;
  }

  /** The file's size (SIZE). */
  async size(path: string): Promise<number> {
    const r = await this.send(`SIZE ${path}`);
    this.expect(r, [213], `SIZE ${path}`);
    return parseSize(r.text);
  }

  /**
   * Bytes [start, end) of `path` (whose length is `fileSize`), handed to
   * `onData(offset, bytes)` as they arrive. `stopped()` is asked as bytes
   * arrive: when it says so, the transfer ends early (nobody wants the rest).
   * With a `gate` (--download-limit), every chunk takes its bytes from it
   * before it counts, the data connection paused meanwhile.
   */
  async retrieve(path: string, start: number, end: number, fileSize: number, onData: (offset: number, bytes: Uint8Array) => void, stopped: () => boolean, gate?: ByteGate): Promise<void> {
    if (this.busy || this.dead) throw this.error('NETWORK', 'the connection is busy or closed');
    this.busy = true;
    let data: net.Socket | undefined;
    try {
      data = await this.openData();
      if (start > 0) this.expect(await this.send(`REST ${start}`), [350], `REST ${start}`);
      const want = end - start;
      let got = 0;
      let early = false;
      const flow = new Promise<void>((resolve, reject) => {
        const sock = data!;
        const stall = () => this.error('TIMEOUT', `no data for ${this.stallMs / 1000} s`);
        let timer: NodeJS.Timeout | undefined = setTimeout(() => done(stall()), this.stallMs);
        let settled = false;
        const done = (e?: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (e) reject(e);
          else resolve();
        };
        const take = (chunk: Buffer) => {
          if (settled) return;
          const n = Math.min(chunk.length, want - got);
          if (n > 0) onData(start + got, chunk.subarray(0, n));
          got += n;
          if ((got >= want && start + got < fileSize) || (got < want && stopped())) {
            early = true;
            sock.destroy();
            done();
          }
        };
        // With a download limit, each chunk waits for its tokens with the data connection
        // paused (TCP pushes back on the server); the end waits behind the chunks before it.
        let passed = Promise.resolve();
        const inOrder = (run: () => void) => {
          if (!gate) return run();
          passed = passed.then(run, run);
        };
        sock.on('data', (chunk: Buffer) => {
          clearTimeout(timer);
          if (!gate) {
            timer = setTimeout(() => done(stall()), this.stallMs);
            return take(chunk);
          }
          // Waiting for tokens is not a stall: the timer restarts when the bytes pass.
          timer = undefined;
          sock.pause();
          passed = passed
            .then(() => gate.take(chunk.length))
            .then(() => {
              take(chunk);
              if (settled) return;
              timer = setTimeout(() => done(stall()), this.stallMs);
              sock.resume();
            })
            .catch(done);
        });
        sock.on('end', () => inOrder(() => done()));
        sock.on('error', (e: NodeJS.ErrnoException) => done(this.error('NETWORK', `data connection: ${e.code ?? e.message}`)));
        sock.on('close', () => inOrder(() => done()));
      });
      flow.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      const first = await this.send(`RETR ${path}`);
      if (first.code !== 150 && first.code !== 125) {
        data.destroy();
        this.expect(first, [150, 125], `RETR ${path}`);
      }
      await flow;
      if (early) {
        await this.abort();
      } else {
        const last = await this.reply();
        this.expect(last, [226, 250], `RETR ${path}`);
        if (got < want) throw this.error('BAD_REPLY', `the file ended after ${start + got} bytes, expected ${end}`);
      }
    } catch (e) {
      data?.destroy();
      this.close();
      throw e;
    } finally {
      this.busy = false;
    }
  }

  /** After an early close: ABOR, then the transfer's final reply and ABOR's own (in either order). */
  private async abort(): Promise<void> {
    this.socket.write('ABOR\r\n');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.error('TIMEOUT', 'no reply to ABOR')), ABORT_REPLIES_MS);
    });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await Promise.race([this.reply(), deadline]);
        if (r.code === 421 || r.code >= 500) throw this.error('BAD_REPLY', `ABOR answered ${r.code} ${r.text}`);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private async openData(): Promise<net.Socket> {
    const host = this.socket.remoteAddress ?? '127.0.0.1';
    let port: number;
    const e = await this.send('EPSV');
    if (e.code === 229) port = parseEpsv(e.text);
    else {
      const p = await this.send('PASV');
      this.expect(p, [227], 'PASV');
      port = parsePasv(p.text).port;
    }
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(this.error('TIMEOUT', `data connection to port ${port} not made in ${this.stallMs / 1000} s`));
      }, this.stallMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(this.error('NETWORK', `data connection to port ${port}: ${err.code ?? err.message}`));
      });
    });
  }

  private send(line: string): Promise<Reply> {
    if (this.dead) return Promise.reject(this.failure ?? this.error('NETWORK', 'the connection is closed'));
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  /** The next reply, waiting at most stallMs. */
  private reply(): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.dead) return Promise.reject(this.failure ?? this.error('NETWORK', 'the connection is closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(this.error('TIMEOUT', `no reply in ${this.stallMs / 1000} s`));
      }, this.stallMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  private deliver(r: Reply): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w.resolve(r);
    else this.replies.push(r);
  }

  private expect(r: Reply, codes: readonly number[], what: string): void {
    if (!codes.includes(r.code)) throw this.error(r.code >= 400 ? 'NETWORK' : 'BAD_REPLY', `${what} answered ${r.code} ${r.text.split('\n')[0]}`, { status: r.code });
  }

  private error(code: 'NETWORK' | 'BAD_REPLY' | 'TIMEOUT', why: string, fields: Record<string, unknown> = {}): IsosyncError {
    return new IsosyncError(code, `FTP mirror ${this.label} failed: ${why}`, { url: this.label, reason: why, ...fields });
  }

  private fail(e: IsosyncError): void {
    if (this.dead) return;
    this.dead = true;
    this.failure = e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
    this.socket.destroy();
  }

  /** Closes the connection (QUIT is not waited for). */
  close(): void {
    if (this.dead) return;
    try {
      this.socket.end('QUIT\r\n');
    } catch {
      // already gone
    }
    this.fail(this.error('NETWORK', 'closed'));
  }
}
