/**
 * An HTTP web seed (BEP 19) or plain mirror as a source of the one engine:
 * a peer that has every piece, never chokes, and has REQUEST_SLOTS request
 * slots. One turn's asks leave as one request: their blocks joined into
 * ranges (those closer than a part's framing joined too: coalesce.ts),
 * several ranges as one multipart/byteranges request where the server takes
 * them (http-ranges.ts).
 *
 * Replies are checked strictly (status 206 with a Content-Range or parts
 * that hold exactly what was asked, or 200 when the whole file was asked)
 * and read as they arrive: each block goes to the engine the moment its
 * last byte is in (block-filler.ts), so a reply that stalls or breaks keeps
 * every block it completed. A server that answers a multi-range request with
 * the whole file is asked fewer ranges per request
 * (FEWER_RANGES_PER_REQUEST), then one range at a time, from then on (that
 * is not a failure). Any other failure (HTTP error, wrong length, no byte for
 * `stallMs`), or bytes a piece hash proved wrong, drops the web seed with a
 * warning; the engine asks its blocks of the other sources. A request whose
 * missing blocks all came from other sources is stopped (QUEUE_SECONDS keeps
 * requests short). A server that answers a range request with the whole
 * file (no range support) is used with one plain GET of the whole file
 * (whole-file.ts), with a warning, when the sync gives a spool for it; else
 * it is dropped. Nothing here is trusted: pieces are verified by the caller.
 */
import { connectionWords } from '../core/net-words.js';
import http from 'node:http';
import type https from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { IsosyncError } from '../errors.js';
import type { Span } from '../core/span.js';
import { sourceOf, type WarningSink } from '../core/warnings.js';
import { blockSpan } from '../engine/block.js';
import { NO_CAPACITY, type ByteGate, type Capacity } from '../engine/handle.js';
import type { BlockFiller } from './block-filler.js';
import { MirrorHandle, type MirrorAsk, type MirrorHost, type MirrorLoad, type MirrorStream, type MirrorTransport } from './mirror-handle.js';
import { WholeFileStream, type Spool } from './whole-file.js';
import { requestRanges } from './coalesce.js';
import { badRange, multipartBoundary, MultipartReader, parseContentRange, rangeHeader } from './http-ranges.js';
import { lateHttps } from '../core/late-builtins.js';
import { extraCaOptions } from '../core/extra-ca.js';
import { LeanPool } from './lean-get.js';

/** A request under way, as the web seed stops it. */
interface Stoppable {
  destroy(): void;
}

/** No byte for this long means the web seed stalls. */
export const STALL_MS = 20_000;
/** Requests in flight per web seed: enough to fill a link, few enough to be polite. */
export const REQUEST_SLOTS = 4;
/**
 * Ranges asked in one multi-range request (RFC 9110 §14.6): Apache's default
 * MaxRanges, and a Range header of at most some 4.4 KiB (within the 8 KiB
 * that nginx and Apache take by default). A delta's blocks are scattered
 * (some KiB each): at 48 ranges a request held ~0.2 MiB, not the 4 MiB it may.
 */
export const MAX_RANGES_PER_REQUEST = 200;
/** Ranges per request once a server answered MAX_RANGES_PER_REQUEST with the whole file (a lower limit: isosync serve takes 64). */
export const FEWER_RANGES_PER_REQUEST = 48;
/** Bytes one request asks at most: look-ahead fills it (16 whole 256 KiB pieces). */
export const REQUEST_BYTES = 4 * 1024 * 1024;
/**
 * Bytes asked and not yet received are kept to what the web seed sends in
 * QUEUE_SECONDS at its measured rate (at least MIN_QUEUE_BYTES): a slow
 * mirror does not hold work a peer that joins later could do.
 */
export const QUEUE_SECONDS = 2;
export const MIN_QUEUE_BYTES = 1024 * 1024;

let httpsAgent: https.Agent | undefined;
/** Keep-alive agents; the https one (and node:https) made on first use (core/late-builtins.ts). */
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  get https(): https.Agent {
    return (httpsAgent ??= new (lateHttps().Agent)({ keepAlive: true, maxSockets: 16, ...extraCaOptions() }));
  },
};

/** BEP 19: a URL ending in "/" names a directory holding the torrent's file. */
export function webSeedFileUrl(url: string, torrentName: string): string {
  return url.endsWith('/') ? url + encodeURIComponent(torrentName) : url;
}

