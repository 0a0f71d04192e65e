/**
 * SafeWire.cancel (no Error nor message object per cancel) must put the same
 * bytes on the wire as the library's cancel, in the same order beside
 * requests, give each cancelled request's callback an error (with its tag),
 * and leave the other requests waiting.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Wire from 'bittorrent-protocol';
import { SafeWire } from '../../src/swarm/safe-wire.js';

type Step = ['request' | 'cancel', number, number, number];
const STEPS: Step[] = [
  ['request', 1, 0, 16384],
  ['request', 1, 16384, 16384],
  ['request', 2, 0, 100],
  ['cancel', 1, 16384, 16384],
  ['cancel', 9, 0, 10], // never asked: the message goes all the same
  ['request', 3, 32768, 16384],
  ['cancel', 2, 0, 100],
];

async function run(wire: InstanceType<typeof Wire>): Promise<{ bytes: Buffer; answers: string[]; left: number }> {
  const out: Buffer[] = [];
  wire.on('data', (d: Uint8Array) => out.push(Buffer.from(d)));
  wire.peerChoking = false;
  const answers: string[] = [];
  // The library's request takes no tag: its callbacks report none.
  const ask = wire.request.bind(wire) as (i: number, o: number, n: number, cb: (err: Error | null, b?: Uint8Array, tag?: unknown) => void, tag?: unknown) => void;
  for (const [op, i, o, n] of STEPS) {
    if (op === 'request') ask(i, o, n, (err, _b, tag) => answers.push(`${i}:${o}:${n} ${err?.message ?? 'ok'} ${String(tag ?? '-')}`), `t${i}`);
    else wire.cancel(i, o, n);
  }
  await new Promise((r) => setImmediate(r));
  return { bytes: Buffer.concat(out), answers, left: wire.requests.length };
}

test('SafeWire.cancel sends the library\'s bytes and fails only the cancelled requests', async () => {
  const lib = await run(new Wire());
  const safe = await run(new SafeWire('tcpOutgoing', 64));
  assert.equal(safe.bytes.toString('hex'), lib.bytes.toString('hex'));
  // 4 requests and 3 cancels of 17 bytes each.
  assert.equal(safe.bytes.length, 7 * 17);
  assert.deepEqual(safe.answers, ['1:16384:16384 request was cancelled t1', '2:0:100 request was cancelled t2']);
  assert.deepEqual(lib.answers.map((a) => a.replace(/ \S+$/, '')), safe.answers.map((a) => a.replace(/ \S+$/, '')));
  assert.equal(safe.left, 2);
  assert.equal(lib.left, 2);
});
