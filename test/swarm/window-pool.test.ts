/**
 * Reused memory on the swarm's paths: the serve windows' buffer pool
 * (window-pool.ts) gives a buffer out again only once it left the window
 * cache and every block lent from it was written; and an accepted
 * connection re-made to read into one reused buffer (peer-link.ts
 * adoptAccepted) gets every byte in order, while its server still closes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { describe, it } from 'node:test';
import { adoptAccepted, takeReads } from '../../src/swarm/peer-link.js';
import { lend, WindowPool, written } from '../../src/swarm/window-pool.js';
import { Rng } from '../helpers/random.js';

describe('serve window pool', () => {
  it('a retired buffer nothing was lent from is given out again', () => {
    const pool = new WindowPool(1024, 4);
    const a = pool.take();
    assert.equal(a.length, 1024);
    pool.retire(a.subarray(0, 100));
    assert.equal(pool.take(), a);
    assert.notEqual(pool.take(), a, 'taken again: not free any more');
  });

  it('a buffer with a block lent comes back only once that very view was written, even if retired before', () => {
    const pool = new WindowPool(1024, 4);
    const a = pool.take();
    const block = a.subarray(100, 200);
    lend(block);
    pool.retire(a);
    const b = pool.take();
    assert.notEqual(b, a, 'lent: not reused');
    assert.equal(written(Uint8Array.from(block)), undefined, 'a copy of the block is not the lent view');
    const done = written(block);
    assert.equal(typeof done, 'function');
    assert.equal(written(block), undefined, 'one write per lend');
    assert.notEqual(pool.take(), a, 'still lent until the write is done');
    done!();
    assert.equal(pool.take(), a);
  });

  it('lending the same view twice counts once; a buffer not from a pool is never tracked', () => {
    const pool = new WindowPool(64, 4);
    const a = pool.take();
    const v = a.subarray(0, 10);
    lend(v);
    lend(v);
    pool.retire(a);
    written(v)!();
    assert.equal(pool.take(), a);
    const other = new Uint8Array(64);
    lend(other);
    assert.equal(written(other), undefined);
  });

  it('keeps at most `spare` free buffers', () => {
    const pool = new WindowPool(64, 2);
    const bufs = [pool.take(), pool.take(), pool.take()];
    for (const b of bufs) pool.retire(b);
    const again = new Set([pool.take(), pool.take(), pool.take()]);
    assert.equal(bufs.filter((b) => again.has(b)).length, 2);
  });
});

describe('accepted connections read into a reused buffer', () => {
  it('gets every byte in order, writes back, and lets its server close', async () => {
    const payload = new Rng(7).bytes(3 * 1024 * 1024 + 17);
    const want = createHash('sha1').update(payload).digest('hex');
    const server = net.createServer({ pauseOnConnect: true });
    const reads = new Set<ArrayBufferLike>();
    const got = new Promise<string>((resolve, reject) => {
      server.on('connection', (raw) => {
        const s = adoptAccepted(raw);
        const h = createHash('sha1');
        assert.ok(takeReads(s, (d) => (h.update(d), reads.add(d.buffer))), 'its reads are ours');
        s.on('error', reject);
        s.on('end', () => {
          s.end('ok');
          resolve(h.digest('hex'));
        });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const c = net.connect(port, '127.0.0.1');
    const reply: Buffer[] = [];
    c.on('data', (d: Buffer) => reply.push(d));
    const closed = new Promise<void>((r) => c.on('close', () => r()));
    c.end(payload);
    assert.equal(await got, want);
    assert.equal(reads.size, 1, 'every read in the one buffer');
    await closed;
    assert.equal(Buffer.concat(reply).toString(), 'ok');
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  });
});
