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
 * rejected, with a warning. fetchMany calls made while others wait (several
 * pieces being assembled at once) leave in one multi-range request: fewer
 * round trips and reply headers than one request per piece, and ranges of
 * neighbouring pieces that touch become one range. Nothing here is trusted: pieces are verified by
 * the caller.
 */
import http from 'node:http';
import https from 'node:https';
import { asIsosyncError, IsosyncError } from '../errors.js';
import { ignoreWarnings, sourceOf, type WarningSink } from '../core/warnings.js';
import { bytesOf, mergeSpans } from '../core/span.js';

/** No byte for this long means the mirror stalls. */
export const STALL_MS = 20_000;
/** Requests in flight per mirror: enough to fill a link, few enough to be polite. */
export const PER_MIRROR_CONCURRENCY = 4;

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 16 }), https: new https.Agent({ keepAlive: true, maxSockets: 16 }) };

/** BEP 19: a URL ending in "/" names a directory holding the torrent's file. */
export function webSeedFileUrl(url: string, torrentName: string): string {
  return url.endsWith('/') ? url + encodeURIComponent(torrentName) : url;
}

/** Ranges asked in one multi-range request (RFC 9110 §14.6): a short Range header every server takes. */
export const MAX_RANGES_PER_REQUEST = 48;
/**
 * A multi-range call of at least this many bytes is shared among the live
 * mirrors (look-ahead asks up to 4 MiB at once): below it, one request to one
 * mirror costs less than several round trips.
 */
export const SPLIT_BYTES = 1024 * 1024;

export class WebSeed {
  inFlight = 0;
  bytes = 0;
  /** Body bytes received so far, counted as they arrive (replies still in flight too): for rate displays. */
  received = 0;
  requests = 0;
  alive = true;
  failure?: string;
  /** Whether the server answers several ranges in one multipart/byteranges reply; unknown until tried. */
  multiRange: boolean | undefined = undefined;

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
  async fetchRange(start: number, end: number): Promise<Uint8Array> {
    const [bytes] = await this.fetchRanges([{ start, end }]);
    return bytes!;
  }

  /**
   * Fetches several disjoint, sorted ranges, in as few requests as the server
   * allows: one multipart/byteranges request per MAX_RANGES_PER_REQUEST
   * ranges when it supports them, else one request per range. A server that
   * answers a multi-range request with the whole file is switched to single
   * ranges (that is not a failure).
   */
  async fetchRanges(ranges: readonly { start: number; end: number }[]): Promise<Uint8Array[]> {
    // Until one multi-range request has shown the server supports them, the others ask one range at a time.
    const single = ranges.length <= 1 || this.multiRange === false || (this.multiRange === undefined && this.probing);
    if (single) return Promise.all(ranges.map((r) => this.request([r]).then((b) => b[0]!)));
    if (this.multiRange === undefined) {
      this.probing = true;
      try {
        return await this.fetchRangesMulti(ranges);
      } finally {
        this.probing = false;
      }
    }
    return this.fetchRangesMulti(ranges);
  }

  private probing = false;

