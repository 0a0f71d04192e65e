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

/** Sent first by a pool started ahead of its work: the encoder is warmed up on made-up bytes (no reply). */
export interface WarmRequest {
  readonly warm: true;
}

export type ChainReply = { readonly i: number; readonly out: ChainOutput } | { readonly i: number; readonly error: string };

const port = parentPort;
if (port && (workerData as { mark?: string } | undefined)?.mark === REENCODE_WORKER_MARK) {
  const enc = new Lz4HcEncoder();
  const scratch = new ChainScratch();
  port.on('message', (m: ChainRequest | WarmRequest) => {
    if ('warm' in m) {
      warmUp(enc);
      return;
    }
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

/**
 * Compresses clusters of made-up, compressible bytes (words drawn by a fixed generator), so that the encoder's loops
 * are compiled before the first chain arrives: a cold encoder took ~0.25 s longer over its first chains.
 */
export function warmUp(enc: Lz4HcEncoder, clusters = WARM_CLUSTERS): void {
  const words = ['lib', 'x86_64', 'linux', 'gnu', '.so', 'usr', 'share', '\0\0\0\0', 'GLIBC_2.34', 'main', 'init', '\x7fELF', 'printf', 'error'];
  const bytes = new Uint8Array(64 * 1024);
  let seed = 12345;
  for (let at = 0; at < bytes.length; ) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const w = words[seed % words.length]!;
    for (let k = 0; k < w.length && at < bytes.length; k++) bytes[at++] = w.charCodeAt(k);
  }
  const out = new Uint8Array(4096);
  for (let c = 0; c < clusters; c++) {
    const from = (c * 4096) % (bytes.length - 16 * 1024);
    enc.destSize(bytes, from, bytes.length - from, out.length, 9, out);
  }
}

/** Clusters compressed by warmUp. */
const WARM_CLUSTERS = 48;