/** A multi-range request answered with the whole file: ask one range at a time (not a failure). */
const WHOLE_FILE_REPLY = Symbol('whole file reply');
/** A single-range request answered with the whole file: the server has no range support. */
const NO_RANGES = Symbol('no range support');

export interface WebPeerOptions {
  readonly stallMs?: number;
  /** Every body byte passes through it (the download limit shared with peers). */
  readonly gate?: ByteGate;
  /** Where a server without range support streams the whole file (whole-file.ts); without it such a server is dropped. */
  readonly spool?: Spool;
  readonly onWarning?: WarningSink;
  /** The clock of the rate measurement (ms; default Date.now). */
  readonly now?: () => number;
}

/** An HTTP web seed: the mirror handle (mirror-handle.ts) over HTTP range requests. */
export class WebPeer extends MirrorHandle {
  constructor(url: string, fileLength: number, pieceLength: number, opts: WebPeerOptions = {}) {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new IsosyncError('BAD_ARGUMENT', `Cannot use web seed ${JSON.stringify(url)}: only http and https are supported`, { url });
    }
    super(url, sourceOf.webSeed(url), fileLength, pieceLength, (host) => new HttpRanges(host, opts), opts);
  }
}

class HttpRanges implements MirrorTransport {
  /** Whether the server answers several ranges in one multipart reply; unknown until tried. */
  multiRange: boolean | undefined = undefined;
  /** Ranges one request may hold (fewer once the server refused more). */
  private maxRanges = MAX_RANGES_PER_REQUEST;
  private probing = false;
  private readonly live = new Set<Stoppable>();
  /** Plain http without a download limit: the lean client's connections (lean-get.ts). */
  private readonly lean: LeanPool | undefined;
  private readonly stallMs: number;
  private readonly gate: ByteGate | undefined;
  private readonly spool: Spool | undefined;
  /** The plain GET of the whole file, once the server showed it has no range support. */
  private whole: WholeFileStream | undefined;
  /** The URL as request options, parsed once: a delta sync sends hundreds of requests (parsing each cost ~5 % of the HTTP path's CPU). */
  private readonly target: http.RequestOptions;
  private readonly tls: boolean;

  constructor(
    private readonly host: MirrorHost,
    opts: WebPeerOptions,
  ) {
    this.stallMs = opts.stallMs ?? STALL_MS;
    // A gate without a limit (a sync's bucket when no --download-limit is set) is skipped: no pause and promise per chunk.
    this.gate = opts.gate?.unlimited ? undefined : opts.gate;
    this.spool = opts.spool;
    const u = new URL(host.url);
    this.tls = u.protocol === 'https:';
    this.target = urlToHttpOptions(u);
    if (!this.tls && !this.gate) this.lean = new LeanPool(u.hostname.replace(/^\[|\]$/g, ''), Number(u.port || 80), this.stallMs);
  }

  get stream(): MirrorStream | undefined {
    return this.whole;
  }

  capacity(load: MirrorLoad): Capacity {
    // Asks of the whole-file stream cost no request: a few requests' worth wait at once.
    if (this.whole) return this.whole.pendingBytes < REQUEST_SLOTS * REQUEST_BYTES ? { blocks: Infinity, bytes: REQUEST_BYTES, runs: Infinity } : NO_CAPACITY;
    const room = Math.max(MIN_QUEUE_BYTES, load.rate * QUEUE_SECONDS) - load.outstanding;
    // What it sends in QUEUE_SECONDS at its measured rate: a seed peer leaves that to it (scheduler.ts webQueueWalk). Until the
    // rate is a measure (MEASURE_MS), at least one full request: with none, a seed peer was asked the first blocks of a mixed
    // sync, those the assembly needs first, and the assembly waited for a loaded seed while the mirror was fast.
    const expected = load.unmeasured ? Math.max(load.rate * QUEUE_SECONDS, REQUEST_BYTES) : load.rate * QUEUE_SECONDS;
    const queue = Math.max(0, Math.min(expected, REQUEST_SLOTS * REQUEST_BYTES) - load.outstanding);
    if (load.inFlight >= REQUEST_SLOTS || room <= 0) return { ...NO_CAPACITY, queue };
    // Until one multi-range request has shown the server takes them, the others ask one range each.
    const single = this.multiRange === false || (this.multiRange === undefined && this.probing);
    return { blocks: Infinity, bytes: Math.min(REQUEST_BYTES, room), runs: single ? 1 : this.maxRanges, queue };
  }