  private async fetchRangesMulti(ranges: readonly { start: number; end: number }[]): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (let i = 0; i < ranges.length; i += MAX_RANGES_PER_REQUEST) {
      const batch = ranges.slice(i, i + MAX_RANGES_PER_REQUEST);
      const got = await this.request(batch);
      if (got.length === 0) return [...out, ...(await this.fetchRanges(ranges.slice(i)))]; // switched to single ranges
      for (const g of got) out.push(g);
    }
    return out;
  }

  /** One HTTP request for `ranges`; [] when a multi-range request was answered with the whole file. */
  private request(ranges: readonly { start: number; end: number }[]): Promise<Uint8Array[]> {
    const u = new URL(this.url);
    const mod = u.protocol === 'https:' ? https : http;
    const first = ranges[0]!;
    const last = ranges[ranges.length - 1]!;
    const multi = ranges.length > 1;
    const whole = !multi && first.start === 0 && first.end === this.fileLength;
    const asked = ranges.map((r) => `${r.start}-${r.end - 1}`).join(',');
    const want = ranges.reduce((n, r) => n + r.end - r.start, 0);
    this.requests++;
    return new Promise<Uint8Array[]>((resolve, reject) => {
      let settled = false;
      const fail = (code: 'BAD_REPLY' | 'NETWORK', why: string) => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(new IsosyncError(code, `Web seed ${this.url} failed: ${why}`, { url: this.url, offset: first.start, length: last.end - first.start, reason: why }));
      };
      const req = mod.get(
        u,
        {
          agent: u.protocol === 'https:' ? agents.https : agents.http,
          headers: { Range: `bytes=${asked}`, 'User-Agent': 'isosync', 'Accept-Encoding': 'identity' },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status === 200 && multi) {
            settled = true;
            this.multiRange = false;
            req.destroy();
            resolve([]);
            return;
          }
          if (status === 200 && !whole) return fail('BAD_REPLY', `answered 200 to a range request for bytes ${asked} (no range support)`);
          if (status !== 206 && status !== 200) return fail('BAD_REPLY', `HTTP ${status} for bytes ${asked}`);
          const type = String(res.headers['content-type'] ?? '');
          const boundary = /^multipart\/byteranges;\s*boundary=("?)([^";]+)\1/i.exec(type)?.[2];
          let single: { start: number; end: number } | undefined;
          if (status === 206 && !boundary) {
            const cr = parseContentRange(res.headers['content-range']);
            if (!cr || cr.start > first.start || cr.end < last.end) {
              return fail('BAD_REPLY', `Content-Range ${JSON.stringify(res.headers['content-range'] ?? '')} does not cover bytes ${asked}`);
            }
            if (cr.total !== undefined && cr.total !== this.fileLength) return fail('BAD_REPLY', `file is ${cr.total} bytes, the torrent says ${this.fileLength}`);
            single = cr;
          }
          const limit = boundary ? want + 512 * ranges.length + 1024 : single ? single.end - single.start : want;
          const chunks: Buffer[] = [];
          let got = 0;
          res.on('data', (chunk: Buffer) => {
            if (settled) return;
            if (got + chunk.length > limit) return fail('BAD_REPLY', `sent more than the ${limit} bytes expected`);
            chunks.push(chunk);
            got += chunk.length;
            this.received += chunk.length;
          });
          res.on('end', () => {
            if (settled) return;
            const body = Buffer.concat(chunks, got);
            let parts: Uint8Array[];
            try {
              if (boundary) {
                parts = splitMultipart(body, boundary, ranges, this.fileLength);
                this.multiRange = true;
              } else {
                const base = single ? single.start : first.start;
                if (body.length !== limit) throw malformed(`reply ended after ${body.length} of ${limit} bytes`);
                parts = ranges.map((r) => body.subarray(r.start - base, r.end - base));
                if (multi) this.multiRange = true;
              }
            } catch (e) {
              return fail('BAD_REPLY', (e as Error).message);
            }
            settled = true;
            this.bytes += got;
            resolve(parts);
          });
          res.on('error', (e) => fail('NETWORK', e.message));
        },
      );
      req.setTimeout(this.stallMs, () => fail('NETWORK', `no data for ${this.stallMs / 1000} s`));
      req.on('error', (e: NodeJS.ErrnoException) => fail('NETWORK', e.code ?? e.message));
    });
  }
}

/** A reply that does not hold the bytes asked. */
function malformed(why: string): IsosyncError {
  return new IsosyncError('BAD_REPLY', why, { reason: why });
}

/** `bytes a-b/total` -> {start, end (exclusive), total}. */
function parseContentRange(v: string | string[] | undefined): { start: number; end: number; total?: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(v ?? '').trim());
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]) + 1, ...(m[3] !== '*' ? { total: Number(m[3]) } : {}) };
}

/**
 * Splits a multipart/byteranges body (RFC 9110 §14.6) into the bytes of each
 * asked range. Every part must carry a Content-Range; a part may cover more
 * than one asked range (servers may coalesce), never less.
 */
function splitMultipart(body: Buffer, boundary: string, ranges: readonly { start: number; end: number }[], fileLength: number): Uint8Array[] {
  const delim = Buffer.from(`--${boundary}`);
  const parts: { start: number; end: number; bytes: Buffer }[] = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    const after = pos + delim.length;
    if (body[after] === 0x2d && body[after + 1] === 0x2d) break; // closing delimiter
    const headEnd = body.indexOf('\r\n\r\n', after);
    if (headEnd < 0) throw malformed('multipart reply has a part without a header end');
    const head = body.subarray(after, headEnd).toString('latin1');
    const cr = parseContentRange(/content-range:\s*([^\r\n]+)/i.exec(head)?.[1]);
    if (!cr) throw malformed('multipart reply has a part without a Content-Range');
    if (cr.total !== undefined && cr.total !== fileLength) throw malformed(`file is ${cr.total} bytes, the torrent says ${fileLength}`);
    const start = headEnd + 4;
    const end = start + (cr.end - cr.start);
    if (end > body.length) throw malformed('multipart reply ended inside a part');
    parts.push({ start: cr.start, end: cr.end, bytes: body.subarray(start, end) });
    pos = body.indexOf(delim, end);
    if (parts.length > ranges.length * 2) throw malformed('multipart reply has more parts than ranges asked');
  }
  return ranges.map((r) => {
    const p = parts.find((x) => x.start <= r.start && x.end >= r.end);
    if (!p) throw malformed(`multipart reply lacks bytes ${r.start}-${r.end - 1}`);
    return p.bytes.subarray(r.start - p.start, r.end - p.start);
  });
}

