/**
 * Fuzz target of the hand-written HTTP/1.1 reply reader of plain-http web
 * seeds (src/webseed/lean-get.ts), over a real socket: a server on
 * 127.0.0.1 (one per worker, made on the first input, unref'ed so that it
 * never keeps a worker alive, and closed when the worker's process ends)
 * answers each GET with the input's bytes, in three writes a turn apart so
 * that the reader's state is split across reads, then ends the connection.
 *
 * The reader reports through its LeanReply, not by throwing: an input ends
 * in `end()` (accepted) or in `fail()` (refused, thrown here as the
 * project's own error). Foreign, whatever the input:
 * - a BAD_HTTP failure whose reason is not one of the reader's own (a
 *   TypeError inside the parser is caught there and reported as BAD_HTTP
 *   with its message: the reason gives it away);
 * - `end()` or `fail()` more than once, both, or neither (a hang, which the
 *   runner's watchdog names);
 * - body bytes before the head, or more body bytes than the reply held;
 * - a 1xx status handed on (those are skipped, the reply follows).
 */
import net from 'node:net';
import { IsosyncError } from '../../src/errors.js';
import { LeanPool } from '../../src/webseed/lean-get.js';
import type { Seed } from './mutate.js';
import type { FuzzTarget } from './protocol.js';

/** The reasons lean-get.ts gives a reply it cannot read (its `bad(...)` calls), as prefixes. */
const OWN_REASONS = [
  'bytes after the reply',
  'reply header too long',
  'chunk line too long',
  'no CRLF after a chunk',
  'bad chunk size',
  'not an HTTP/1 reply',
  'bad header line',
  'unsupported Transfer-Encoding ',
  'bad Content-Length ',
];

/** A request stalled this long fails (the server always ends its connection: never reached but by a defect). */
const STALL_MS = 10_000;

const text = (s: string): Seed => ({ bytes: new TextEncoder().encode(s) });

/** The input the server sends to the next connection. */
let reply: Uint8Array = new Uint8Array(0);
let server: Promise<number> | undefined;

/** The worker's server, on 127.0.0.1: its port. */
function serverPort(): Promise<number> {
  server ??= new Promise((resolve, reject) => {
    const s = net.createServer((socket) => {
      const bytes = reply;
      let got = '';
      socket.on('error', () => undefined);
      socket.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (!got.includes('\r\n\r\n')) return;
        socket.removeAllListeners('data');
        const third = Math.max(1, Math.ceil(bytes.length / 3));
        const send = (at: number): void => {
          if (socket.destroyed) return;
          if (at >= bytes.length) return void socket.end();
          socket.write(bytes.subarray(at, at + third));
          setImmediate(() => send(at + third));
        };
        send(0);
      });
    });
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      s.unref();
      process.once('exit', () => s.close());
      resolve((s.address() as net.AddressInfo).port);
    });
  });
  return server;
}

/** One GET whose reply is `input`; resolves when the reader ends it, throws IsosyncError when it refuses it. */
async function runLeanGet(input: Uint8Array): Promise<number> {
  const port = await serverPort();
  reply = input;
  const pool = new LeanPool('127.0.0.1', port, STALL_MS);
  let violation: string | undefined;
  const broken = (m: string): void => void (violation ??= m);
  let headSeen = false;
  let bodyBytes = 0;
  let outcomes = 0;
  try {
    const result = await new Promise<{ ok: true } | { ok: false; code: string; message: string }>((resolve) => {
      pool.get('/image.iso', { Range: 'bytes=0-99' }, {
        head(status) {
          if (status >= 100 && status < 200) broken(`a ${status} reply was handed on`);
          headSeen = true;
          return true;
        },
        body(bytes) {
          if (!headSeen) broken('body bytes before the head');
          bodyBytes += bytes.length;
          if (bodyBytes > input.length) broken(`${bodyBytes} body bytes from a reply of ${input.length}`);
        },
        end() {
          if (outcomes++ > 0) broken('end() after the reply had ended');
          resolve({ ok: true });
        },
        fail(code, message) {
          if (outcomes++ > 0) broken(`fail(${code}) after the reply had ended`);
          resolve({ ok: false, code, message });
        },
      });
    });
    // Anything the reader does after its outcome (a second end or fail) comes on a later turn.
    await new Promise((r) => setImmediate(r));
    if (violation !== undefined) throw new Error(`lean-get broke a rule: ${violation}`);
    if (result.ok) return bodyBytes;
    if (result.code === 'BAD_HTTP' && !OWN_REASONS.some((r) => result.message.startsWith(r))) throw new Error(`lean-get failed with a reason of no parser rule: ${result.message}`);
    throw new IsosyncError('BAD_REPLY', `Cannot read the reply: ${result.code} ${result.message}`, { reason: result.message });
  } finally {
    pool.close();
  }
}

export const LEAN_GET_TARGET: FuzzTarget = {
  name: 'lean-get',
  what: 'HTTP/1.1 replies to a plain-http web seed GET, over a 127.0.0.1 socket (src/webseed/lean-get.ts)',
  seeds: async () => [
    text('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\nContent-Length: 10\r\n\r\n0123456789'),
    text('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\n'),
    text('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc'),
    text('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\nthe body runs until the connection ends'),
    text('HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n'),
    text('HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */100\r\nContent-Length: 0\r\n\r\n'),
  ],
  dictionary: ['\r\n', '\r\n\r\n', 'HTTP/1.1 200 OK', 'HTTP/1.1 100 Continue\r\n\r\n', 'Content-Length: ', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Connection: close', '0\r\n\r\n', 'ffffffffffff', ';', ':', '9999999999999999'],
  // An input is a connection and a few turns of the event loop (~1-2 ms): fewer than the parsers' 10,000 in the test run.
  shortRun: 2000,
  settle: true,
  run: (b) => runLeanGet(b),
};
