/**
 * `isosync serve` with the clients people run, and static mirrors on a web
 * server that runs nothing else. Each suite skips (visibly) when its tool is
 * missing. Everything listens on 127.0.0.1; every process started is stopped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Nginx } from '../../bench/delta/nginx.js';
import { mirrorUrls } from '../../src/cli/commands/sync.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { BIN, cliAsync, isosyncEnv, needTools, tempDir } from '../helpers/env.js';
import { HAVE_RELEASES, RELEASES, sha256 } from '../sync/fixture-pair.js';

const NO_FIXTURES = HAVE_RELEASES ? false : 'fixture releases missing';

/** Starts `isosync serve DIR` in a child and resolves with its URL. */
async function startServe(dir: string, home: string, extra: string[] = []): Promise<{ url: string; child: ChildProcess; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'serve', dir, '--port', '0', '--min-size', '1000000', '--home', home, ...extra], { env: isosyncEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /at (http:\/\/\S+?)\/?\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (c) => reject(new Error(`isosync serve exited with ${c}: ${err}`)));
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return {
    url,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function status(url: string): Promise<{ http: { bytesSent: number }; bittorrent: { bytesSent: number }; torrents: unknown[]; swarms: { infoHash: string; seeders: number }[] }> {
  const r = await fetch(`${url}/status.json`);
  return (await r.json()) as never;
}

/** Waits until the server has made and seeded its torrents (it prepares them at start). */
async function ready(url: string, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const s = await status(url);
    if (s.torrents.length >= n && s.swarms.filter((w) => w.seeders > 0).length >= n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the server did not seed its torrents in 10 s');
}

function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 }, (e, stdout, stderr) => {
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

/** Copies the fixture releases 1.00 and 1.01 into SRV and publishes both (torrents in OUT; 1.01 with --previous 1.00 when `chained`). */
async function publishPair(srv: string, home: string, out: string, chained: boolean): Promise<void> {
  mkdirSync(srv);
  for (const f of ['distro-1.00.iso', 'distro-1.01.iso']) copyFileSync(join(RELEASES, f), join(srv, f));
  for (const [rel, prev] of [['1.00', undefined], ['1.01', chained ? join(srv, 'distro-1.00.iso') : undefined]] as const) {
    const r = await cliAsync(['publish', join(srv, `distro-${rel}.iso`), '--product', 'distro', '--release', rel, '--home', home, '-o', join(out, `distro-${rel}.torrent`), ...(prev ? ['--previous', prev] : [])]);
    assert.equal(r.status, 0, r.stderr);
  }
}

describe('isosync serve with BitTorrent clients and an isosync client', { skip: NO_FIXTURES }, () => {
  const t = tempDir('isosync-serve-interop-');
  const srv = join(t.dir, 'srv');
  const home = join(t.dir, 'pub-home');
  let s: Awaited<ReturnType<typeof startServe>>;
  before(async () => {
    await publishPair(srv, home, t.dir, true);
    s = await startServe(srv, home);
    await ready(s.url, 2);
  });
  after(async () => {
    assert.equal(await s?.stop(), 0, 'serve stops cleanly on SIGTERM');
    t.cleanup();
  });

  test('aria2c given only the torrent URL downloads the image bit-identical', { skip: needTools('aria2c') }, async () => {
    const dir = join(t.dir, 'aria2');
    mkdirSync(dir);
    const r = await run('aria2c', ['--seed-time=0', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--summary-interval=0', '--console-log-level=warn', '--dir', dir, `${s.url}/distro-1.01.iso.torrent`]);
    assert.equal(r.code, 0, r.out);
    assert.equal(sha256(join(dir, 'distro-1.01.iso')), sha256(join(srv, 'distro-1.01.iso')));
  });

  test('python3-libtorrent given only the torrent URL downloads the image bit-identical (uTP, DHT, LSD off)', { skip: needTools('libtorrent') }, async () => {
    const dir = join(t.dir, 'lt');
    mkdirSync(dir);
    const script = `
import libtorrent as lt, sys, time, urllib.request
data = urllib.request.urlopen(sys.argv[1]).read()
ses = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
  'enable_incoming_utp': False, 'enable_outgoing_utp': False, 'allow_multiple_connections_per_ip': True})
p = lt.add_torrent_params()
p.ti = lt.torrent_info(lt.bdecode(data))
p.save_path = sys.argv[2]
h = ses.add_torrent(p)
end = time.time() + 60
while time.time() < end:
  st = h.status()
  if st.is_seeding: print('done', st.total_payload_download); sys.exit(0)
  time.sleep(0.1)
print('timeout', h.status().progress); sys.exit(1)
`;
    writeFileSync(join(dir, 'lt.py'), script);
    const r = await run('/usr/bin/python3', [join(dir, 'lt.py'), `${s.url}/distro-1.01.iso.torrent`, dir]);
    assert.equal(r.code, 0, r.out);
    assert.equal(sha256(join(dir, 'distro-1.01.iso')), sha256(join(srv, 'distro-1.01.iso')));
  });

  test('an isosync client with 1.00 syncs 1.01 by the image URL: verified, and the server sends far less than the image', async () => {
    const dir = join(t.dir, 'client');
    mkdirSync(dir);
    copyFileSync(join(RELEASES, 'distro-1.00.iso'), join(dir, 'distro-1.00.iso'));
    const before = await status(s.url);
    const r = await cliAsync(['sync', `${s.url}/distro-1.01.iso`, '--from', join(dir, 'distro-1.00.iso'), '-o', join(dir, 'distro-1.01.iso'), '--home', join(dir, 'home'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(join(dir, 'distro-1.01.iso')), sha256(join(srv, 'distro-1.01.iso')));
    const report = JSON.parse(r.stdout);
    assert.ok(report.reusedBytes > report.targetBytes / 2, `reused ${report.reusedBytes} of ${report.targetBytes}`);
    const after = await status(s.url);
    const sent = after.http.bytesSent - before.http.bytesSent + (after.bittorrent.bytesSent - before.bittorrent.bytesSent);
    const size = readFileSync(join(srv, 'distro-1.01.iso')).length;
    assert.ok(sent < size / 2, `server sent ${sent} bytes (HTTP + BitTorrent) for a ${size}-byte image`);
  });

  test('a torrent URL works as a sync target too', async () => {
    const dir = join(t.dir, 'client2');
    mkdirSync(dir);
    const r = await cliAsync(['sync', `${s.url}/distro-1.00.iso.torrent`, '-o', join(dir, 'distro-1.00.iso'), '--no-catalog', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(join(dir, 'distro-1.00.iso')), sha256(join(srv, 'distro-1.00.iso')));
  });
});

describe('publish --out-dir makes a static mirror that nginx serves as a web seed', { skip: NO_FIXTURES || needTools('nginx') }, () => {
  test('sync --mirror fetches the delta from the nginx copy of the out-dir, and an image URL on nginx finds its torrent beside it', async () => {
    const t = tempDir('isosync-outdir-');
    let nginx: Nginx | undefined;
    try {
      const out = join(t.dir, 'mirror');
      const src = join(t.dir, 'src');
      mkdirSync(src);
      for (const f of ['distro-1.00.iso', 'distro-1.01.iso']) copyFileSync(join(RELEASES, f), join(src, f));
      const home = join(t.dir, 'home');
      for (const [rel, prev] of [['1.00', undefined], ['1.01', join(src, 'distro-1.00.iso')]] as const) {
        const r = await cliAsync(['publish', join(src, `distro-${rel}.iso`), '--product', 'distro', '--release', rel, '--home', home, '--out-dir', out, '--json', ...(prev ? ['--previous', prev] : [])]);
        assert.equal(r.status, 0, r.stderr);
        const j = JSON.parse(r.stdout);
        assert.equal(j.outDir.torrent, join(out, `distro-${rel}.iso.torrent`));
      }
      const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8');
      assert.match(sums, new RegExp(`^${sha256(join(src, 'distro-1.00.iso'))}  distro-1.00.iso$`, 'm'));
      assert.match(sums, new RegExp(`^${sha256(join(src, 'distro-1.01.iso'))}  distro-1.01.iso$`, 'm'));
      nginx = await Nginx.start(join(t.dir, 'nginx'), out);
      const client = join(t.dir, 'client');
      mkdirSync(client);
      copyFileSync(join(RELEASES, 'distro-1.00.iso'), join(client, 'distro-1.00.iso'));
      // The torrent has no url-list (no --public-url): the mirror given with --mirror is the only source.
      assert.deepEqual(parseMetainfo(readFileSync(join(out, 'distro-1.01.iso.torrent')), 't').urlList, []);
      await nginx.traffic();
      const r = await cliAsync(['sync', join(out, 'distro-1.01.iso.torrent'), '--from', join(client, 'distro-1.00.iso'), '-o', join(client, 'distro-1.01.iso'), '--no-catalog', '--mirror', `${nginx.baseUrl}/`, '--json']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(sha256(join(client, 'distro-1.01.iso')), sha256(join(src, 'distro-1.01.iso')));
      const traffic = await nginx.traffic();
      const report = JSON.parse(r.stdout);
      assert.ok(traffic.bodyBytes > 0 && traffic.bodyBytes <= report.fetchedBytes * 1.05 + 4096, `nginx sent ${traffic.bodyBytes}, isosync counted ${report.fetchedBytes}`);
      assert.ok(traffic.bodyBytes < readFileSync(join(src, 'distro-1.01.iso')).length / 2, 'a delta, not the image');
      // By URL: nginx has no torrent negotiation, but distro-1.00.iso.torrent sits beside the image.
      const byUrl = await cliAsync(['sync', `${nginx.baseUrl}/distro-1.00.iso`, '-o', join(client, 'again-1.00.iso'), '--from', join(client, 'distro-1.01.iso'), '--no-catalog', '--json']);
      assert.equal(byUrl.status, 0, byUrl.stderr);
      assert.equal(sha256(join(client, 'again-1.00.iso')), sha256(join(src, 'distro-1.00.iso')));
    } finally {
      await nginx?.stop();
      t.cleanup();
    }
  });
});

test('--mirror and --mirrors FILE give mirror URLs: one per line, # comments and blank lines ignored, non-URLs refused', () => {
  const t = tempDir('isosync-mirrors-');
  try {
    writeFileSync(join(t.dir, 'list'), '# our mirrors\nhttp://a.example/pub/   # the fast one\n\n  https://b.example/distro-1.01.iso\n');
    assert.deepEqual(mirrorUrls({ mirror: ['http://c.example/'], mirrors: join(t.dir, 'list') }), ['http://c.example/', 'http://a.example/pub/', 'https://b.example/distro-1.01.iso']);
    writeFileSync(join(t.dir, 'bad'), 'ftp://nope.example/\n');
    assert.throws(() => mirrorUrls({ mirrors: join(t.dir, 'bad') }), /Invalid mirror "ftp:\/\/nope.example\/": an ftp URL must name the image file/);
    writeFileSync(join(t.dir, 'bad'), 'gopher://nope.example/x.iso\n');
    assert.throws(() => mirrorUrls({ mirrors: join(t.dir, 'bad') }), /Invalid mirror "gopher:\/\/nope.example\/x.iso": not an http, https or ftp URL/);
    assert.throws(() => mirrorUrls({ mirrors: join(t.dir, 'absent') }), /Cannot read --mirrors/);
  } finally {
    t.cleanup();
  }
});

describe('a plain web server with no torrent: sync by HTTP ranges alone, reusing local files', { skip: NO_FIXTURES || needTools('nginx') }, () => {
  test('with SHA256SUMS beside the image the result is checked; without it, it is written and reported unverified', async () => {
    const t = tempDir('isosync-plain-');
    let nginx: Nginx | undefined;
    try {
      const web = join(t.dir, 'web');
      mkdirSync(web);
      copyFileSync(join(RELEASES, 'distro-1.01.iso'), join(web, 'distro-1.01.iso'));
      const want = sha256(join(web, 'distro-1.01.iso'));
      const size = readFileSync(join(web, 'distro-1.01.iso')).length;
      writeFileSync(join(web, 'SHA256SUMS'), `${want}  distro-1.01.iso\n`);
      nginx = await Nginx.start(join(t.dir, 'nginx'), web);
      const client = join(t.dir, 'client');
      mkdirSync(client);
      copyFileSync(join(RELEASES, 'distro-1.00.iso'), join(client, 'distro-1.00.iso'));
      await nginx.traffic();
      const r = await cliAsync(['sync', `${nginx.baseUrl}/distro-1.01.iso`, '--from', join(client, 'distro-1.00.iso'), '-o', join(client, 'a.iso'), '--no-catalog', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.equal(j.verified, 'sha256');
      assert.equal(sha256(join(client, 'a.iso')), want);
      assert.ok(j.reusedBytes > size / 2, `reused ${j.reusedBytes}`);
      const traffic = await nginx.traffic();
      assert.ok(traffic.bodyBytes < size / 2, `nginx sent ${traffic.bodyBytes} bytes for a ${size}-byte image`);

      writeFileSync(join(web, 'SHA256SUMS'), `${'0'.repeat(64)}  other.iso\n`);
      const u = await cliAsync(['sync', `${nginx.baseUrl}/distro-1.01.iso`, '--from', join(client, 'distro-1.00.iso'), '-o', join(client, 'b.iso'), '--no-catalog', '--json']);
      assert.equal(u.status, 0, u.stderr);
      const uj = JSON.parse(u.stdout);
      assert.equal(uj.verified, 'none');
      assert.ok(uj.warnings.some((w: { code: string }) => w.code === 'UNVERIFIED'), JSON.stringify(uj.warnings));
      assert.equal(sha256(join(client, 'b.iso')), want, 'still right here, though nothing could prove it');
    } finally {
      await nginx?.stop();
      t.cleanup();
    }
  });
});

/** Headless Debian Chromium on a page: its DOM after rendering (--dump-dom), and a screenshot (PNG) written to `png`. */
async function chromium(url: string, png: string, profile: string): Promise<string> {
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run', `--user-data-dir=${profile}`, '--window-size=420,900'];
  const shot = await run('/usr/bin/chromium', [...flags, `--screenshot=${png}`, url], { timeoutMs: 60_000 });
  assert.ok(readFileSync(png).subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), `a PNG screenshot: ${shot.out}`);
  const dom = await new Promise<string>((resolve) => {
    execFile('/usr/bin/chromium', [...flags, '--dump-dom', url], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (_e, stdout) => resolve(stdout));
  });
  return dom;
}

describe('the /status page and the listing in a real browser (headless Chromium)', { skip: NO_FIXTURES || needTools('/usr/bin/chromium') }, () => {
  const t = tempDir('isosync-serve-chromium-');
  const srv = join(t.dir, 'srv');
  const home = join(t.dir, 'pub-home');
  let s: Awaited<ReturnType<typeof startServe>>;
  before(async () => {
    await publishPair(srv, home, t.dir, false);
    s = await startServe(srv, home, ['--listing']);
    await ready(s.url, 2);
    // Something to show: one upgrade through the server.
    copyFileSync(join(RELEASES, 'distro-1.00.iso'), join(t.dir, 'mine.iso'));
    const r = await cliAsync([`${s.url}/distro-1.01.iso`, '--from', join(t.dir, 'mine.iso'), '--no-catalog', '-o', join(t.dir, 'got.iso'), '--home', join(t.dir, 'user')]);
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await s?.stop();
    t.cleanup();
  });

  test('/status renders its chart and human sizes (screenshot in a temp dir)', async () => {
    const dom = await chromium(`${s.url}/status`, join(t.dir, 'status.png'), join(t.dir, 'profile-status'));
    assert.match(dom, /<svg viewBox="0 0 \d+ \d+" role="img" aria-label="bytes saved compared with plain HTTP over time">/);
    assert.match(dom, /<path class="saved-band" d="M[^"]+Z"/);
    assert.match(dom, /<path class="sent-line" d="M[^"]+"/);
    assert.match(dom, /<div class="v">\d[\d.]* (?:B|KiB|MiB)<\/div>/, 'a human size in a card');
    assert.match(dom, /<td class="num">5\.03 MiB<\/td>/, 'the image size in the table');
    assert.match(dom, /distro-1\.01\.iso<\/a> · <a href="[^"]+\.torrent">\.torrent<\/a>/);
  });

  test('the listing renders human sizes and .torrent links (screenshot in a temp dir)', async () => {
    const dom = await chromium(`${s.url}/`, join(t.dir, 'listing.png'), join(t.dir, 'profile-listing'));
    assert.match(dom, /<a href="distro-1\.00\.iso">distro-1\.00\.iso<\/a> <a class="t" href="distro-1\.00\.iso\.torrent">\.torrent<\/a><\/td><td class="num" title="5220352 bytes">4\.98 MiB<\/td>/);
    assert.match(dom, /<title>Index of \/<\/title>/);
  });
});
