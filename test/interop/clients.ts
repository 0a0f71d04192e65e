/**
 * The BitTorrent clients of the interop matrix, each driven as its users
 * drive it, seeding or leeching one torrent: python3-libtorrent, aria2c,
 * transmission-daemon through transmission-remote, qbittorrent-nox through
 * its Web API, rtorrent through XML-RPC over SCGI, and isosync itself (seed,
 * sync).
 *
 * The counterpart runs in its own network namespace (`Netns`: every command
 * is prefixed with nsenter) on its own address, isosync and the tracker on
 * another, joined by a veth pair: with one shared address, a client that
 * the tracker hands its own address connects to itself and then refuses
 * every peer of that address (Transmission does), and Transmission never
 * connects to 127.0.0.0/8 peers at all.
 *
 * Every counterpart has DHT, LSD, PEX and UPnP/NAT-PMP off; peers come from
 * the tracker in the torrent. Every process is stopped by `stop()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { BIN, ROOT } from '../helpers/env.js';

export interface Running {
  /** Resolves true once the client holds the whole torrent (verified), false at the deadline. */
  complete(deadline: number): Promise<boolean>;
  stop(): Promise<void>;
  /** What the client printed (for failure messages). */
  log(): string;
  /** The port it listens on for peers, where the driver chose it (transmission, rtorrent). */
  readonly peerPort?: number;
}

/** Where the counterpart runs: its address, and the command prefix that enters its namespace. */
export interface Netns {
  readonly host: string;
  readonly prefix: readonly string[];
}

/** A port in a fresh namespace (nothing else listens there): random, high. */
export function portIn(): number {
  return 20000 + Math.floor(Math.random() * 30000);
}

