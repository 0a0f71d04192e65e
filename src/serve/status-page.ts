/**
 * The /status page of `isosync serve`, and its JSON twin's shape: what a
 * mirror admin wants at a glance — how much the swarm saved the server
 * compared with every client downloading by plain HTTP (a chart over time),
 * what is sent now over HTTP and BitTorrent, the peers connected now, and
 * per image the bytes sent each way. One self-contained page: inline CSS
 * and SVG, no script, no external asset; it reloads itself every
 * REFRESH_SECONDS and reads well on a phone. Pure: data in, HTML out.
 */
import { formatBytes, formatDuration, formatRate } from '../human/units.js';
import type { ServedFeed } from './feeds.js';
import { escapeHtml } from './listing.js';
import type { Sample } from './status-history.js';

/** The page reloads itself this often. */
export const REFRESH_SECONDS = 5;

export interface ImageStatus {
  name: string;
  /** The file's URL and its torrent's. */
  url: string;
  torrentUrl: string;
  infoHash: string;
  length: number;
  product: string | null;
  release: string | null;
  /** File bytes sent over HTTP, and by this server's seed over BitTorrent. */
  httpBytes: number;
  bittorrentBytes: number;
  /** Downloads completed (tracker "completed" announces plus whole-file HTTP GETs). */
  completed: number;
  /** Peers the seed is connected to now, and the tracker's current swarm. */
  peers: number;
  seeders: number;
  leechers: number;
}

export interface ServeStatus {
  url: string;
  root: string;
  startedAt: string;
  uptimeSeconds: number;
  requests: number;
  http: { bytesSent: number; fileRequests: number; torrentsSent: number; rate: number };
  bittorrent: { bytesSent: number; rate: number; seeds: { infoHash: string; name: string; uploaded: number; peers: number; peerId?: string }[] };
  /** Compared with every completed download fetched whole over plain HTTP. */
  saved: { bytes: number; plainHttpBytes: number; sentBytes: number; percent: number };
  /** Peers connected to the server's seeds now. */
  peers: number;
  images: ImageStatus[];
  torrents: { path: string; url: string; infoHash: string; name: string; length: number; product: string | null; release: string | null }[];
  tracker: boolean;
  swarms: { infoHash: string; seeders: number; leechers: number; completed: number }[];
  /** Oldest first: cumulative totals over time (the chart). */
  history: Sample[];
  /** The signed release feeds under DIR/feeds (feeds.ts). */
  feeds: ServedFeed[];
}

const e = escapeHtml;

const CSS = `
:root{color-scheme:light dark;--bg:#f7f7f5;--fg:#1d1d1b;--muted:#6b6b66;--card:#fff;--line:#deded8;--sent:#c2410c;--plain:#2563eb;--saved:#16a34a}
@media (prefers-color-scheme:dark){:root{--bg:#161614;--fg:#ecece6;--muted:#a3a39b;--card:#22221f;--line:#3a3a35}}
*{box-sizing:border-box}body{margin:0;padding:16px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
main{max-width:960px;margin:0 auto}h1{font-size:1.35em;margin:0 0 4px}h2{font-size:1.05em;margin:24px 0 8px}
.sub{color:var(--muted);margin:0 0 16px;word-break:break-all}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px}
.card .k{color:var(--muted);font-size:.85em}.card .v{font-size:1.45em;font-weight:600;margin-top:2px}.card .n{color:var(--muted);font-size:.85em}
.saved .v{color:var(--saved)}
.chart{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:8px}
.chart svg{width:100%;height:auto;display:block}.chart text{fill:var(--muted);font-size:11px}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:.85em;color:var(--muted);padding:4px 6px 0}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.scroll{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:10px}
table{border-collapse:collapse;width:100%;font-size:.92em}th,td{padding:7px 10px;text-align:left;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--muted);font-weight:500}td.num,th.num{text-align:right}tr:last-child td{border-bottom:0}
a{color:var(--plain)}footer{color:var(--muted);font-size:.8em;margin-top:18px}
`;

function card(key: string, value: string, note: string, cls = ''): string {
  return `<div class="card ${cls}"><div class="k">${e(key)}</div><div class="v">${e(value)}</div><div class="n">${e(note)}</div></div>`;
}

/** y-axis steps: 1, 2 or 5 times a power of 1024-ish, so labels read as round sizes. */
function niceMax(v: number): number {
  if (v <= 0) return 1024;
  const p = 1024 ** Math.floor(Math.log(v) / Math.log(1024));
  for (const m of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]) if (p * m >= v) return p * m;
  return p * 1024;
}

function clock(t: number): string {
  return new Date(t).toISOString().slice(11, 16);
}

/**
 * The savings chart: over time, what plain HTTP would have sent (blue) and
 * what the server sent (orange); the green band between them is what the
 * swarm saved. Inline SVG, scaled to the page's width.
 */
