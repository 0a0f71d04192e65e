/**
 * A small real HTTP file server on 127.0.0.1 for tests: serves files with
 * single byte ranges, counts the body bytes it sends (so tests count fetched
 * bytes on the server side, not isosync's), and can misbehave on purpose.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

/** 'hold' keeps every request unanswered until the mode changes, then answers them in the new mode (a mirror that stops answering for a while). */
export type Misbehaviour = 'none' | 'corrupt' | 'truncate' | '404' | '500' | 'stall' | 'ignore-range' | 'slow' | 'single-range-only' | 'trickle' | 'hold';

/** 'trickle' sends bodies in blocks of this many bytes, one per TRICKLE_MS (about 20 KiB/s a connection): a sync that lasts seconds. */
const TRICKLE_BYTES = 2 * 1024;
const TRICKLE_MS = 100;

export interface RangeServer {
  url: string;
  /** Body bytes sent so far. */
  bytesSent: () => number;
  requests: () => number;
  setMode: (m: Misbehaviour) => void;
  close: () => Promise<void>;
}

function readPart(path: string, start: number, len: number): Buffer {
  const body = Buffer.alloc(len);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, body, 0, len, start);
  } finally {
    closeSync(fd);
  }
  return body;
}

/** `bytes=a-b,c-d,...` -> inclusive pairs; [] when absent or malformed (serve whole); 'unsatisfiable' when none fits. */
function parseRanges(header: string, size: number): [number, number][] | 'unsatisfiable' {
  const m = /^bytes=(.+)$/.exec(header);
  if (!m) return [];
  const out: [number, number][] = [];
  for (const part of m[1]!.split(',')) {
    const r = /^\s*(\d+)-(\d*)\s*$/.exec(part);
    if (!r) return [];
    const a = Number(r[1]);
    const b = r[2] ? Math.min(Number(r[2]), size - 1) : size - 1;
    if (a <= b) out.push([a, b]);
  }
  return out.length > 0 ? out : 'unsatisfiable';
}

/** Serves `files` (URL path -> file path). */
export async function startRangeServer(files: Record<string, string>, mode: Misbehaviour = 'none'): Promise<RangeServer> {
  let sent = 0;
  let requests = 0;
  let current = mode;
  const held: [IncomingMessage, ServerResponse][] = [];
  const server: Server = createServer((req, res) => {
    requests++;
    if (current === 'hold') {
      held.push([req, res]);
      return;
    }
    if (current === 'slow') {
      setTimeout(() => answer(req, res), 40);
      return;
    }
    answer(req, res);
  });
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const path = files[decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)];
    if (!path || current === '404') {
      res.writeHead(404).end();
      return;
    }
    if (current === '500') {
      res.writeHead(500).end();
      return;
    }
    if (current === 'stall') return; // never answers
    const size = statSync(path).size;
    const specs = current === 'ignore-range' ? [] : parseRanges(req.headers.range ?? '', size);
    if (specs === 'unsatisfiable') {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      return;
    }
    if (specs.length > 1 && current !== 'single-range-only') {
      // RFC 9110 §14.6: several ranges in one multipart/byteranges reply.
      const boundary = 'isosync-test-boundary';
      const pieces: Buffer[] = [];
      for (const [a, b] of specs) {
        pieces.push(Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${a}-${b}/${size}\r\n\r\n`));
        pieces.push(readPart(path, a, b - a + 1));
      }
      pieces.push(Buffer.from(`\r\n--${boundary}--\r\n`));
      const body = Buffer.concat(pieces);
      if (current === 'corrupt') for (let i = 200; i < body.length; i += 997) body[i] = body[i]! ^ 0xff;
      res.writeHead(206, { 'Content-Type': `multipart/byteranges; boundary=${boundary}`, 'Content-Length': body.length });
      if (current === 'truncate') {
        const half = body.subarray(0, Math.floor(body.length / 2));
        sent += half.length;
        res.write(half);
        res.destroy();
        return;
      }
      send(res, body);
      return;
    }
    const ranged = specs.length === 1;
    const [start, end] = ranged ? specs[0]! : [0, size - 1];
    const len = end - start + 1;
    const body = readPart(path, start, len);
    if (current === 'corrupt') for (let i = 0; i < body.length; i += 997) body[i] = body[i]! ^ 0xff;
    const headers: Record<string, string | number> = { 'Content-Length': len, 'Accept-Ranges': 'bytes' };
    if (ranged) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(ranged ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (current === 'truncate') {
      const half = body.subarray(0, Math.floor(len / 2));
      sent += half.length;
      res.write(half);
      res.destroy();
      return;
    }
    send(res, body);
  };
  const send = (res: ServerResponse, body: Buffer) => {
    if (current !== 'trickle') {
      sent += body.length;
      res.end(body);
      return;
    }
    let at = 0;
    const next = () => {
      if (res.destroyed) return;
      const chunk = body.subarray(at, at + TRICKLE_BYTES);
      at += chunk.length;
      sent += chunk.length;
      if (at >= body.length) res.end(chunk);
      else {
        res.write(chunk);
        setTimeout(next, TRICKLE_MS);
      }
    };
    next();
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    bytesSent: () => sent,
    requests: () => requests,
    setMode: (m) => {
      current = m;
      if (m !== 'hold') for (const [req, res] of held.splice(0)) answer(req, res);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