type Range = { readonly start: number; readonly end: number };

/** A fetchMany call waiting to leave in a shared request. */
interface Queued {
  readonly ranges: readonly Range[];
  resolve(r: { parts: Uint8Array[]; seed: WebSeed }): void;
  reject(e: unknown): void;
}

/** Spreads range requests over several web seeds and drops the bad ones. */
/** Why a web seed failed, from its error's fields (never from the message). */
function reasonOf(e: unknown): string {
  const err = asIsosyncError(e, 'NETWORK');
  return typeof err.fields['reason'] === 'string' ? err.fields['reason'] : err.message;
}

export class MirrorPool {
  readonly seeds: WebSeed[];
  private waiting: (() => void)[] = [];

  private readonly warn: WarningSink;

  constructor(urls: readonly string[], fileLength: number, opts: { stallMs?: number; onWarning?: WarningSink } = {}) {
    this.warn = opts.onWarning ?? ignoreWarnings;
    const unique = [...new Set(urls)];
    this.seeds = unique.map((u) => new WebSeed(u, fileLength, opts.stallMs));
  }

  get alive(): WebSeed[] {
    return this.seeds.filter((s) => s.alive);
  }

  /** A mirror sent bytes that a verified piece proved wrong: it is dropped (PieceFetcher). */
  convict(seed: WebSeed, why: string): void {
    this.drop(seed, why);
  }

  /** Drops a mirror with a warning (errors, wrong bytes). */
  drop(seed: WebSeed, why: string): void {
    if (!seed.alive) return;
    seed.alive = false;
    seed.failure = why;
    this.warn({ code: 'WEB_SEED_DROPPED', source: sourceOf.webSeed(seed.url), detail: `dropped: ${why}` });
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }

  private async pickSeed(avoid: ReadonlySet<WebSeed>): Promise<WebSeed> {
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
      const seed = await this.pickSeed(avoid);
      seed.inFlight++;
      try {
        const bytes = await seed.fetchRange(start, end);
        return { bytes, seed };
      } catch (e) {
        this.drop(seed, reasonOf(e));
      } finally {
        seed.inFlight--;
        this.wake();
      }
    }
  }

  async fetchRange(start: number, end: number): Promise<Uint8Array> {
    return (await this.fetch(start, end)).bytes;
  }

  /**
   * Several sorted, disjoint ranges from one live mirror (one multi-range
   * request where it can), retrying on others. Calls without `avoid` are
   * queued for a turn of the event loop and leave together with the others
   * queued by then (see dispatch).
   */
  async fetchMany(
    ranges: readonly { start: number; end: number }[],
    avoid: ReadonlySet<WebSeed> = new Set(),
  ): Promise<{ parts: Uint8Array[]; seed: WebSeed; blame?: { start: number; end: number; who: WebSeed }[] }> {
    const split = avoid.size === 0 ? this.splitAmongMirrors(ranges) : undefined;
    if (split) {
      // One big call, several mirrors: each takes a share, in parallel; blame names who sent which bytes.
      const got = await Promise.all(split.groups.map((g) => this.fetchManyOne(g.map((x) => x.range), avoid)));
      const pieces: Uint8Array[][] = ranges.map(() => []);
      const blame: { start: number; end: number; who: WebSeed }[] = [];
      split.groups.forEach((g, i) =>
        g.forEach((x, j) => {
          pieces[x.of]!.push(got[i]!.parts[j]!);
          blame.push({ ...x.range, who: got[i]!.seed });
        }),
      );
      const parts = pieces.map((ps) => (ps.length === 1 ? ps[0]! : new Uint8Array(Buffer.concat(ps))));
      return { parts, seed: got[0]!.seed, blame };
    }
    return this.fetchManyOne(ranges, avoid);
  }

  /** fetchMany without sharing out: one mirror answers all of `ranges`. */
  private fetchManyOne(ranges: readonly { start: number; end: number }[], avoid: ReadonlySet<WebSeed>): Promise<{ parts: Uint8Array[]; seed: WebSeed }> {
    if (avoid.size > 0 || ranges.length === 0 || ranges.length >= MAX_RANGES_PER_REQUEST) return this.fetchManyNow(ranges, avoid);
    return new Promise((resolve, reject) => {
      this.queue.push({ ranges, resolve, reject });
      this.scheduleDispatch();
    });
  }

  /**
   * A call for at least SPLIT_BYTES with several live mirrors: its bytes cut into one contiguous
   * share per mirror (a range may be cut in two), each sub-range naming the range it belongs to.
   */
  private splitAmongMirrors(ranges: readonly { start: number; end: number }[]): { groups: { range: { start: number; end: number }; of: number }[][] } | undefined {
    const mirrors = this.alive.length;
    const total = ranges.reduce((n, r) => n + r.end - r.start, 0);
    if (mirrors < 2 || total < SPLIT_BYTES) return undefined;
    const share = Math.ceil(total / mirrors);
    const groups: { range: { start: number; end: number }; of: number }[][] = [[]];
    let room = share;
    ranges.forEach((r, of) => {
      let at = r.start;
      while (at < r.end) {
        if (room === 0) {
          groups.push([]);
          room = share;
        }
        const end = Math.min(r.end, at + room);
        groups[groups.length - 1]!.push({ range: { start: at, end }, of });
        room -= end - at;
        at = end;
      }
    });
    return { groups };
  }

  private queue: Queued[] = [];
  private dispatchScheduled = false;
  private dispatching = false;

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    // After the I/O callbacks of this turn: pieces whose local reads finished together ask together.
    setImmediate(() => {
      this.dispatchScheduled = false;
      void this.dispatch();
    });
  }

  /**
   * Sends the queued calls: whenever a mirror has a free request slot, queued
   * calls leave in one request to it, as many as fit in MAX_RANGES_PER_REQUEST
   * ranges and at most an even share among the mirrors with a free slot. Calls
   * that arrive while every slot is busy wait and join the next.
   */
  private async dispatch(): Promise<void> {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (this.queue.length > 0) {
        let seed: WebSeed;
        try {
          seed = await this.pickSeed(new Set());
        } catch (e) {
          for (const q of this.queue.splice(0)) q.reject(e);
          return;
        }
        // Several mirrors with a free slot: the queued calls are shared out among them, so the
        // requests of one moment spread over the mirrors instead of all going to the first.
        const freeMirrors = Math.max(1, this.alive.filter((s) => s.inFlight < PER_MIRROR_CONCURRENCY).length);
        const share = Math.ceil(this.queue.length / freeMirrors);
        const batch: Queued[] = [];
        let count = 0;
        while (this.queue.length > 0 && (batch.length === 0 || (batch.length < share && count + this.queue[0]!.ranges.length <= MAX_RANGES_PER_REQUEST))) {
          const q = this.queue.shift()!;
          batch.push(q);
          count += q.ranges.length;
        }
        seed.inFlight++;
        void this.sendBatch(seed, batch);
      }
    } finally {
      this.dispatching = false;
    }
  }

  private async sendBatch(seed: WebSeed, batch: Queued[]): Promise<void> {
    const joined = mergeSpans(batch.flatMap((q) => q.ranges));
    try {
      const parts = await seed.fetchRanges(joined);
      for (const q of batch) q.resolve({ parts: q.ranges.map((r) => bytesOf(r, joined, parts)), seed });
    } catch (e) {
      this.drop(seed, reasonOf(e));
      this.queue = [...batch, ...this.queue]; // retried on the other mirrors
      this.scheduleDispatch();
    } finally {
      seed.inFlight--;
      this.wake();
    }
  }

  private async fetchManyNow(ranges: readonly { start: number; end: number }[], avoid: ReadonlySet<WebSeed>): Promise<{ parts: Uint8Array[]; seed: WebSeed }> {
    for (;;) {
      const seed = await this.pickSeed(avoid);
      seed.inFlight++;
      try {
        return { parts: await seed.fetchRanges(ranges), seed };
      } catch (e) {
        this.drop(seed, reasonOf(e));
      } finally {
        seed.inFlight--;
        this.wake();
      }
    }
  }

  async fetchRanges(ranges: readonly { start: number; end: number }[]): Promise<Uint8Array[]> {
    return (await this.fetchMany(ranges)).parts;
  }
}