export interface Client {
  readonly name: string;
  version(): string;
  seed(torrent: string, dataDir: string): Promise<Running>;
  leech(torrent: string, dir: string): Promise<Running>;
  /** Leech from a magnet link alone (the info dictionary comes from peers), where the client can. */
  magnet?(uri: string, dir: string): Promise<Running>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePortOn(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, host, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

function proc(cmd: string, args: string[], opts: { cwd?: string; ns?: Netns } = {}): { child: ChildProcess; log: () => string; stop: () => Promise<void> } {
  const prefix = opts.ns?.prefix ?? [];
  const child = spawn(prefix[0] ?? cmd, prefix.length > 0 ? [...prefix.slice(1), cmd, ...args] : args, { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-20_000)));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(-20_000)));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    child,
    log: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function poll(deadline: number, check: () => Promise<boolean> | boolean): Promise<boolean> {
  while (Date.now() < deadline) {
    try {
      if (await check()) return true;
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  return false;
}

const LT = String.raw`
import json, sys, time, libtorrent as lt
torrent, save, host = sys.argv[1], sys.argv[2], sys.argv[3]
s = lt.session({'listen_interfaces': host + ':0', 'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False,
  'enable_natpmp': False, 'enable_outgoing_utp': False, 'enable_incoming_utp': False,
  'allow_multiple_connections_per_ip': True, 'announce_to_all_trackers': True, 'alert_mask': 0})
if torrent.startswith('magnet:'):
    p = lt.parse_magnet_uri(torrent)
    p.save_path = save
    h = s.add_torrent(p)
else:
    h = s.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save})
while True:
    st = h.status()
    print(json.dumps({'seeding': st.is_seeding}), flush=True)
    time.sleep(0.2)
`;

export function libtorrentClient(ns: Netns): Client {
  const start = async (torrent: string, dir: string): Promise<Running> => {
    const p = proc('/usr/bin/python3', ['-c', LT, torrent, dir, ns.host], { ns });
    return { complete: (d) => poll(d, () => /"seeding": true\}\s*$/.test(p.log())), stop: p.stop, log: p.log };
  };
  return {
    name: 'libtorrent',
    version: () => spawnSync('/usr/bin/python3', ['-c', 'import libtorrent as lt; print(lt.__version__)'], { encoding: 'utf8' }).stdout.trim(),
    seed: start,
    leech: start,
    magnet: start,
  };
}

export function aria2Client(ns: Netns): Client {
  const start = async (mode: 'seed' | 'leech', torrent: string, dir: string): Promise<Running> => {
    const port = portIn();
    const args = [
      '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', `--listen-port=${port}`,
      '--no-conf=true', '--console-log-level=warn', '--summary-interval=0', '--file-allocation=none', '--allow-overwrite=true',
      '--bt-save-metadata=false', '--bt-stop-timeout=0', '--seed-ratio=0', '-d', dir,
      ...(mode === 'seed' ? ['-V'] : ['--seed-time=0']), torrent,
    ];
    const p = proc('aria2c', args, { ns });
    // A leecher with --seed-time=0 exits 0 once the download verified; a seeder runs until stopped.
    const done = mode === 'leech' ? new Promise<boolean>((r) => p.child.on('exit', (code) => r(code === 0))) : undefined;
    return {
      complete: async (d) => (done ? await Promise.race([done, sleep(Math.max(0, d - Date.now())).then(() => false)]) : true),
      stop: p.stop,
      log: p.log,
    };
  };
  return {
    name: 'aria2c',
    version: () => spawnSync('aria2c', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]!.trim(),
    seed: (t, d) => start('seed', t, d),
    leech: (t, d) => start('leech', t, d),
  };
}

export function transmissionClient(ns: Netns, work: string): Client {
  const host = ns.host;
  const start = async (torrent: string, dir: string): Promise<Running> => {
    const conf = join(work, `transmission-${Date.now()}`);
    mkdirSync(conf, { recursive: true });
    const rpc = portIn();
    const peer = portIn();
    writeFileSync(
      join(conf, 'settings.json'),
      JSON.stringify({
        'dht-enabled': false, 'lpd-enabled': false, 'pex-enabled': false, 'utp-enabled': false, 'port-forwarding-enabled': false,
        'rpc-bind-address': host, 'rpc-port': rpc, 'rpc-authentication-required': false, 'rpc-whitelist-enabled': false,
        'rpc-host-whitelist-enabled': false, 'peer-port': peer, 'peer-port-random-on-start': false, 'bind-address-ipv4': host,
        'download-dir': dir, 'incomplete-dir-enabled': false, encryption: 1, 'ratio-limit-enabled': false,
        'idle-seeding-limit-enabled': false, 'message-level': 1, 'start-added-torrents': true, 'watch-dir-enabled': false,
        'blocklist-enabled': false,
      }),
    );
    const p = proc('transmission-daemon', ['-f', '-g', conf], { ns });
    const remote = (...args: string[]) => spawnSync('transmission-remote', [`${host}:${rpc}`, ...args], { encoding: 'utf8', timeout: 10_000 });
    await poll(Date.now() + 15_000, () => remote('-l').status === 0);
    const added = remote('-a', torrent, '-w', dir);
    if (added.status !== 0) throw new Error(`transmission-remote -a: ${added.stdout}${added.stderr}`);
    return {
      complete: (d) => poll(d, () => /Percent Done: 100%/.test(remote('-t', '1', '-i').stdout)),
      stop: p.stop,
      peerPort: peer,
      log: () => `${p.log()}\n${remote('-t', '1', '-i').stdout}`,
    };
  };
  return {
    name: 'transmission',
    version: () => spawnSync('transmission-daemon', ['-V'], { encoding: 'utf8' }).stderr.split('\n')[0]!.trim(),
    seed: start,
    leech: start,
  };
}

export function qbittorrentClient(ns: Netns, work: string): Client {
  const host = ns.host;
  const start = async (torrent: string, dir: string): Promise<Running> => {
    const profile = join(work, `qbittorrent-${Date.now()}`);
    const confDir = join(profile, 'qBittorrent', 'config');
    mkdirSync(confDir, { recursive: true });
    const web = portIn();
    const peer = portIn();
    writeFileSync(
      join(confDir, 'qBittorrent.conf'),
      [
        '[LegalNotice]', 'Accepted=true', '',
        '[BitTorrent]', 'Session\\DHTEnabled=false', 'Session\\LSDEnabled=false', 'Session\\PeXEnabled=false', `Session\\Port=${peer}`,
        'Session\\Interface=lo', `Session\\InterfaceAddress=${host}`, 'Session\\BTProtocol=TCP', 'Session\\QueueingSystemEnabled=false',
        `Session\\DefaultSavePath=${dir}`, '',
        '[Network]', 'PortForwardingEnabled=false', '',
        '[Preferences]', `WebUI\\Address=${host}`, `WebUI\\Port=${web}`, 'WebUI\\LocalHostAuth=false', 'WebUI\\CSRFProtection=false',
        'WebUI\\AuthSubnetWhitelistEnabled=true', 'WebUI\\AuthSubnetWhitelist=10.77.0.0/24',
        'WebUI\\HostHeaderValidation=false', 'Connection\\UPnP=false', '',
      ].join('\n'),
    );
    const p = proc('qbittorrent-nox', [`--profile=${profile}`], { ns });
    const api = `http://${host}:${web}/api/v2`;
    await poll(Date.now() + 20_000, async () => (await fetch(`${api}/app/version`)).ok);
    const form = new FormData();
    if (torrent.startsWith('magnet:')) form.append('urls', torrent);
    else form.append('torrents', new Blob([readFileSync(torrent)]), 'x.torrent');
    form.append('savepath', dir);
    const r = await fetch(`${api}/torrents/add`, { method: 'POST', body: form });
    if (!r.ok) throw new Error(`qBittorrent /torrents/add: ${r.status} ${await r.text()}`);
    return {
      complete: (d) =>
        poll(d, async () => {
          const list = (await (await fetch(`${api}/torrents/info`)).json()) as { progress: number; state: string }[];
          return list.length === 1 && list[0]!.progress === 1 && !/checking/i.test(list[0]!.state);
        }),
      stop: p.stop,
      log: p.log,
    };
  };
  return {
    name: 'qbittorrent',
    version: () => spawnSync('qbittorrent-nox', ['--version'], { encoding: 'utf8' }).stdout.trim(),
    seed: start,
    leech: start,
    magnet: start,
  };
}

/** One XML-RPC call to rtorrent over SCGI; returns the response body. */
export function scgiCall(host: string, port: number, method: string, params: string[]): Promise<string> {
  const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((x) => `<param><value><string>${x}</string></value></param>`).join('')}</params></methodCall>`;
  const headers = `CONTENT_LENGTH\0${Buffer.byteLength(body)}\0SCGI\0${1}\0REQUEST_METHOD\0POST\0REQUEST_URI\0/RPC2\0`;
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => s.end(`${Buffer.byteLength(headers)}:${headers},${body}`));
    let out = '';
    s.setEncoding('utf8').on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out.slice(out.indexOf('<?xml'))));
    s.on('error', reject);
  });
}

export function rtorrentClient(ns: Netns, work: string): Client {
  const host = ns.host;
  const start = async (torrent: string, dir: string): Promise<Running> => {
    const base = join(work, `rtorrent-${Date.now()}`);
    mkdirSync(join(base, 'session'), { recursive: true });
    const scgi = portIn();
    const peer = portIn();
    const rc = join(base, 'rtorrent.rc');
    writeFileSync(
      rc,
      [
        `directory.default.set = ${dir}`, `session.path.set = ${join(base, 'session')}`, `network.scgi.open_port = ${host}:${scgi}`,
        `network.port_range.set = ${peer}-${peer}`, 'network.port_random.set = no', `network.bind_address.set = ${host}`, `network.local_address.set = ${host}`,
        'dht.mode.set = disable', 'protocol.pex.set = no', 'trackers.use_udp.set = no', 'system.daemon.set = true',
        'protocol.encryption.set = allow_incoming,try_outgoing,enable_retry', `log.open_file = "rtlog", ${join(base, 'events.log')}`,
        'log.add_output = "info", "rtlog"', '',
      ].join('\n'),
    );
    const p = proc('rtorrent', ['-n', '-o', `import=${rc}`], { ns });
    await poll(Date.now() + 15_000, async () => (await scgiCall(host, scgi, 'system.client_version', [])).includes('<string>'));
    await scgiCall(host, scgi, 'load.start_verbose', ['', torrent]);
    const events = () => {
      try {
        return readFileSync(join(base, 'events.log'), 'utf8');
      } catch {
        return '';
      }
    };
    return {
      complete: (d) => poll(d, async () => /<i[48]>1<\/i[48]>/.test(await scgiCall(host, scgi, 'd.multicall2', ['', 'main', 'd.complete=']))),
      stop: p.stop,
      peerPort: peer,
      log: () => `${p.log()}\n${events()}`,
    };
  };
  return {
    name: 'rtorrent',
    version: () => (spawnSync('rtorrent', ['-h'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '').trim(),
    seed: start,
    leech: start,
  };
}

/** isosync itself, as the other side of every cell. */
export function isosyncSide(host: string, home: string) {
  return {
    seed: async (torrent: string, image: string): Promise<Running> => {
      const p = proc(process.execPath, [BIN, 'seed', torrent, image, '--host', host, '--port', '0', '--no-dht', '--home', home]);
      return { complete: (d) => poll(d, () => /^seeding /m.test(p.log())), stop: p.stop, log: p.log };
    },
    sync: async (torrent: string, out: string): Promise<Running> => {
      const p = proc(process.execPath, [BIN, 'sync', torrent, '-o', out, '--host', host, '--no-catalog', '--home', home, '--json']);
      const done = new Promise<boolean>((r) => p.child.on('exit', (code) => r(code === 0)));
      return { complete: async (d) => Promise.race([done, sleep(Math.max(0, d - Date.now())).then(() => false)]), stop: p.stop, log: p.log };
    },
  };
}
