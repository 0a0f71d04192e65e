/**
 * The HTTP server of `isosync serve DIR`: one port for
 *   - plain file serving of DIR (static-files.ts), what curl and browsers get;
 *   - a torrent for every file of at least minSize bytes (served-torrents.ts):
 *     `GET /x.iso.torrent`, or `GET /x.iso` with `Accept: application/x-bittorrent`
 *     or an `X-Isosync` header (replies to the file's URL carry
 *     `Vary: Accept, X-Isosync`, so caches keep both);
 *   - a tracker at /announce and /scrape when one is mounted (TrackerLike);
 *   - the signed release feeds at /feeds/PRODUCT (feeds.ts);
 *   - /status (HTML, or JSON for `Accept: application/json`) and /status.json
 *     (status-page.ts), from totals sampled every statusSampleMs
 *     (status-history.ts), with the release feeds;
 *   - a request log line in the combined format for every request (accessLog).
 *
 * Slow clients: every connection is its own stream with backpressure; headers
 * must arrive within HEADERS_TIMEOUT_MS and an idle socket is closed after
 * IDLE_TIMEOUT_MS, so a client that trickles or stalls holds only itself.
 */
import type { Stats } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Catalog } from '../library/catalog.js';
import { asIsosyncError } from '../errors.js';
import type { WarningSink } from '../core/warnings.js';
import { logWhenDone } from './access-log.js';
import { savedBytes, StatusHistory, type Sample } from './status-history.js';
import { statusHtml, type ImageStatus, type ServeStatus } from './status-page.js';
import { ALLOWED_METHODS, resolveRequest, sendFile, sendStatus, serveFile, type StaticStats } from './static-files.js';
import { TORRENT_TYPE } from './content-type.js';
import { TORRENT_SUFFIX } from '../library/torrent-name.js';
import { DEFAULT_MIN_TORRENT_BYTES, TorrentCache, type ServedTorrent } from './served-torrents.js';
import { feedProductOf, listFeeds, sendFeed } from './feeds.js';

/** A request's headers must be complete within this long (slowloris guard). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** A socket with no traffic either way for this long is closed. */
export const IDLE_TIMEOUT_MS = 120_000;
/** How often Node checks the timeouts above. */
const TIMEOUT_CHECK_MS = 1_000;

