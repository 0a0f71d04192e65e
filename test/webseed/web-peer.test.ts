/**
 * A web seed over a real HTTP range server on 127.0.0.1, through the
 * engine: every body byte it receives passes the download gate first (the
 * one bucket `--download-limit` shares with the peers), and the bytes are
 * the file's; a server that takes fewer ranges per request than the web
 * seed asks (isosync serve's own file server: 64) is asked fewer, not one
 * range at a time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Engine } from '../../src/engine/engine.js';
import type { ByteGate } from '../../src/engine/handle.js';
import { serveFile } from '../../src/serve/static-files.js';
import { FEWER_RANGES_PER_REQUEST, MAX_RANGES_PER_REQUEST, QUEUE_SECONDS, REQUEST_BYTES, WebPeer } from '../../src/webseed/web-peer.js';
import { MEASURE_MS } from '../../src/webseed/mirror-handle.js';
import { tempDir } from '../helpers/env.js';
import { Rng } from '../helpers/random.js';
import { startRangeServer } from '../helpers/range-server.js';

const PIECE = 64 * 1024;

describe('a web seed with a download gate', () => {
  it('passes every body byte through the gate before it counts, and the bytes are right', async () => {
    const tmp = tempDir();
    const file = new Rng(11).bytes(40 * PIECE + 123);
    writeFileSync(join(tmp.dir, 'f.iso'), file);
    const server = await startRangeServer({ '/f.iso': join(tmp.dir, 'f.iso') });
    let taken = 0;
    let calls = 0;
    // A gate that lets bytes pass on the next turn (as a bucket with tokens does), counting them.
    const gate: ByteGate = { take: (n) => new Promise((r) => setImmediate(() => ((taken += n), calls++, r()))) };
    const web = new WebPeer(`${server.url}/f.iso`, file.length, PIECE, { gate });
    const engine = new Engine({ length: file.length, pieceLength: PIECE });
    try {
      engine.add(web);
      const ranges = [{ start: 1000, end: 5 * PIECE + 77 }, { start: 9 * PIECE, end: 30 * PIECE - 5 }];
      const parts = await engine.fetchRanges(ranges);
      ranges.forEach((r, i) => assert.ok(Buffer.from(parts[i]!).equals(file.subarray(r.start, r.end)), `range ${i}`));
      assert.ok(calls > 0 && web.received > 0);
      assert.equal(taken, web.received, 'every byte received was taken from the gate');
    } finally {
      engine.close();
      web.close();
      await server.close();
      tmp.cleanup();
    }
  });

  it('a server that answers too many ranges with the whole file is asked fewer ranges per request, not one range at a time', async () => {
    const tmp = tempDir();
    const file = new Rng(12).bytes(40 * PIECE);
    writeFileSync(join(tmp.dir, 'f.iso'), file);
    const stats = { bytesSent: 0, requests: 0 };
    const server = createServer((req, res) => void serveFile(tmp.dir, req, res, stats));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/f.iso`;
    const web = new WebPeer(url, file.length, PIECE);
    const engine = new Engine({ length: file.length, pieceLength: PIECE });
    try {
      engine.add(web);
      // 150 ranges of 100 bytes, 17 KiB apart: more than the server takes (64), fewer than one request may hold.
      const n = 150;
      assert.ok(n <= MAX_RANGES_PER_REQUEST && n > 64);
      const ranges = Array.from({ length: n }, (_, i) => ({ start: i * 17 * 1024, end: i * 17 * 1024 + 100 }));
      const parts = await engine.fetchRanges(ranges);
      ranges.forEach((r, i) => assert.ok(Buffer.from(parts[i]!).equals(file.subarray(r.start, r.end)), `range ${i}`));
      // One request refused, then requests of FEWER_RANGES_PER_REQUEST ranges (one range at a time would be 150).
      assert.ok(web.requests <= 1 + Math.ceil(n / FEWER_RANGES_PER_REQUEST) + 1, `${web.requests} requests`);
      assert.equal(web.failure, undefined);
    } finally {
      engine.close();
      web.close();
      await new Promise((r) => server.close(r));
      tmp.cleanup();
    }
  });
});

describe("a web seed's queue, what seed peers leave to it", () => {
  it('is one full request until its rate is measured, then what it sends in QUEUE_SECONDS at that rate', async () => {
    const tmp = tempDir();
    const file = new Rng(13).bytes(40 * PIECE);
    writeFileSync(join(tmp.dir, 'f.iso'), file);
    // About 20 KiB/s: a slow mirror.
    const server = await startRangeServer({ '/f.iso': join(tmp.dir, 'f.iso') }, 'trickle');
    let t = 0;
    const web = new WebPeer(`${server.url}/f.iso`, file.length, PIECE, { now: () => t });
    const engine = new Engine({ length: file.length, pieceLength: PIECE });
    let fetching: Promise<unknown> | undefined;
    try {
      assert.equal(web.capacity().queue, REQUEST_BYTES, 'nothing measured: one full request');
      engine.add(web);
      fetching = engine.fetchRanges([{ start: 0, end: 4 * PIECE }]).catch(() => undefined);
      while (web.received === 0) await new Promise((r) => setTimeout(r, 10));
      // Outstanding: the blocks asked (4 pieces) not complete yet.
      const early = web.capacity().queue ?? 0;
      assert.ok(early >= REQUEST_BYTES - 4 * PIECE && early < REQUEST_BYTES, `bytes came, not yet MEASURE_MS of them: queue ${early}`);
      t = MEASURE_MS + 100;
      const rate = (web.received * 1000) / t;
      assert.ok(rate * QUEUE_SECONDS < 4 * PIECE - web.received);
      assert.equal(web.capacity().queue, 0, `measured at ${rate.toFixed(0)} B/s: less than what is asked`);
    } finally {
      engine.close();
      web.close();
      await fetching;
      await server.close();
      tmp.cleanup();
    }
  });
});
