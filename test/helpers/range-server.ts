/**
 * A small real HTTP file server on 127.0.0.1 for tests: serves files with
 * single byte ranges, counts the body bytes it sends (so tests count fetched
 * bytes on the server side, not isosync's), and can misbehave on purpose.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

export type Misbehaviour = 'none' | 'corrupt' | 'truncate' | '404' | '500' | 'stall' | 'ignore-range' | 'slow';

export interface RangeServer {
  url: string;
  /** Body bytes sent so far. */
  bytesSent: () => number;
  requests: () => number;
  setMode: (m: Misbehaviour) => void;
  close: () => Promise<void>;
}

/** Serves `files` (URL path -> file path). */
export async function startRangeServer(files: Record<string, string>, mode: Misbehaviour = 'none'): Promise<RangeServer> {
  let sent = 0;
  let requests = 0;
  let current = mode;
  const server: Server = createServer((req, res) => {
    requests++;
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
    let start = 0;
    let end = size - 1;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ranged = m && current !== 'ignore-range';
    if (ranged) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      if (start > end) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
        return;
      }
    }
    const len = end - start + 1;
    const body = Buffer.alloc(len);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, body, 0, len, start);
    } finally {
      closeSync(fd);
    }
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
    sent += body.length;
    res.end(body);
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    bytesSent: () => sent,
    requests: () => requests,
    setMode: (m) => {
      current = m;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