/** The tracker the server mounts at /announce and /scrape (src/tracker/server.ts). */
export interface TrackerLike {
  /** True when it answered the request (an /announce or /scrape). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  swarms(): { infoHash: string; seeders: number; leechers: number; completed: number }[];
  listenUdp?(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

/** A BitTorrent seed of one served image (src/swarm). */
export interface SeedLike {
  readonly infoHash: string;
  /** Payload bytes uploaded to peers. */
  readonly uploaded: number;
  /** Connected peers. */
  readonly peers: number;
  /** The seed's BitTorrent peer id (hex), so a client's per-peer report can tell the server apart. */
  readonly peerId?: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  readonly root: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Base URL clients use (default http://HOST:PORT). */
  readonly publicUrl?: string;
  readonly minSize?: number;
  readonly catalog?: Catalog;
  readonly listing?: boolean;
  readonly dotfiles?: boolean;
  readonly tracker?: TrackerLike;
  /** Starts a seed for a torrent the server made (optional: without it the server only web-seeds). */
  readonly seed?: (t: ServedTorrent) => Promise<SeedLike>;
  readonly headersTimeoutMs?: number;
  readonly onWarning?: WarningSink;
  /** Called with one combined-format line per request (--access-log FILE, or stdout with -v). */
  readonly accessLog?: (line: string) => void;
  /** How often the totals behind /status's chart are sampled, and the catalog checked for new releases (default 10 s). */
  readonly statusSampleMs?: number;
}

export type { ServeStatus } from './status-page.js';

/** Default period of the /status samples and of the check for releases published meanwhile. */
export const STATUS_SAMPLE_MS = 10_000;

/** Whether the client asked for the torrent instead of the file. */
export function wantsTorrent(req: IncomingMessage): boolean {
  if (req.headers['x-isosync'] !== undefined) return true;
  const accept = String(req.headers.accept ?? '');
  return accept.split(',').some((part) => {
    const [type, ...params] = part.trim().split(';').map((s) => s.trim());
    if (type?.toLowerCase() !== TORRENT_TYPE) return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

export class IsosyncServer {
  readonly http: StaticStats = { bytesSent: 0, requests: 0, perFile: new Map() };
  requests = 0;
  torrentsSent = 0;
  readonly torrents: TorrentCache;
  private readonly seeds = new Map<string, SeedLike | Promise<SeedLike | undefined>>();
  private readonly started = Date.now();
  private closing = false;
  private readonly history = new StatusHistory();
  private readonly sampler: NodeJS.Timeout;
  private catalogVersion: number | undefined;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly o: ServeOptions,
  ) {
    this.torrents = new TorrentCache(o.catalog, { publicUrl: url, minSize: o.minSize ?? DEFAULT_MIN_TORRENT_BYTES, onTorrent: (t) => this.startSeed(t) });
    this.catalogVersion = o.catalog?.dataVersion;
    this.sampler = setInterval(() => void this.tick(), o.statusSampleMs ?? STATUS_SAMPLE_MS);
    this.sampler.unref();
  }

  /** Samples the totals for /status, and prepares the torrents of releases published into the catalog since the last tick. */
  private async tick(): Promise<void> {
    if (this.closing) return;
    this.history.add(await this.totals());
    const v = this.o.catalog?.dataVersion;
    if (v !== this.catalogVersion) {
      this.catalogVersion = v;
      this.warm().catch((e: unknown) => {
        const error = asIsosyncError(e);
        this.o.onWarning?.({ code: 'TORRENT_FAILED', source: this.o.root, detail: `cannot prepare torrents: ${error.message}`, error });
      });
    }
  }

  /** Listens and returns the running server. */
  static async start(o: ServeOptions): Promise<IsosyncServer> {
    let self: IsosyncServer | undefined;
    const server = createServer({ connectionsCheckingInterval: TIMEOUT_CHECK_MS, headersTimeout: o.headersTimeoutMs ?? HEADERS_TIMEOUT_MS, requestTimeout: 2 * (o.headersTimeoutMs ?? HEADERS_TIMEOUT_MS) }, (req, res) => {
      if (o.accessLog) logWhenDone(req, res, o.accessLog);
      self!.route(req, res).catch((e: unknown) => {
        // Stopped while it ran (its connection is gone, the catalog may be closed): nothing failed that anyone waits for.
        if (self!.closing) return;
        const error = asIsosyncError(e);
        o.onWarning?.({ code: 'REQUEST_FAILED', source: `request ${req.method} ${req.url}`, detail: error.message, error });
        sendStatus(res, 500, 'internal error');
      });
    });
    server.timeout = IDLE_TIMEOUT_MS;
    server.on('clientError', (e: NodeJS.ErrnoException, socket) => {
      // Node's own answers, kept: 431 for oversize headers, 408 for headers that never finish, 400 otherwise.
      const status = e.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : e.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      if (socket.writable && !(socket as { _httpMessage?: unknown })._httpMessage) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    });
    const host = o.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    const url = (o.publicUrl ?? `http://${shown}:${port}`).replace(/\/+$/, '');
    self = new IsosyncServer(server, url, o);
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    const pathname = (req.url ?? '/').split(/[?#]/, 1)[0]!;
    if (pathname === '/announce' || pathname === '/scrape') {
      if (this.o.tracker?.handle(req, res)) return;
      return sendStatus(res, 404, 'no tracker here');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendStatus(res, 405, 'method not allowed', { Allow: ALLOWED_METHODS });
    if (pathname === '/status' || pathname === '/status.json') return this.sendStatusPage(req, res, pathname === '/status.json' || /application\/json/.test(String(req.headers.accept ?? '')));
    this.http.requests++;
    const feed = feedProductOf(pathname);
    if (feed !== undefined && (await sendFeed(this.o.root, feed, req, res, this.http))) return;
    const opts = { listing: this.o.listing ?? false, dotfiles: this.o.dotfiles ?? false, hasTorrent: (st: Stats, name: string) => this.torrents.eligible(st, name) };
    const r = await resolveRequest(this.o.root, req.url ?? '/', opts);
    if (pathname.endsWith(TORRENT_SUFFIX) && r.kind !== 'dir') {
      // FILE.torrent of a big enough FILE: this server's torrent (the release's info when published, with this server as tracker
      // and web seed), also when a published FILE.torrent lies beside it.
      const base = await resolveRequest(this.o.root, pathname.slice(0, -TORRENT_SUFFIX.length), opts);
      if (base.kind === 'file' && this.torrents.eligible(base.stats, base.path)) return this.sendTorrent(req, res, await this.torrents.torrentFor(base.path, base.stats, base.urlPath));
    }
    // A .torrent file is served as it is (eligible() refuses it): a torrent of a torrent helps nobody.
    if (r.kind === 'file' && this.torrents.eligible(r.stats, r.path)) {
      const vary = { Vary: 'Accept, X-Isosync' };
      if (wantsTorrent(req)) return this.sendTorrent(req, res, await this.torrents.torrentFor(r.path, r.stats, r.urlPath), vary);
      // Make the torrent in the background, so it (and its seed) is ready when a torrent client comes.
      this.torrents.torrentFor(r.path, r.stats, r.urlPath).catch((e: unknown) => this.torrentFailed(r.path, e));
      return sendFile(r.path, r.stats, req, res, this.http, vary);
    }
    this.http.requests--; // serveFile counts it again
    return serveFile(this.o.root, req, res, this.http, opts);
  }

  private torrentFailed(path: string, e: unknown): void {
    const error = asIsosyncError(e);
    this.o.onWarning?.({ code: 'TORRENT_FAILED', source: path, detail: `cannot make a torrent of it: ${error.message}`, error });
  }

  /** Says once per link why a symlink under the root is answered 404 (out of the root, broken, to a dotfile). */
  private notServed(path: string, why: string): void {
    if (this.warnedNotServed.has(path)) return;
    this.warnedNotServed.add(path);
    const what = why === 'no such file' ? 'a broken symlink' : `a symlink ${why === 'outside the served directory' ? 'out of the served folder' : `to what is not served (${why})`}`;
    this.o.onWarning?.({ code: 'NOT_SERVED', source: path, detail: `${what}: requests for it get 404 (copy or hard-link the file into the folder)` });
  }
  private readonly warnedNotServed = new Set<string>();

  /**
   * Makes (or loads) the torrent of every eligible file under the root, one
   * at a time, so each is seeded before anyone asks; returns how many.
   */
  async warm(): Promise<number> {
    let n = 0;
    const walk = async (dir: string, urlPath: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const d of entries) {
        if (this.closing) return;
        if (!this.o.dotfiles && d.name.startsWith('.')) continue;
        const r = await resolveRequest(this.o.root, `${urlPath}${encodeURIComponent(d.name)}`, { dotfiles: this.o.dotfiles ?? false });
        if (r.kind === 'bad' && d.isSymbolicLink()) this.notServed(join(dir, d.name), r.why);
        if (r.kind === 'dir' && d.isDirectory()) await walk(r.path, r.urlPath);
        else if (r.kind === 'file' && this.torrents.eligible(r.stats, r.path)) {
          await this.torrents.torrentFor(r.path, r.stats, r.urlPath).then(
            () => n++,
            (e: unknown) => this.torrentFailed(r.path, e),
          );
        }
      }
    };
    await walk(this.o.root, '/');
    return n;
  }

  private sendTorrent(req: IncomingMessage, res: ServerResponse, t: ServedTorrent, extra: Record<string, string> = {}): void {
    this.torrentsSent++;
    const etag = `"t-${t.metainfo.infoHash}-${Math.round(t.mtimeMs * 1000).toString(16)}"`;
    const headers = {
      ...extra,
      'Content-Type': TORRENT_TYPE,
      'Content-Length': t.bytes.length,
      'Content-Disposition': `attachment; filename="${t.metainfo.name.replace(/[^\x20-\x7e]|["\\]/g, '_')}.torrent"; filename*=UTF-8''${encodeURIComponent(t.metainfo.name)}.torrent`,
      ETag: etag,
    };
    if (req.headers['if-none-match']?.split(',').some((x) => x.trim() === etag)) {
      res.writeHead(304, { ...extra, ETag: etag }).end();
      return;
    }
    res.writeHead(200, headers);
    if (req.method !== 'HEAD') this.http.bytesSent += t.bytes.length;
    res.end(req.method === 'HEAD' ? undefined : t.bytes);
  }

  /** The infohash each served file is seeded under: a file whose torrent changed (published meanwhile) stops its old seed. */
  private readonly seededAs = new Map<string, string>();

  private startSeed(t: ServedTorrent): void {
    if (!this.o.seed || this.closing) return;
    const before = this.seededAs.get(t.path);
    this.seededAs.set(t.path, t.metainfo.infoHash);
    const old = before !== undefined && before !== t.metainfo.infoHash ? this.seeds.get(before) : undefined;
    if (old) {
      this.seeds.delete(before!);
      void Promise.resolve(old).then((s) => s?.close().catch(() => undefined));
    }
    if (this.seeds.has(t.metainfo.infoHash)) return;
    const p = this.o.seed(t).then(
      (s) => {
        this.seeds.set(t.metainfo.infoHash, s);
        if (this.closing) void s.close();
        return s;
      },
      (e: unknown) => {
        this.seeds.delete(t.metainfo.infoHash);
        const error = asIsosyncError(e);
        this.o.onWarning?.({ code: 'SEED_FAILED', source: t.path, detail: `cannot seed it: ${error.message}`, error });
        return undefined;
      },
    );
    this.seeds.set(t.metainfo.infoHash, p);
  }

  private liveSeeds(): SeedLike[] {
    return [...this.seeds.values()].filter((s): s is SeedLike => !(s instanceof Promise));
  }

  /** Per image: bytes sent each way, completed downloads, peers now. */
  private async images(): Promise<ImageStatus[]> {
    const torrents = await this.torrents.all();
    const seeds = this.liveSeeds();
    const swarms = this.o.tracker?.swarms() ?? [];
    return torrents.map((t) => {
      const m = t.metainfo;
      const file = this.http.perFile?.get(t.path);
      const seed = seeds.find((s) => s.infoHash === m.infoHash);
      const swarm = swarms.find((w) => w.infoHash === m.infoHash);
      return {
        name: m.name,
        url: t.fileUrl,
        torrentUrl: `${t.fileUrl}${TORRENT_SUFFIX}`,
        infoHash: m.infoHash,
        length: m.length,
        product: m.isosync?.product ?? null,
        release: m.isosync?.release ?? null,
        httpBytes: file?.bytes ?? 0,
        bittorrentBytes: seed?.uploaded ?? 0,
        completed: (swarm?.completed ?? 0) + (file?.whole ?? 0),
        peers: seed?.peers ?? 0,
        seeders: swarm?.seeders ?? 0,
        leechers: swarm?.leechers ?? 0,
      };
    });
  }

  /** The running totals behind the chart: sent over HTTP (image files), over BitTorrent, and what plain HTTP would have sent. */
  private async totals(images?: ImageStatus[]): Promise<Sample> {
    const list = images ?? (await this.images());
    let http = 0;
    let bittorrent = 0;
    let baseline = 0;
    for (const i of list) {
      http += i.httpBytes;
      bittorrent += i.bittorrentBytes;
      baseline += i.completed * i.length;
    }
    return { t: Date.now(), http, bittorrent, baseline };
  }

  async status(): Promise<ServeStatus> {
    const torrents = await this.torrents.all();
    const seeds = this.liveSeeds();
    const swarms = this.o.tracker?.swarms() ?? [];
    const images = await this.images();
    const now = await this.totals(images);
    const rates = this.history.rates(now);
    const sent = now.http + now.bittorrent;
    const saved = savedBytes(now);
    return {
      url: this.url,
      root: this.o.root,
      startedAt: new Date(this.started).toISOString(),
      uptimeSeconds: Math.round((now.t - this.started) / 1000),
      requests: this.requests,
      http: { bytesSent: this.http.bytesSent, fileRequests: this.http.requests, torrentsSent: this.torrentsSent, rate: Math.round(rates.http) },
      bittorrent: {
        bytesSent: seeds.reduce((n, s) => n + s.uploaded, 0),
        rate: Math.round(rates.bittorrent),
        seeds: seeds.map((s) => ({ infoHash: s.infoHash, name: torrents.find((t) => t.metainfo.infoHash === s.infoHash)?.metainfo.name ?? '', uploaded: s.uploaded, peers: s.peers, ...(s.peerId ? { peerId: s.peerId } : {}) })),
      },
      saved: { bytes: saved, plainHttpBytes: Math.max(now.baseline, sent), sentBytes: sent, percent: now.baseline > 0 ? (100 * saved) / now.baseline : 0 },
      peers: seeds.reduce((n, s) => n + s.peers, 0),
      images,
      torrents: torrents.map((t) => ({ path: t.path, url: t.fileUrl, infoHash: t.metainfo.infoHash, name: t.metainfo.name, length: t.metainfo.length, product: t.metainfo.isosync?.product ?? null, release: t.metainfo.isosync?.release ?? null })),
      tracker: this.o.tracker !== undefined,
      swarms,
      history: [...this.history.samples(), now],
      feeds: await listFeeds(this.o.root, this.url),
    };
  }

  private async sendStatusPage(req: IncomingMessage, res: ServerResponse, json: boolean): Promise<void> {
    const s = await this.status();
    const body = json ? `${JSON.stringify(s, null, 2)}\n` : statusHtml(s);
    res.writeHead(200, { 'Content-Type': json ? 'application/json' : 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', Vary: 'Accept' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** Closes the seeds, stops listening, ends every connection, closes the tracker. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.sampler);
    // Seeds first: their "stopped" announce goes to this server's own tracker.
    const seeds = await Promise.all([...this.seeds.values()]);
    await Promise.all(seeds.map((s) => s?.close().catch(() => undefined)));
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    await closed;
    await this.o.tracker?.close().catch(() => undefined);
  }
}