  close(): void {
    this.whole?.close();
    for (const r of this.live) r.destroy();
    this.live.clear();
    this.lean?.close();
  }

  async fetch(ask: MirrorAsk): Promise<void | 'kept'> {
    // Runs closer than a part's framing are asked as one range.
    const runs = requestRanges(ask.runs);
    const requests = new Set<Stoppable>();
    ask.onAbort(() => {
      for (const r of requests) r.destroy();
    });
    try {
      if (runs.length > 1 && this.multiRange !== false) {
        const first = this.multiRange === undefined;
        if (first) this.probing = true;
        try {
          await this.get(runs, ask.filler, requests).catch(async (e: unknown) => {
            if (e !== WHOLE_FILE_REPLY || runs.length <= FEWER_RANGES_PER_REQUEST) throw e;
            // Too many ranges for this server: fewer per request from now on.
            this.maxRanges = FEWER_RANGES_PER_REQUEST;
            for (let i = 0; i < runs.length; i += FEWER_RANGES_PER_REQUEST) await this.get(runs.slice(i, i + FEWER_RANGES_PER_REQUEST), ask.filler, requests);
          });
          this.multiRange = true;
        } catch (e) {
          if (e !== WHOLE_FILE_REPLY) throw e;
          this.multiRange = false;
          // One range first: a server that ignores ranges altogether shows it once, not once per range.
          await this.get([runs[0]!], ask.filler, requests);
          await Promise.all(runs.slice(1).map((r) => this.get([r], ask.filler, requests)));
        } finally {
          if (first) this.probing = false;
        }
      } else {
        await Promise.all(runs.map((r) => this.get([r], ask.filler, requests)));
      }
      const missing = ask.filler.missing();
      if (missing.length > 0) {
        const s = blockSpan(missing[0]!, this.host.pieceLength);
        throw badRange(`the reply lacks bytes ${s.start}-${s.end - 1}`);
      }
    } catch (e) {
      if (e !== NO_RANGES || !this.spool || !this.host.alive || ask.aborted) throw e;
      this.wholeFile(this.spool).ask(ask.wanted());
      return 'kept';
    }
  }

  /** Switches to one plain GET of the whole file (the server has no range support), once. */
  private wholeFile(spool: Spool): WholeFileStream {
    if (this.whole) return this.whole;
    const host = this.host;
    host.warn({ code: 'WEB_SEED_NO_RANGES', source: host.id, detail: 'the server does not support byte ranges: fetching the whole image with one plain GET' });
    this.whole = new WholeFileStream({
      url: host.url,
      fileLength: host.fileLength,
      pieceLength: host.pieceLength,
      spool,
      stallMs: this.stallMs,
      ...(this.gate ? { gate: this.gate } : {}),
      agent: agents,
      onBlock: (b, bytes) => host.deliver(b, bytes),
      onBytes: (n) => {
        host.received += n;
        host.bytes += n;
      },
      onFail: (why) => host.drop(why),
    });
    host.requests++;
    this.whole.start();
    return this.whole;
  }