export function savingsChart(history: readonly Sample[]): string {
  const W = 640;
  const H = 220;
  const L = 64;
  const R = 10;
  const T = 10;
  const B = 26;
  const pts = history.length === 1 ? [history[0]!, { ...history[0]!, t: history[0]!.t + 1000 }] : [...history];
  if (pts.length === 0) return '<p class="sub">No samples yet.</p>';
  const t0 = pts[0]!.t;
  const t1 = Math.max(pts[pts.length - 1]!.t, t0 + 1000);
  let top = 0;
  for (const p of pts) top = Math.max(top, p.baseline, p.http + p.bittorrent);
  const yMax = niceMax(top);
  const x = (t: number) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v: number) => T + (1 - v / yMax) * (H - T - B);
  const line = (f: (p: Sample) => number) => pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(f(p)).toFixed(1)}`).join(' ');
  const sent = (p: Sample) => p.http + p.bittorrent;
  const plain = (p: Sample) => Math.max(p.baseline, sent(p));
  const band = `${line(plain)} ${[...pts].reverse().map((p) => `L${x(p.t).toFixed(1)},${y(sent(p)).toFixed(1)}`).join(' ')} Z`;
  const grid: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    grid.push(`<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="currentColor" stroke-opacity=".12"/>`);
    grid.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${e(formatBytes(v))}</text>`);
  }
  for (const [t, anchor] of [[t0, 'start'], [(t0 + t1) / 2, 'middle'], [t1, 'end']] as const) grid.push(`<text x="${x(t).toFixed(1)}" y="${H - 8}" text-anchor="${anchor}">${clock(t)}</text>`);
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="bytes saved compared with plain HTTP over time">
${grid.join('\n')}
<path class="saved-band" d="${band}" fill="var(--saved)" fill-opacity=".22"/>
<path class="plain-line" d="${line(plain)}" fill="none" stroke="var(--plain)" stroke-width="2"/>
<path class="sent-line" d="${line(sent)}" fill="none" stroke="var(--sent)" stroke-width="2"/>
</svg>`;
}

export function statusHtml(s: ServeStatus): string {
  const rows = s.images
    .map(
      (i) => `<tr><td><a href="${e(i.url)}">${e(i.name)}</a> · <a href="${e(i.torrentUrl)}">.torrent</a></td><td>${e(i.product ? `${i.product} ${i.release ?? ''}` : '')}</td><td class="num">${e(formatBytes(i.length))}</td><td class="num">${e(formatBytes(i.httpBytes))}</td><td class="num">${e(formatBytes(i.bittorrentBytes))}</td><td class="num">${i.completed}</td><td class="num">${i.peers}</td><td class="num">${i.seeders} / ${i.leechers}</td></tr>`,
    )
    .join('\n');
  const others = s.swarms.filter((w) => !s.images.some((i) => i.infoHash === w.infoHash));
  const feedRows = s.feeds
    .map(
      (f) =>
        `<tr><td><a href="${e(f.url)}">${e(f.product)}</a></td><td class="num">${f.sequence}</td><td>${e(f.newest?.release ?? '')}</td><td class="num">${f.releases}</td><td><code>${e(f.key)}</code></td><td>${f.signed ? 'yes' : '<strong>NO</strong>'}</td><td>${e(f.expires !== null ? new Date(f.expires * 1000).toISOString().replace('T', ' ').slice(0, 19) : 'never')}</td></tr>`,
    )
    .join('\n');
  const swarmRows = others.map((w) => `<tr><td><code>${e(w.infoHash)}</code></td><td class="num">${w.seeders}</td><td class="num">${w.leechers}</td><td class="num">${w.completed}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}"><title>isosync serve · ${e(formatBytes(s.saved.bytes))} saved</title>
<style>${CSS}</style></head><body><main>
<h1>isosync serve</h1>
<p class="sub">${e(s.url)}/ serving ${e(s.root)} · up ${e(formatDuration(s.uptimeSeconds))} · ${s.requests} requests · <a href="status.json">JSON</a></p>
<div class="cards">
${card('Saved compared with plain HTTP', formatBytes(s.saved.bytes), `${s.saved.percent.toFixed(0)}% of ${formatBytes(s.saved.plainHttpBytes)}`, 'saved')}
${card('Sent over HTTP', formatBytes(s.http.bytesSent), `now ${formatRate(s.http.rate)} · ${s.http.fileRequests} requests`)}
${card('Sent over BitTorrent', formatBytes(s.bittorrent.bytesSent), `now ${formatRate(s.bittorrent.rate)}`)}
${card('Peers now', String(s.peers), `${s.bittorrent.seeds.length} image${s.bittorrent.seeds.length === 1 ? '' : 's'} seeded`)}
</div>
<h2>Saved over time</h2>
<div class="chart">${savingsChart(s.history)}
<div class="legend"><span><i style="background:var(--plain)"></i>plain HTTP would have sent</span><span><i style="background:var(--sent)"></i>this server sent</span><span><i style="background:var(--saved);opacity:.5"></i>saved by the swarm</span></div></div>
<h2>Images</h2>
<div class="scroll"><table><tr><th>image</th><th>release</th><th class="num">size</th><th class="num">HTTP sent</th><th class="num">BitTorrent sent</th><th class="num">completed</th><th class="num">peers now</th><th class="num">seeders / leechers</th></tr>
${rows || '<tr><td colspan="8">No image has a torrent yet.</td></tr>'}
</table></div>
${s.feeds.length > 0 ? `<h2>Release feeds</h2>\n<div class="scroll"><table><tr><th>feed</th><th class="num">sequence</th><th>newest</th><th class="num">releases</th><th>key</th><th>signed</th><th>expires (UTC)</th></tr>\n${feedRows}\n</table></div>` : ''}
${others.length > 0 ? `<h2>Other swarms on this tracker</h2>\n<div class="scroll"><table><tr><th>infohash</th><th class="num">seeders</th><th class="num">leechers</th><th class="num">completed</th></tr>\n${swarmRows}\n</table></div>` : ''}
<footer>Saved = what every completed download would have cost fetched whole over plain HTTP, minus what this server sent. Refreshes every ${REFRESH_SECONDS} s · started ${e(s.startedAt.replace('T', ' ').slice(0, 19))} UTC</footer>
</main></body></html>
`;
}
