/**
 * A client that goes away in the middle of a reply (a web seed stops a
 * request whose blocks came from peers) must not break the replies other
 * clients are reading from the same image: they share one open handle
 * (src/serve/open-files.ts). Real sockets on 127.0.0.1, a file bigger than
 * the socket buffers so that the other replies are still reading it.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { IsosyncServer } from '../../src/serve/server.js';
import { tempDir } from '../helpers/env.js';

const SIZE = 16 * 1024 * 1024;

/** A GET of `range` whose reply is paused after its first chunk; `rest()` reads the remainder (its body, all of it). */
function pausedGet(url: string, range: string): Promise<{ res: IncomingMessage; rest: () => Promise<Buffer> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { Range: range } }, (res) => {
      const chunks: Buffer[] = [];
      res.once('data', (c: Buffer) => {
        chunks.push(c);
        res.pause();
        resolve({
          res,
          rest: () =>
            new Promise((done, fail) => {
              res.on('data', (x: Buffer) => chunks.push(x));
              res.once('end', () => done(Buffer.concat(chunks)));
              res.once('error', fail);
              res.once('close', () => res.complete || fail(new IsosyncError('NETWORK', 'the reply was cut short')));
              res.resume();
            }),
        });
      });
    });
    req.once('error', reject);
    req.end();
  });
}

test('a client that abandons its reply leaves the other replies of the same image whole', async () => {
  const t = tempDir('isosync-abandon-');
  const data = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i += 4) data.writeUInt32LE(i, i);
  writeFileSync(join(t.dir, 'image.iso'), data);
  const closed: string[] = [];
  let onClosed = () => {};
  const server = await IsosyncServer.start({ root: t.dir, port: 0, minSize: Number.MAX_SAFE_INTEGER, accessLog: (line) => (closed.push(line), onClosed()) });
  try {
    const url = `${server.url}/image.iso`;
    // Two readers in the middle of their replies: one range, and two ranges (multipart).
    const single = await pausedGet(url, `bytes=0-${SIZE - 1}`);
    const multi = await pausedGet(url, `bytes=0-${SIZE / 2 - 1},${SIZE / 2}-${SIZE - 1}`);
    // A third goes away after its first bytes; the server has finished with it once it logs it.
    const gone = new Promise<void>((r) => (onClosed = r));
    const quitter = await pausedGet(url, `bytes=0-${SIZE - 1}`);
    quitter.res.destroy();
    await gone;
    assert.equal(closed.length, 1);

    const one = await single.rest();
    assert.equal(one.length, SIZE);
    assert.ok(one.equals(data));
    const two = (await multi.rest()).toString('latin1');
    for (const [a, b] of [[0, SIZE / 2 - 1], [SIZE / 2, SIZE - 1]] as const) {
      const head = `Content-Range: bytes ${a}-${b}/${SIZE}\r\n\r\n`;
      const at = two.indexOf(head);
      assert.ok(at > 0, head);
      assert.ok(Buffer.from(two.slice(at + head.length, at + head.length + b - a + 1), 'latin1').equals(data.subarray(a, b + 1)));
    }
  } finally {
    await server.close();
    t.cleanup();
  }
});
