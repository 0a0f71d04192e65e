import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRange, parseRanges, serveFile, type StaticStats } from '../../src/serve/static-files.js';
import { tempDir } from '../helpers/env.js';
import { MAX_RANGES } from '../../src/serve/ranges.js';

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('Range headers are parsed as RFC 9110 says', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), [0, 9]);
  assert.deepEqual(parseRange('bytes=90-', 100), [90, 99]);
  assert.deepEqual(parseRange('bytes=-10', 100), [90, 99]);
  assert.deepEqual(parseRange('bytes=95-200', 100), [95, 99]);
  assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=5-2', 100), undefined, 'last < first is invalid syntax: ignored (RFC 9110 §14.1.1)');
  assert.equal(parseRange('bytes=99999999999999999999-', 100), 'unsatisfiable', 'a huge start is past the end');
  assert.equal(parseRange('bytes=0-1,5-6', 100), undefined, 'several ranges: the whole file is served');
  assert.equal(parseRange(undefined, 100), undefined);
  assert.deepEqual(parseRanges('bytes=0-1, 5-6', 100), [[0, 1], [5, 6]]);
  assert.deepEqual(parseRanges('bytes=0-1,200-300', 100), [[0, 1]], 'unsatisfiable parts are dropped');
  assert.equal(parseRanges('bytes=200-300', 100), 'unsatisfiable');
  assert.equal(parseRanges(`bytes=${Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i}-${i}`).join(',')}`, 100), undefined, 'too many ranges: served whole');
  assert.equal(parseRanges('bytes=0-99,0-99,0-99', 100), undefined, 'overlaps adding up to 3 files: served whole');
  assert.equal(parseRanges('items=0-9', 100), undefined, 'another unit is ignored');
});

describe('static file serving', () => {
  const t = tempDir();
  let server: Server;
  let port = 0;
  const stats: StaticStats = { bytesSent: 0, requests: 0 };
  before(async () => {
    mkdirSync(join(t.dir, 'root'));
    writeFileSync(join(t.dir, 'root', 'a.iso'), Buffer.from('0123456789'));
    writeFileSync(join(t.dir, 'root', '.hidden'), 'x');
    writeFileSync(join(t.dir, 'secret'), 'do not serve');
    symlinkSync(join(t.dir, 'secret'), join(t.dir, 'root', 'escape'));
    server = createServer((req, res) => void serveFile(join(t.dir, 'root'), req, res, stats));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    t.cleanup();
  });

  test('a range request gets 206 with exactly those bytes', async () => {
    const r = await get(port, '/a.iso', { Range: 'bytes=2-5' });
    assert.equal(r.status, 206);
    assert.equal(r.body.toString(), '2345');
    assert.equal(r.headers['content-range'], 'bytes 2-5/10');
  });

  test('several ranges come back as one multipart/byteranges reply', async () => {
    const r = await get(port, '/a.iso', { Range: 'bytes=1-2,7-8' });
    assert.equal(r.status, 206);
    const boundary = /boundary=(\S+)/.exec(String(r.headers['content-type']))?.[1];
    assert.ok(boundary);
    const text = r.body.toString('latin1');
    assert.match(text, /Content-Range: bytes 1-2\/10\r\n\r\n12\r\n/);
    assert.match(text, /Content-Range: bytes 7-8\/10\r\n\r\n78\r\n/);
    assert.ok(text.endsWith(`--${boundary}--\r\n`));
    assert.equal(Number(r.headers['content-length']), r.body.length);
  });

  test('paths that escape the root, dotfiles and symlinks out of it are 404', async () => {
    for (const p of ['/../secret', '/%2e%2e/secret', '/.hidden', '/escape', '/nope']) {
      const r = await get(port, p);
      assert.equal(r.status, 404, p);
    }
  });
});
