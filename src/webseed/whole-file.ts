/**
 * A web server without byte ranges, used anyway: one plain GET of the whole
 * file, read from its first byte to its last. The bytes go to a spool as
 * they stream (the sync's .part: store/part-file.ts writeSpan, journaled, so
 * a killed run keeps them too), and asks are answered from the spool once
 * the stream has passed their bytes. An ask for bytes the stream passed
 * earlier is answered at once, so the order in which assembly asks does not
 * matter and nothing is fetched twice. Memory stays bounded: one chunk in
 * flight, and asks are answered a block at a time.
 *
 * Any failure of the stream (HTTP error, wrong length, no byte for
 * `stallMs`) ends it through `onFail`; the web seed is then dropped and the
 * engine asks its blocks of the other sources.
 */
import http from 'node:http';
import type https from 'node:https';
import { blockSpan, keyOf, type Block } from '../engine/block.js';
import type { ByteGate } from '../engine/handle.js';
import { lateHttps } from '../core/late-builtins.js';

/** Where the stream's bytes are kept until asked. */
export interface Spool {
  /** Writes bytes of the file at `offset`; resolves when they are there (bytes of verified pieces may be skipped: they are never asked). */
  writeSpan(offset: number, bytes: Uint8Array): Promise<void>;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface WholeFileOptions {
  readonly url: string;
  readonly fileLength: number;
  readonly pieceLength: number;
  readonly spool: Spool;
  readonly stallMs: number;
  readonly gate?: ByteGate;
  readonly agent: { http: http.Agent; https: https.Agent };
  /** An asked block, from the spool. */
  readonly onBlock: (b: Block, bytes: Uint8Array) => void;
  /** Body bytes arrived (for rates). */
  readonly onBytes: (n: number) => void;
  readonly onFail: (why: string) => void;
}

export class WholeFileStream {
  /** Bytes [0, passed) of the file are on the spool. */
  private passed = 0;
  private readonly asks = new Map<string, Block>();
  private req: http.ClientRequest | undefined;
  private done = false;
  /** Body bytes received. */
  received = 0;

  constructor(private readonly o: WholeFileOptions) {}

  /** Asked bytes not answered yet. */
  get pendingBytes(): number {
    let n = 0;
    for (const b of this.asks.values()) n += b.length;
    return n;
  }

  start(): void {
    const u = new URL(this.o.url);
    const https_ = u.protocol === 'https:';
    const req = (https_ ? lateHttps() : http).get(u, { agent: https_ ? this.o.agent.https : this.o.agent.http, headers: { 'User-Agent': 'isosync', 'Accept-Encoding': 'identity' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) return this.fail(`HTTP ${status} to a plain GET of the whole file`);
      const declared = Number(res.headers['content-length'] ?? this.o.fileLength);
      if (declared !== this.o.fileLength) return this.fail(`the whole file is ${declared} bytes, the torrent says ${this.o.fileLength}`);
      let chain = Promise.resolve();
      res.on('data', (chunk: Buffer) => {
        res.pause();
        chain = chain
          .then(() => this.o.gate?.take(chunk.length))
          .then(async () => {
            if (this.done) return;
            if (this.passed + chunk.length > this.o.fileLength) return this.fail(`it sent more than the ${this.o.fileLength} bytes of the file`);
            this.received += chunk.length;
            this.o.onBytes(chunk.length);
            await this.o.spool.writeSpan(this.passed, chunk);
            this.passed += chunk.length;
            this.answer();
            res.resume();
          })
          .catch((e: unknown) => this.fail(e instanceof Error ? e.message : String(e)));
      });
      res.on('end', () => {
        void chain.then(() => {
          if (!this.done && this.passed < this.o.fileLength) this.fail(`the reply ended after ${this.passed} of ${this.o.fileLength} bytes`);
        });
      });
      res.on('error', (e) => this.fail(e.message));
    });
    this.req = req;
    req.setTimeout(this.o.stallMs, () => this.fail(`no data for ${this.o.stallMs / 1000} s`));
    req.on('error', (e: NodeJS.ErrnoException) => this.fail(e.code ?? e.message));
  }

  ask(blocks: readonly Block[]): void {
    for (const b of blocks) this.asks.set(keyOf(b), b);
    this.answer();
  }

  cancel(blocks: readonly Block[]): void {
    for (const b of blocks) this.asks.delete(keyOf(b));
  }

  /** Answers the asks whose bytes the stream has passed, from the spool. */
  private answer(): void {
    for (const [k, b] of this.asks) {
      const s = blockSpan(b, this.o.pieceLength);
      if (s.end > this.passed) continue;
      this.asks.delete(k);
      this.o.spool.read(s.start, b.length).then(
        (bytes) => !this.done && this.o.onBlock(b, bytes),
        (e: unknown) => this.fail(`its bytes could not be read back: ${e instanceof Error ? e.message : String(e)}`),
      );
    }
  }

  private fail(why: string): void {
    if (this.done) return;
    this.close();
    this.o.onFail(why);
  }

  close(): void {
    this.done = true;
    this.req?.destroy();
  }
}
