/**
 * feed/http-get.ts names a failed connection in the words peers and web seeds use (core/net-words.ts), with what it
 * fetched and the URL: "Cannot fetch the feed http://127.0.0.1:P/f: connection refused".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { httpGet } from '../../src/feed/http-get.js';
import { IsosyncError } from '../../src/errors.js';

test('a refused connection reads "connection refused", with what was fetched and its URL', async () => {
  // A port that was free a moment ago: nothing listens on it now.
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const url = `http://127.0.0.1:${port}/feeds/distro`;
  await assert.rejects(httpGet(url, 'the feed', { limit: 1024 }), (e: unknown) => {
    assert.ok(e instanceof IsosyncError);
    assert.equal(e.message, `Cannot fetch the feed ${url}: connection refused`);
    return true;
  });
});
