/**
 * The HTTP server of `isosync serve DIR`: one port for
 *   - plain file serving of DIR (static-files.ts), what curl and browsers get;
 *   - a torrent for every file of at least minSize bytes (served-torrents.ts):
 *     `GET /x.iso.torrent`, or `GET /x.iso` with `Accept: application/x-bittorrent`
 *     or an `X-Isosync` header (replies to the file's URL carry
 *     `Vary: Accept, X-Isosync`, so caches keep both);
 *   - a tracker at /announce and /scrape when one is mounted (TrackerLike);
 *   - /status (HTML, or JSON for `Accept: application/json`) and /status.json.
 *
 * Slow clients: every connection is its own stream with backpressure; headers
 * must arrive within HEADERS_TIMEOUT_MS and an idle socket is closed after
 * IDLE_TIMEOUT_MS, so a client that trickles or stalls holds only itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Catalog } from '../library/catalog.js';
import { asIsosyncError } from '../errors.js';
import type { WarningSink } from '../core/warnings.js';
import { escapeHtml } from './listing.js';
import { ALLOWED_METHODS, resolveRequest, sendFile, sendStatus, serveFile, type StaticStats } from './static-files.js';
import { TORRENT_TYPE } from './content-type.js';
import { DEFAULT_MIN_TORRENT_BYTES, TorrentCache, type ServedTorrent } from './served-torrents.js';

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
}

export interface ServeStatus {
  url: string;
  root: string;
  uptimeSeconds: number;
  requests: number;
  http: { bytesSent: number; fileRequests: number; torrentsSent: number };
  bittorrent: { bytesSent: number; seeds: { infoHash: string; name: string; uploaded: number; peers: number; peerId?: string }[] };
  torrents: { path: string; url: string; infoHash: string; name: string; length: number; product: string | null; release: string | null }[];
  tracker: boolean;
  swarms: { infoHash: string; seeders: number; leechers: number; completed: number }[];
  peers: number;
}

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
  readonly http: StaticStats = { bytesSent: 0, requests: 0 };
  requests = 0;
  torrentsSent = 0;
  readonly torrents: TorrentCache;
  private readonly seeds = new Map<string, SeedLike | Promise<SeedLike | undefined>>();
  private readonly started = Date.now();
  private closing = false;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly o: ServeOptions,
  ) {
    this.torrents = new TorrentCache(o.catalog, { publicUrl: url, minSize: o.minSize ?? DEFAULT_MIN_TORRENT_BYTES, onTorrent: (t) => this.startSeed(t) });
  }

  /** Listens and returns the running server. */
  static async start(o: ServeOptions): Promise<IsosyncServer> {
    let self: IsosyncServer | undefined;
    const server = createServer({ connectionsCheckingInterval: TIMEOUT_CHECK_MS, headersTimeout: o.headersTimeoutMs ?? HEADERS_TIMEOUT_MS, requestTimeout: 2 * (o.headersTimeoutMs ?? HEADERS_TIMEOUT_MS) }, (req, res) => {
      self!.route(req, res).catch((e: unknown) => {
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
    const opts = { listing: this.o.listing ?? false, dotfiles: this.o.dotfiles ?? false };
    const r = await resolveRequest(this.o.root, req.url ?? '/', opts);
    if (r.kind === 'bad' && r.status === 404 && pathname.endsWith('.torrent')) {
      // A virtual FILE.torrent next to a big enough FILE.
      const base = await resolveRequest(this.o.root, pathname.slice(0, -'.torrent'.length), opts);
      if (base.kind === 'file' && this.torrents.eligible(base.stats)) return this.sendTorrent(req, res, await this.torrents.torrentFor(base.path, base.stats, base.urlPath));
    }
    if (r.kind === 'file' && this.torrents.eligible(r.stats)) {
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
        if (r.kind === 'dir' && d.isDirectory()) await walk(r.path, r.urlPath);
        else if (r.kind === 'file' && this.torrents.eligible(r.stats)) {
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

  private startSeed(t: ServedTorrent): void {
    if (!this.o.seed || this.closing || this.seeds.has(t.metainfo.infoHash)) return;
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

  async status(): Promise<ServeStatus> {
    const torrents = await this.torrents.all();
    const seeds = [...this.seeds.values()].filter((s): s is SeedLike => !(s instanceof Promise));
    const swarms = this.o.tracker?.swarms() ?? [];
    return {
      url: this.url,
      root: this.o.root,
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      requests: this.requests,
      http: { bytesSent: this.http.bytesSent, fileRequests: this.http.requests, torrentsSent: this.torrentsSent },
      bittorrent: {
        bytesSent: seeds.reduce((n, s) => n + s.uploaded, 0),
        seeds: seeds.map((s) => ({ infoHash: s.infoHash, name: torrents.find((t) => t.metainfo.infoHash === s.infoHash)?.metainfo.name ?? '', uploaded: s.uploaded, peers: s.peers, ...(s.peerId ? { peerId: s.peerId } : {}) })),
      },
      torrents: torrents.map((t) => ({ path: t.path, url: t.fileUrl, infoHash: t.metainfo.infoHash, name: t.metainfo.name, length: t.metainfo.length, product: t.metainfo.isosync?.product ?? null, release: t.metainfo.isosync?.release ?? null })),
      tracker: this.o.tracker !== undefined,
      swarms,
      peers: swarms.reduce((n, s) => n + s.seeders + s.leechers, 0),
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
    // Seeds first: their "stopped" announce goes to this server's own tracker.
    const seeds = await Promise.all([...this.seeds.values()]);
    await Promise.all(seeds.map((s) => s?.close().catch(() => undefined)));
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    await closed;
    await this.o.tracker?.close().catch(() => undefined);
  }
}

function statusHtml(s: ServeStatus): string {
  const e = escapeHtml;
  const rows = (items: string[][]) => items.map((r) => `<tr>${r.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`).join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>isosync serve</title></head><body>
<h1>isosync serve</h1>
<p>${e(s.url)} serving ${e(s.root)}; up ${s.uptimeSeconds} s; ${s.requests} requests.</p>
<p>Sent over HTTP: ${s.http.bytesSent} bytes (${s.http.fileRequests} file requests, ${s.http.torrentsSent} torrents). Sent over BitTorrent: ${s.bittorrent.bytesSent} bytes.</p>
<h2>Torrents</h2>
<table><tr><th>file</th><th>infohash</th><th>bytes</th><th>release</th></tr>
${rows(s.torrents.map((t) => [t.url, t.infoHash, String(t.length), t.product ? `${t.product} ${t.release}` : '']))}
</table>
<h2>Seeds</h2>
<table><tr><th>name</th><th>infohash</th><th>uploaded</th><th>peers</th></tr>
${rows(s.bittorrent.seeds.map((x) => [x.name, x.infoHash, String(x.uploaded), String(x.peers)]))}
</table>
<h2>Swarms${s.tracker ? '' : ' (no tracker mounted)'}</h2>
<table><tr><th>infohash</th><th>seeders</th><th>leechers</th><th>completed</th></tr>
${rows(s.swarms.map((x) => [x.infoHash, String(x.seeders), String(x.leechers), String(x.completed)]))}
</table>
</body></html>
`;
}
