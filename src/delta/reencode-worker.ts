/**
 * Worker thread for reencode-pool.ts: runs one file's chain (reencode-chain.ts,
 * a pure function) per message with an encoder and scratch buffers of its own.
 *
 * Message in:  { i, input: ChainInput }  (the old file's stored clusters are a
 *              view of shared memory: not copied, and not written while the
 *              chain runs).
 * Message out: { i, out: ChainOutput } (its clusters' buffer transferred), or
 *              { i, error } (the caller then runs that chain itself).
 * Importing this module outside a thread started by reencode-pool.ts does nothing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Lz4HcEncoder } from '../layouts/erofs/lz4hc.js';
import { ChainScratch, runChain, type ChainInput, type ChainOutput } from './reencode-chain.js';

/** workerData that marks a thread started by reencode-pool.ts. */
export const REENCODE_WORKER_MARK = 'isosync-reencode-worker';

export interface ChainRequest {
  readonly i: number;
  readonly input: ChainInput;
}

export type ChainReply = { readonly i: number; readonly out: ChainOutput } | { readonly i: number; readonly error: string };

const port = parentPort;
if (port && (workerData as { mark?: string } | undefined)?.mark === REENCODE_WORKER_MARK) {
  const enc = new Lz4HcEncoder();
  const scratch = new ChainScratch();
  port.on('message', (m: ChainRequest) => {
    let reply: ChainReply;
    let transfer: ArrayBuffer[] = [];
    try {
      const out = runChain(m.input, enc, scratch);
      // The clusters in a buffer of their own, handed over rather than copied.
      const encoded = out.encoded.slice();
      transfer = [encoded.buffer];
      reply = { i: m.i, out: { ...out, encoded } };
    } catch (e) {
      reply = { i: m.i, error: e instanceof Error ? e.message : String(e) };
    }
    port.postMessage(reply, transfer);
  });
}
