/**
 * A misbehaving re-encoding worker for reencode-pool.test.ts: it answers
 * every chain with an error, and exits (with chains still out) when a
 * chain's `k` is 1. Does nothing outside a thread started by reencode-pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { REENCODE_WORKER_MARK, type ChainRequest } from '../../src/delta/reencode-worker.js';

const port = parentPort;
if (port && (workerData as { mark?: string } | undefined)?.mark === REENCODE_WORKER_MARK) {
  port.on('message', (m: ChainRequest) => {
    if (m.input.k === 1) process.exit(3);
    port.postMessage({ i: m.i, error: 'refused' });
  });
}
