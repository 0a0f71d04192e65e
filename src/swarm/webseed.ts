/**
 * HTTP web seeds (BEP 19) and plain mirrors: exact byte ranges over HTTP
 * range requests, several mirrors at once.
 *
 * A WebSeed fetches one range and checks the answer strictly: status 206 with
 * a Content-Range that names exactly the range asked (or 200 when the whole
 * file was asked), and exactly that many body bytes before the stall timeout.
 * The MirrorPool spreads ranges over live mirrors (fewest requests in flight
 * first), retries a failed range on another mirror, and drops a mirror that
 * fails (HTTP error, wrong length, stall) or that served bytes a piece hash
 * rejected, with a warning. Nothing here is trusted: pieces are verified by
 * the caller.
 */
import http from 'node:http';
import https from 'node:https';
import { EventEmitter } from 'node:events';
import { IsosyncError } from '../errors.js';

/** No byte for this long means the mirror stalls. */
export const STALL_MS = 20_000;
/** Requests in flight per mirror: enough to fill a link, few enough to be polite. */
export const PER_MIRROR_CONCURRENCY = 4;

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 16 }), https: new https.Agent({ keepAlive: true, maxSockets: 16 }) };

/** BEP 19: a URL ending in "/" names a directory holding the torrent's file. */
export function webSeedFileUrl(url: string, torrentName: string): string {
  return url.endsWith('/') ? url + encodeURIComponent(torrentName) : url;
}

export class WebSeed {
  inFlight = 0;
  bytes = 0;
  alive = true;
  failure?: string;

  constructor(
    readonly url: string,
    readonly fileLength: number,
    private readonly stallMs = STALL_MS,
  ) {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new IsosyncError('BAD_ARGUMENT', `Cannot use web seed ${JSON.stringify(url)}: only http and https are supported`);
    }
  }

  /** Fetches [start, end) of the file. Rejects with an IsosyncError('BAD_REPLY' | 'NETWORK'). */
  fetchRange(start: number, end: number): Promise<Uint8Array> {
    const u = new URL(this.url);
    const mod = u.protocol === 'https:' ? https : http;
    const whole = start === 0 && end === this.fileLength;
    const want = end - start;
    return new Promise<Uint8Array>((resolve, reject) => {
      let settled = false;
      const fail = (code: 'BAD_REPLY' | 'NETWORK', why: string) => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(new IsosyncError(code, `Web seed ${this.url} failed: ${why}`, { url: this.url, start, end }));
      };
      const req = mod.get(
        u,
        {
          agent: u.protocol === 'https:' ? agents.https : agents.http,
          headers: { Range: `bytes=${start}-${end - 1}`, 'User-Agent': 'isosync', 'Accept-Encoding': 'identity' },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status === 200 && !whole) return fail('BAD_REPLY', `answered 200 to a range request for bytes ${start}-${end - 1} (no range support)`);
          if (status !== 206 && status !== 200) return fail('BAD_REPLY', `HTTP ${status} for bytes ${start}-${end - 1}`);
          if (status === 206) {
            const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
            if (!cr || Number(cr[1]) !== start || Number(cr[2]) !== end - 1) {
              return fail('BAD_REPLY', `Content-Range ${JSON.stringify(res.headers['content-range'] ?? '')} does not match bytes ${start}-${end - 1}`);
            }
            if (cr[3] !== '*' && Number(cr[3]) !== this.fileLength) {
              return fail('BAD_REPLY', `file is ${cr[3]} bytes, the torrent says ${this.fileLength}`);
            }
          }
          const out = new Uint8Array(want);
          let got = 0;
          res.on('data', (chunk: Buffer) => {
            if (settled) return;
            if (got + chunk.length > want) return fail('BAD_REPLY', `sent more than the ${want} bytes asked`);
            out.set(chunk, got);
            got += chunk.length;
          });
          res.on('end', () => {
            if (settled) return;
            if (got !== want) return fail('BAD_REPLY', `reply ended after ${got} of ${want} bytes`);
            settled = true;
            this.bytes += got;
            resolve(out);
          });
          res.on('error', (e) => fail('NETWORK', e.message));
        },
      );
      req.setTimeout(this.stallMs, () => fail('NETWORK', `no data for ${this.stallMs / 1000} s`));
      req.on('error', (e: NodeJS.ErrnoException) => fail('NETWORK', e.code ?? e.message));
    });
  }
}

export interface MirrorPoolEvents {
  warning: [message: string];
}

/** Spreads range requests over several web seeds and drops the bad ones. */
export class MirrorPool extends EventEmitter<MirrorPoolEvents> {
  readonly seeds: WebSeed[];
  private waiting: (() => void)[] = [];

  constructor(urls: readonly string[], fileLength: number, opts: { stallMs?: number } = {}) {
    super();
    const unique = [...new Set(urls)];
    this.seeds = unique.map((u) => new WebSeed(u, fileLength, opts.stallMs));
  }

  get alive(): WebSeed[] {
    return this.seeds.filter((s) => s.alive);
  }

  /** Drops a mirror with a warning (errors, wrong bytes). */
  drop(seed: WebSeed, why: string): void {
    if (!seed.alive) return;
    seed.alive = false;
    seed.failure = why;
    this.emit('warning', `dropping web seed ${seed.url}: ${why}`);
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }

  private async pick(avoid: ReadonlySet<WebSeed>): Promise<WebSeed> {
    for (;;) {
      const live = this.alive;
      if (live.length === 0) {
        const reasons = this.seeds.map((s) => `${s.url}: ${s.failure ?? 'unknown'}`).join('; ');
        throw new IsosyncError('NETWORK', this.seeds.length === 0 ? 'Cannot fetch: no web seeds or mirrors to fetch from' : `Cannot fetch: every web seed failed (${reasons})`);
      }
      const preferred = live.filter((s) => !avoid.has(s));
      const pool = preferred.length > 0 ? preferred : live;
      const free = pool.filter((s) => s.inFlight < PER_MIRROR_CONCURRENCY).sort((a, b) => a.inFlight - b.inFlight);
      if (free[0]) return free[0];
      await new Promise<void>((r) => this.waiting.push(r));
    }
  }

  /**
   * Fetches [start, end) from some live mirror, retrying on others when one
   * fails. `avoid` lists mirrors to use only as a last resort. Returns the
   * bytes and the mirror that sent them (for blame when a hash fails).
   */
  async fetch(start: number, end: number, avoid: ReadonlySet<WebSeed> = new Set()): Promise<{ bytes: Uint8Array; seed: WebSeed }> {
    for (;;) {
      const seed = await this.pick(avoid);
      seed.inFlight++;
      try {
        const bytes = await seed.fetchRange(start, end);
        return { bytes, seed };
      } catch (e) {
        this.drop(seed, e instanceof IsosyncError ? e.message.replace(/^Web seed \S+ failed: /, '') : String(e));
      } finally {
        seed.inFlight--;
        this.wake();
      }
    }
  }

  async fetchRange(start: number, end: number): Promise<Uint8Array> {
    return (await this.fetch(start, end)).bytes;
  }
}