  /** One GET of `ranges`, its body put into the ask's filler as it arrives. */
  private get(ranges: readonly Span[], filler: BlockFiller, requests: Set<Stoppable>): Promise<void> {
    const host = this.host;
    const url = host.url;
    const fileLength = host.fileLength;
    const first = ranges[0]!;
    const last = ranges[ranges.length - 1]!;
    const multi = ranges.length > 1;
    const whole = !multi && first.start === 0 && first.end === fileLength;
    const header = rangeHeader(ranges);
    /** The bytes asked, as a person reads them. */
    const asked = `${first.start}-${last.end - 1}${multi ? ` (${ranges.length} ranges)` : ''}`;
    const want = ranges.reduce((n, r) => n + r.end - r.start, 0);
    host.requests++;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let req: Stoppable | undefined;
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        if (req) {
          req.destroy();
          this.live.delete(req);
          requests.delete(req);
        }
        reject(e);
      };
      const failWith = (code: 'BAD_REPLY' | 'NETWORK' | 'HTTP_STATUS' | 'TIMEOUT', why: string, fields: Record<string, unknown> = {}) =>
        fail(new IsosyncError(code, `Web seed ${url} failed: ${why}`, { url: url, offset: first.start, length: last.end - first.start, reason: why, ...fields }));
      let at = first.start;
      let limit = want;
      let reader: MultipartReader | undefined;
      let got = 0;
      /** The reply's status and headers: false when it cannot be used (the request failed). */
      const onHead = (status: number, headerOf: (name: string) => string | undefined): boolean => {
        if (status === 200 && multi) return fail(WHOLE_FILE_REPLY), false;
        if (status === 200 && !whole) return (this.spool ? fail(NO_RANGES) : failWith('BAD_REPLY', `answered 200 to a range request for bytes ${asked} (no range support)`)), false;
        if (status !== 206 && status !== 200) return failWith('HTTP_STATUS', `HTTP ${status}`, { status }), false;
        const boundary = status === 206 ? multipartBoundary(headerOf('content-type')) : undefined;
        if (boundary) {
          reader = new MultipartReader(boundary, fileLength, 2 * ranges.length, (o, b) => filler.put(o, b));
          limit = want + 512 * ranges.length + 1024;
        } else if (status === 206) {
          const cr = parseContentRange(headerOf('content-range'));
          if (!cr || cr.start > first.start || cr.end < last.end) return failWith('BAD_REPLY', `Content-Range ${JSON.stringify(headerOf('content-range') ?? '')} does not cover bytes ${asked}`), false;
          if (cr.total !== undefined && cr.total !== fileLength) return failWith('BAD_REPLY', `file is ${cr.total} bytes, the torrent says ${fileLength}`), false;
          at = cr.start;
          limit = cr.end - cr.start;
        }
        return true;
      };
      const onData = (chunk: Uint8Array) => {
        if (settled) return;
        if (got + chunk.length > limit) return failWith('BAD_REPLY', `sent more than the ${limit} bytes expected`);
        got += chunk.length;
        host.received += chunk.length;
        try {
          if (reader) reader.push(chunk);
          else {
            filler.put(at, chunk);
            at += chunk.length;
          }
        } catch (e) {
          fail(e);
        }
      };
      const onEnd = () => {
        if (settled) return;
        try {
          if (reader) reader.end();
          else if (got !== limit) throw badRange(`reply ended after ${got} of ${limit} bytes`);
        } catch (e) {
          return fail(e);
        }
        settled = true;
        this.live.delete(req!);
        requests.delete(req!);
        host.bytes += got;
        resolve();
      };
      const headers = { Range: header, 'User-Agent': 'isosync', 'Accept-Encoding': 'identity' };
      if (this.lean) {
        // Plain http without a download limit: the lean client (lean-get.ts), whose body views the filler copies.
        filler.transient = true;
        req = this.lean.get(this.target.path ?? '/', headers, {
          head: (status, h) => onHead(status, (n) => h.get(n)),
          body: onData,
          end: onEnd,
          fail: (code, why) => (code === 'TIMEOUT' ? failWith('TIMEOUT', `no data for ${this.stallMs / 1000} s`, { timeoutMs: this.stallMs }) : failWith(code === 'BAD_HTTP' ? 'BAD_REPLY' : 'NETWORK', code === 'BAD_HTTP' ? why : (connectionWords(code) ?? code))),
        });
      } else {
        const r = (this.tls ? lateHttps() : http).get({ ...this.target, agent: this.tls ? agents.https : agents.http, headers }, (res) => {
          if (!onHead(res.statusCode ?? 0, (n) => res.headers[n] as string | undefined)) return;
          // With a download limit, each chunk waits for its tokens (the reply paused meanwhile), in order.
          const gate = this.gate;
          let passed = Promise.resolve();
          res.on('data', (chunk: Buffer) => {
            if (!gate) return onData(chunk);
            res.pause();
            passed = passed
              .then(() => gate.take(chunk.length))
              .then(() => {
                onData(chunk);
                if (!settled) res.resume();
              });
          });
          res.on('end', () => (gate ? void (passed = passed.then(onEnd)) : onEnd()));
          res.on('error', (e) => failWith('NETWORK', e.message));
        });
        req = r;
        r.setTimeout(this.stallMs, () => failWith('TIMEOUT', `no data for ${this.stallMs / 1000} s`, { timeoutMs: this.stallMs }));
        r.on('error', (e: NodeJS.ErrnoException) => failWith('NETWORK', (e.code && connectionWords(e.code)) ?? e.code ?? e.message));
      }
      if (settled) return req.destroy();
      this.live.add(req);
      requests.add(req);
    });
  }
}
