/**
 * The lean HTTP/1.1 GET (src/webseed/lean-get.ts) against raw replies from a
 * socket server on 127.0.0.1: each framing (Content-Length, chunked, the
 * connection's end), replies cut into many small writes, a 1xx reply first,
 * keep-alive reuse, a kept connection the server closed (tried once more),
 * a bad reply, a stopped request; the body bytes are the ones sent.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { LeanPool } from '../../src/webseed/lean-get.js';

interface Got {
  status: number;
  headers: ReadonlyMap<string, string>;
  body: Buffer;
}

/** A server answering each request on a connection with the next of `replies` (raw bytes, written in pieces of `cut`). */
async function rawServer(replies: (string | Buffer)[], opts: { cut?: number; closeAfter?: number } = {}) {
  let next = 0;
  let connections = 0;
  const requests: string[] = [];
  const socks = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    connections++;
    socks.add(sock);
    let served = 0;
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (let e = buf.indexOf('\r\n\r\n'); e >= 0; e = buf.indexOf('\r\n\r\n')) {
        requests.push(buf.slice(0, e));
        buf = buf.slice(e + 4);
        const r = Buffer.from(replies[next++ % replies.length]!);
        const cut = opts.cut ?? r.length;
        for (let i = 0; i < r.length; i += cut) sock.write(r.subarray(i, i + cut));
        if (opts.closeAfter !== undefined && ++served >= opts.closeAfter) sock.end();
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    connections: () => connections,
    close: () => new Promise<void>((r) => {
      server.close(() => r());
      for (const s of socks) s.destroy();
    }),
  };
}

function get(pool: LeanPool, path = '/f'): Promise<Got> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let headers: ReadonlyMap<string, string> = new Map();
    const parts: Buffer[] = [];
    pool.get(path, { Range: 'bytes=0-9' }, {
      head: (s, h) => ((status = s), (headers = h), true),
      body: (b) => parts.push(Buffer.from(b)), // a copy: the view is valid only during the call
      end: () => resolve({ status, headers, body: Buffer.concat(parts) }),
      fail: (code, why) => reject(new Error(`${code}: ${why}`)),
    });
  });
}

const body = Buffer.from('0123456789abcdefghij'.repeat(5000));
const fixed = Buffer.concat([Buffer.from(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\nContent-Range: bytes 0-${body.length - 1}/999999\r\n\r\n`), body]);
const chunked = Buffer.concat([
  Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n'),
  Buffer.from(`${(60000).toString(16)};ext=1\r\n`),
  body.subarray(0, 60000),
  Buffer.from(`\r\n${(body.length - 60000).toString(16)}\r\n`),
  body.subarray(60000),
  Buffer.from('\r\n0\r\nTrailer: x\r\n\r\n'),
]);

describe('lean HTTP GET', () => {
  const framings: [string, Buffer][] = [
    ['Content-Length', fixed],
    ['chunked', chunked],
    ['a 100 Continue first', Buffer.concat([Buffer.from('HTTP/1.1 100 Continue\r\n\r\n'), fixed])],
  ];
  for (const [name, reply] of framings) {
    for (const cut of [reply.length, 7, 1000]) {
      it(`reads a reply framed by ${name}, written in pieces of ${cut} bytes, twice on one connection`, async () => {
        const srv = await rawServer([reply], { cut });
        const pool = new LeanPool('127.0.0.1', srv.port, 5000);
        try {
          for (let k = 0; k < 2; k++) {
            const got = await get(pool);
            assert.ok(got.body.equals(body), `body of reply ${k}`);
          }
          assert.equal(srv.connections(), 1, 'the connection was kept and reused');
          assert.match(srv.requests[0]!, /^GET \/f HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/);
          assert.match(srv.requests[0]!, /\r\nRange: bytes=0-9$/);
        } finally {
          pool.close();
          await srv.close();
        }
      });
    }
  }

  it('joins repeated headers and lower-cases their names', async () => {
    const srv = await rawServer([chunked]);
    const pool = new LeanPool('127.0.0.1', srv.port, 5000);
    try {
      const got = await get(pool);
      assert.equal(got.status, 200);
      assert.equal(got.headers.get('x-a'), '1, 2');
    } finally {
      pool.close();
      await srv.close();
    }
  });

  it('reads a reply framed by the end of its connection, and opens a new one for the next', async () => {
    const srv = await rawServer([Buffer.concat([Buffer.from('HTTP/1.1 206 Partial Content\r\nConnection: close\r\n\r\n'), body])], { closeAfter: 1 });
    const pool = new LeanPool('127.0.0.1', srv.port, 5000);
    try {
      assert.ok((await get(pool)).body.equals(body));
      assert.ok((await get(pool)).body.equals(body));
      assert.equal(srv.connections(), 2);
    } finally {
      pool.close();
      await srv.close();
    }
  });

  it('tries a request once more when its kept connection was closed by the server', async () => {
    const srv = await rawServer([fixed], { closeAfter: 1 });
    const pool = new LeanPool('127.0.0.1', srv.port, 5000);
    try {
      assert.ok((await get(pool)).body.equals(body));
      await new Promise((r) => setTimeout(r, 50)); // the server's close reaches the kept connection (or races the next request)
      assert.ok((await get(pool)).body.equals(body));
      assert.equal(srv.connections(), 2);
    } finally {
      pool.close();
      await srv.close();
    }
  });

  it('does not reuse a connection that sent bytes after a reply', async () => {
    const srv = await rawServer(['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabcd']);
    const pool = new LeanPool('127.0.0.1', srv.port, 5000);
    try {
      assert.equal((await get(pool)).body.toString(), 'ab');
      assert.equal((await get(pool)).body.toString(), 'ab');
      assert.equal(srv.connections(), 2);
    } finally {
      pool.close();
      await srv.close();
    }
  });

  const bad: [string, string, RegExp][] = [
    ['not HTTP', 'SSH-2.0-x\r\n\r\n', /BAD_HTTP: not an HTTP\/1 reply/],
    ['a bad Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n', /BAD_HTTP: bad Content-Length/],
    ['an unknown coding', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', /BAD_HTTP: unsupported Transfer-Encoding/],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /BAD_HTTP: bad chunk size/],
    ['a reply cut short', 'HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nabcd', /ECONNRESET/],
  ];
  for (const [name, reply, want] of bad) {
    it(`fails on ${name}`, async () => {
      const srv = await rawServer([reply], { closeAfter: name === 'a reply cut short' ? 1 : undefined });
      const pool = new LeanPool('127.0.0.1', srv.port, 5000);
      try {
        await assert.rejects(get(pool), want);
      } finally {
        pool.close();
        await srv.close();
      }
    });
  }

  it('fails when nothing listens, and a stopped request fails as aborted', async () => {
    const srv = await rawServer([]);
    const port = srv.port;
    await srv.close();
    const pool = new LeanPool('127.0.0.1', port, 5000);
    await assert.rejects(get(pool), /ECONNREFUSED/);
    const held: net.Socket[] = [];
    const hang = net.createServer((s) => void held.push(s));
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const pool2 = new LeanPool('127.0.0.1', (hang.address() as AddressInfo).port, 5000);
    try {
      const failed = new Promise<string>((resolve) => {
        const req = pool2.get('/f', {}, { head: () => true, body: () => {}, end: () => resolve('ended'), fail: (code) => resolve(code) });
        setTimeout(() => req.destroy(), 20);
      });
      assert.equal(await failed, 'ECONNRESET');
    } finally {
      pool2.close();
      for (const s of held) s.destroy();
      await new Promise<void>((r) => hang.close(() => r()));
    }
  });
});
