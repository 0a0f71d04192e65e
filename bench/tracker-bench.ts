/**
 * Tracker load: announces per second from one load generator on 127.0.0.1
 * against `isosync tracker` (a child process, as users run it) and against
 * opentracker, in the same run, under the same generator; then the RSS of
 * the isosync tracker process over a longer run, to show memory is stable.
 *
 * The generator simulates PEERS peers spread over TORRENTS torrents (each
 * peer's first announce is event=started, the rest regular; a quarter are
 * seeders). Three loads:
 *   - HTTP, one connection per announce (opentracker closes the connection
 *     after every reply, so this is the load both can take);
 *   - HTTP keep-alive (isosync only, opentracker does not keep connections);
 *   - UDP (BEP 15): connect once per socket, then announces, several in flight.
 * Each load runs for SECONDS or MAX_ANNOUNCES, whichever comes first. Every
 * server first gets WARM_UP_ANNOUNCES of each load (at most
 * WARM_UP_MAX_SECONDS), unmeasured (a tracker runs for days: isosync's is
 * measured with its JIT warm, as opentracker is measured with its table
 * full); then ROUNDS rounds alternate them, so a change in a shared machine's
 * load falls on all, and the ratios are printed over all rounds with their
 * per-round ranges.
 *
 * The generator is one Node process with raw sockets and requests made once
 * per peer (its per-announce work is a socket and a string or a 98-byte
 * copy); its CPU use is printed, since a saturated generator caps both
 * trackers alike (then the ratio says less than the absolute figures).
 *
 *   ISOSYNC_BENCH_TRACKER_SECONDS        per load (default 5)
 *   ISOSYNC_BENCH_TRACKER_ROUNDS         measured rounds (default 3)
 *   ISOSYNC_BENCH_TRACKER_LONG_SECONDS   the memory run (default 30)
 *   ISOSYNC_BENCH_TRACKER_BASELINE       bin/isosync of another build (an older commit's
 *                                        worktree), measured in the same rounds: before/after
 *
 * A third server, the node:net/dgram floor, answers every request with a fixed
 * reply through net.Socket and dgram.Socket and tracks nothing: what a Node
 * tracker on those APIs cannot go below. isosync's tracker drives Node's TCP
 * and UDP handles directly (src/tracker/tcp-links.ts, udp-handles.ts), so
 * over HTTP it costs less CPU per announce than that floor.
 *
 * Fairness: opentracker answers on one thread; a Node process also runs
 * V8's compiler and GC threads, whose CPU time /proc counts in its own. No
 * process is pinned to a core: on a shared machine each gets a share of
 * the cores, so announces per second follow the CPU an announce costs, and
 * announces per CPU-second (all threads) is the fair and steadier ratio.
 *
 * Each load also reads the tracker's own CPU time (/proc), printed as
 * microseconds per announce and as a second ratio, announces per CPU-second:
 * on a shared machine a process gets a share of a core, so throughput follows
 * the CPU an announce costs, and that ratio is the steadier of the two.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentEncodeBytes } from '../src/tracker/announce-query.js';
import * as wire from '../src/tracker/udp-wire.js';
import { freePort, startOpentracker, type Opentracker } from '../test/tracker/helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECONDS = Number(process.env['ISOSYNC_BENCH_TRACKER_SECONDS'] ?? 5);
const LONG_SECONDS = Number(process.env['ISOSYNC_BENCH_TRACKER_LONG_SECONDS'] ?? 30);
/** Measured rounds per load, alternating the trackers. */
const ROUNDS = Number(process.env['ISOSYNC_BENCH_TRACKER_ROUNDS'] ?? 3);
/**
 * Unmeasured load on each tracker before the rounds, per kind of load: until WARM_UP_ANNOUNCES
 * are answered (V8 optimizes code after enough runs, not after enough seconds: at a few hundred
 * connections a second on a loaded machine, node:net's code took over 10 s), within
 * WARM_UP_MAX_SECONDS.
 */
const WARM_UP_ANNOUNCES = 5_000;
const WARM_UP_STEP_SECONDS = 2;
const WARM_UP_MAX_SECONDS = 20;
/** Upper bound on announces per load, so a very fast machine still finishes. */
const MAX_ANNOUNCES = 2_000_000;
const PEERS = 20_000;
const TORRENTS = 200;
/** Requests in flight: enough to keep a single-threaded server busy. */
const CONCURRENCY = 64;
const UDP_SOCKETS = 16;
const UDP_IN_FLIGHT_PER_SOCKET = 8;
/** A UDP announce unanswered for this long is counted lost and replaced. */
const UDP_LOSS_MS = 1000;

interface Target {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

interface LoadResult {
  readonly announces: number;
  readonly failures: number;
  readonly lost: number;
  readonly seconds: number;
  readonly generatorCpu: number;
}

const infoHashes = Array.from({ length: TORRENTS }, (_, i) => {
  const h = Buffer.alloc(20);
  h.writeUInt32BE(0x15050000 + i, 0);
  h.fill(0xab, 4);
  return h;
});

class PeerCursor {
  private next = 0;
  private readonly started = new Uint8Array(PEERS);
  take(): { peer: number; infoHash: Buffer; event: 'started' | ''; left: number } {
    const peer = this.next++ % PEERS;
    const event = this.started[peer] ? '' : 'started';
    this.started[peer] = 1;
    return { peer, infoHash: infoHashes[peer % TORRENTS]!, event, left: peer % 4 === 0 ? 0 : 1_000_000 };
  }
}

function peerId(peer: number): Buffer {
  return Buffer.from(`-BN0001-${String(peer).padStart(12, '0')}`, 'latin1');
}

/** Each peer's fixed query part, made once: the generator then spends its CPU on sockets, not on percent-encoding. */
const peerQuery = Array.from({ length: PEERS }, (_, peer) =>
  `info_hash=${percentEncodeBytes(infoHashes[peer % TORRENTS]!)}&peer_id=${percentEncodeBytes(peerId(peer))}&port=${10_000 + peer}&uploaded=0&downloaded=0`);

function httpRequest(t: Target, c: ReturnType<PeerCursor['take']>, keepAlive: boolean): string {
  return `GET /announce?${peerQuery[c.peer]}&left=${c.left}&compact=1&numwant=50${c.event ? `&event=${c.event}` : ''} HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\nConnection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`;
}

/** Each peer's UDP announce (BEP 15 layout), made once; the connection id, transaction id and event are written per send. */
const udpPackets = Array.from({ length: PEERS }, (_, peer) =>
  Buffer.from(wire.encodeAnnounce({
    connectionId: 0n, transactionId: 0, infoHash: infoHashes[peer % TORRENTS]!, peerId: peerId(peer), downloaded: 0, left: peer % 4 === 0 ? 0 : 1_000_000, uploaded: 0,
    event: '', ip: 0, key: peer, numWant: 50, port: 10_000 + peer,
  })));
/** Offsets in a BEP 15 announce request. */
const UDP_AT = { connectionId: 0, transactionId: 12, event: 80 } as const;

/** Whether a complete HTTP reply is in buf; returns its total length and whether it was a tracker success. */
function parseHttpReply(buf: Buffer): { length: number; ok: boolean } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString('latin1');
  const m = /content-length:\s*(\d+)/i.exec(head);
  const len = m ? Number(m[1]) : 0;
  if (buf.length < end + 4 + len) return undefined;
  const body = buf.subarray(end + 4, end + 4 + len);
  return { length: end + 4 + len, ok: head.startsWith('HTTP/1.1 200') && body[0] === 0x64 && !body.includes('failure reason') };
}

export async function httpLoad(t: Target, keepAlive: boolean, seconds = SECONDS): Promise<LoadResult> {
  const cursor = new PeerCursor();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let announces = 0;
  let failures = 0;
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && sent < MAX_ANNOUNCES) {
      // One socket serves requests until the deadline (keep-alive) or one request (close).
      await new Promise<void>((resolve) => {
        const sock = net.connect(t.port, t.host);
        sock.setNoDelay(true);
        let buf: Buffer = Buffer.alloc(0);
        let done = false;
        const finish = (): void => {
          if (done) return;
          done = true;
          sock.destroy();
          resolve();
        };
        const send = (): void => {
          sent++;
          sock.write(httpRequest(t, cursor.take(), keepAlive));
        };
        sock.on('connect', send);
        sock.on('data', (d: Buffer) => {
          buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
          const r = parseHttpReply(buf);
          if (!r) return;
          buf = Buffer.from(buf.subarray(r.length));
          if (r.ok) announces++;
          else failures++;
          if (keepAlive && performance.now() < deadline && sent < MAX_ANNOUNCES) send();
          else finish();
        });
        sock.on('error', () => {
          failures++;
          finish();
        });
        sock.on('close', finish);
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { announces, failures, lost: 0, seconds: elapsed, generatorCpu: (cpu.user + cpu.system) / 1e6 };
}

export async function udpLoad(t: Target, seconds = SECONDS): Promise<LoadResult> {
  const cursor = new PeerCursor();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let announces = 0;
  let failures = 0;
  let lost = 0;
  let sent = 0;
  const runSocket = (index: number): Promise<void> =>
    new Promise((resolve) => {
      const sock = dgram.createSocket('udp4');
      const pending = new Map<number, NodeJS.Timeout>();
      let connectionId: bigint | undefined;
      let nextTid = (index << 24) >>> 0;
      const finishIfDone = (): void => {
        if (pending.size === 0 && (performance.now() >= deadline || sent >= MAX_ANNOUNCES)) {
          sock.close();
          resolve();
        }
      };
      const arm = (tid: number): void => {
        pending.set(
          tid,
          setTimeout(() => {
            pending.delete(tid);
            lost++;
            if (connectionId === undefined) connect();
            else fill();
            finishIfDone();
          }, UDP_LOSS_MS),
        );
      };
      const connect = (): void => {
        const tid = nextTid++ >>> 0;
        arm(tid);
        sock.send(wire.encodeConnect(tid));
      };
      const announce = (): void => {
        const c = cursor.take();
        const tid = nextTid++ >>> 0;
        sent++;
        arm(tid);
        const packet = udpPackets[c.peer]!;
        packet.writeBigUInt64BE(connectionId!, UDP_AT.connectionId);
        packet.writeUInt32BE(tid, UDP_AT.transactionId);
        packet.writeUInt32BE(wire.eventToUdp(c.event), UDP_AT.event);
        // The template is written again only PEERS announces later, long after this send.
        sock.send(packet);
      };
      const fill = (): void => {
        while (pending.size < UDP_IN_FLIGHT_PER_SOCKET && performance.now() < deadline && sent < MAX_ANNOUNCES) announce();
      };
      sock.on('message', (msg) => {
        const h = wire.replyHeader(msg);
        const timer = h && pending.get(h.transactionId);
        if (!h || !timer) return;
        clearTimeout(timer);
        pending.delete(h.transactionId);
        if (h.action === wire.ACTION.connect) connectionId = wire.decodeConnectReply(msg);
        else if (h.action === wire.ACTION.announce) announces++;
        else failures++;
        fill();
        finishIfDone();
      });
      // A connected socket: no address lookup per send on the generator's side.
      sock.bind(0, '127.0.0.1', () => sock.connect(t.port, t.host, connect));
    });
  await Promise.all(Array.from({ length: UDP_SOCKETS }, (_, i) => runSocket(i)));
  const cpu = process.cpuUsage(cpu0);
  return { announces, failures, lost, seconds: (performance.now() - t0) / 1000, generatorCpu: (cpu.user + cpu.system) / 1e6 };
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function rssMiB(pid: number): number {
  return procStatus(pid, 'VmRSS');
}

function cpuSeconds(pid: number): number {
  // /proc/PID/stat fields 14 and 15: utime and stime in clock ticks (100 per second on Linux).
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** `isosync tracker` from `bin` (this build's by default; ISOSYNC_BENCH_TRACKER_BASELINE names another build's). */
export async function startIsosyncTracker(bin = join(ROOT, 'bin', 'isosync'), name = 'isosync'): Promise<{ child: ChildProcess; target: Target; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(bin, ['tracker', '--host', '127.0.0.1', '--port', String(port), '--udp'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`isosync tracker exited ${c}`)));
  });
  return {
    child,
    target: { name, host: '127.0.0.1', port },
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The floor of node:net and node:dgram: a process that reads each request and answers it with
 * the same fixed reply (a 50-peer compact body; over UDP a connect or announce reply), no
 * tracker behind it. What isosync's tracker costs beyond it is the tracker's own work.
 */
const FLOOR_SCRIPT = `
const net = require('node:net'), dgram = require('node:dgram');
const body = Buffer.concat([Buffer.from('d8:completei5e10:incompletei95e8:intervali1800e12:min intervali900e5:peers300:'), Buffer.alloc(300, 7), Buffer.from('e')]);
const reply = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: ' + body.length + '\\r\\nConnection: close\\r\\n\\r\\n'), body]);
const port = Number(process.argv[1]);
net.createServer({ noDelay: true }, (s) => { s.on('error', () => s.destroy()); s.on('data', () => s.end(reply)); }).listen(port, '127.0.0.1', () => {
  const u = dgram.createSocket('udp4');
  const announce = Buffer.alloc(20 + 300, 7);
  u.on('message', (m, r) => {
    if (m.length < 16) return;
    const out = m.readUInt32BE(8) === 0 ? Buffer.alloc(16) : Buffer.from(announce);
    out.writeUInt32BE(m.readUInt32BE(8) === 0 ? 0 : 1, 0);
    out.writeUInt32BE(m.readUInt32BE(12), 4);
    u.send(out, r.port, r.address);
  });
  u.bind(port, '127.0.0.1', () => process.stdout.write('up\\n'));
});`;

async function startFloor(): Promise<{ child: ChildProcess; target: Target; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', FLOOR_SCRIPT, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`node:net floor exited ${c}`)));
  });
  return {
    child,
    target: { name: 'node:net/dgram floor', host: '127.0.0.1', port },
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A load's result with the tracker's CPU seconds spent during it. */
interface Measured extends LoadResult {
  readonly trackerCpu: number;
}

interface Tracked {
  readonly target: Target;
  readonly pid: number;
  readonly http: Measured[];
  readonly udp: Measured[];
}

async function measure(t: Tracked, load: () => Promise<LoadResult>): Promise<Measured> {
  const c0 = cpuSeconds(t.pid);
  const r = await load();
  return { ...r, trackerCpu: cpuSeconds(t.pid) - c0 };
}

/** Announces per second over several loads. */
function rate(rs: readonly LoadResult[]): number {
  return rs.reduce((n, r) => n + r.announces, 0) / rs.reduce((n, r) => n + r.seconds, 0);
}

/** Announces per second of the tracker's own CPU time: what a loaded machine's share of a core buys. */
function perCpu(rs: readonly Measured[]): number {
  return rs.reduce((n, r) => n + r.announces, 0) / Math.max(0.01, rs.reduce((n, r) => n + r.trackerCpu, 0));
}

function line(label: string, r: LoadResult & { trackerCpu?: number }): number {
  const rate = r.announces / r.seconds;
  const cpu = r.trackerCpu === undefined ? '' : `; tracker CPU ${((100 * r.trackerCpu) / r.seconds).toFixed(0)}%, ${((1e6 * r.trackerCpu) / Math.max(1, r.announces)).toFixed(0)} us/announce`;
  process.stdout.write(
    `  ${label.padEnd(48)} ${rate.toFixed(0).padStart(7)} announces/s  (${r.announces} in ${r.seconds.toFixed(1)} s, ${r.failures} failed${r.lost ? `, ${r.lost} lost` : ''}; generator CPU ${((100 * r.generatorCpu) / r.seconds).toFixed(0)}%${cpu})\n`,
  );
  return rate;
}

function ratios(a: Tracked, b: Tracked): string {
  const range = (k: 'http' | 'udp'): string => {
    const rs = a[k].map((r, i) => rate([r]) / rate([b[k][i]!]));
    return `${Math.min(...rs).toFixed(2)}-${Math.max(...rs).toFixed(2)}`;
  };
  return (
    `HTTP ${(rate(a.http) / rate(b.http)).toFixed(2)}x (rounds ${range('http')}), UDP ${(rate(a.udp) / rate(b.udp)).toFixed(2)}x (rounds ${range('udp')}); ` +
    `per CPU-second: HTTP ${(perCpu(a.http) / perCpu(b.http)).toFixed(2)}x, UDP ${(perCpu(a.udp) / perCpu(b.udp)).toFixed(2)}x`
  );
}

export async function run(): Promise<void> {
  process.stdout.write(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}; `);
  process.stdout.write(`load: ${PEERS} peers over ${TORRENTS} torrents, ${CONCURRENCY} HTTP requests / ${UDP_SOCKETS}x${UDP_IN_FLIGHT_PER_SOCKET} UDP in flight, ${SECONDS} s per load, on 127.0.0.1\n`);
  const iso = await startIsosyncTracker();
  const baselineBin = process.env['ISOSYNC_BENCH_TRACKER_BASELINE'];
  let base: Awaited<ReturnType<typeof startIsosyncTracker>> | undefined;
  let ot: Opentracker | undefined;
  let floor: Awaited<ReturnType<typeof startFloor>> | undefined;
  try {
    const pid = iso.child.pid!;
    const rss0 = rssMiB(pid);
    const trackers: Tracked[] = [{ target: iso.target, pid, http: [], udp: [] }];
    if (baselineBin) {
      base = await startIsosyncTracker(baselineBin, 'baseline');
      trackers.push({ target: base.target, pid: base.child.pid!, http: [], udp: [] });
    }
    floor = await startFloor();
    trackers.push({ target: floor.target, pid: floor.child.pid!, http: [], udp: [] });
    try {
      ot = await startOpentracker(infoHashes.map((h) => h.toString('hex')));
      trackers.push({ target: { name: 'opentracker', host: '127.0.0.1', port: ot.port }, pid: ot.pid, http: [], udp: [] });
    } catch (e) {
      process.stdout.write(`  opentracker: not measured (${(e as Error).message.split('\n')[0]})\n`);
    }
    // Warm-up, unmeasured: a tracker runs for days, so all are measured hot (isosync's JIT compiled, tables full).
    for (const t of trackers) {
      for (const load of [() => httpLoad(t.target, false, WARM_UP_STEP_SECONDS), () => udpLoad(t.target, WARM_UP_STEP_SECONDS)]) {
        for (let n = 0, s = 0; n < WARM_UP_ANNOUNCES && s < WARM_UP_MAX_SECONDS; s += WARM_UP_STEP_SECONDS) n += (await load()).announces;
      }
    }
    const isoCpu0 = cpuSeconds(pid);
    // Rounds alternate the trackers, so a change in the machine's load falls on all of them.
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of trackers) {
        const r = await measure(t, () => httpLoad(t.target, false));
        line(`${t.target.name} HTTP, connection each #${round}`, r);
        t.http.push(r);
      }
      for (const t of trackers) {
        const r = await measure(t, () => udpLoad(t.target));
        line(`${t.target.name} UDP #${round}`, r);
        t.udp.push(r);
      }
    }
    line('isosync HTTP keep-alive', await measure(trackers[0]!, () => httpLoad(iso.target, true)));
    const otTracked = trackers.find((t) => t.target.name === 'opentracker');
    if (otTracked) process.stdout.write(`  ratio isosync/opentracker over ${ROUNDS} rounds: ${ratios(trackers[0]!, otTracked)}\n`);
    if (otTracked && base) process.stdout.write(`  ratio baseline/opentracker over ${ROUNDS} rounds: ${ratios(trackers[1]!, otTracked)}\n`);
    if (base) process.stdout.write(`  ratio isosync/baseline over ${ROUNDS} rounds: ${ratios(trackers[0]!, trackers[1]!)}\n`);
    const floorTracked = trackers.find((t) => t.target === floor?.target);
    if (floorTracked) process.stdout.write(`  ratio isosync/(node:net and dgram floor) over ${ROUNDS} rounds: ${ratios(trackers[0]!, floorTracked)}\n`);
    if (floorTracked && otTracked) process.stdout.write(`  ratio (node:net and dgram floor)/opentracker over ${ROUNDS} rounds: ${ratios(floorTracked, otTracked)}\n`);
    process.stdout.write(`  isosync tracker CPU over these loads: ${(cpuSeconds(pid) - isoCpu0).toFixed(1)} s; load average now ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`);

    // Memory over a longer run: UDP load (the cheapest for the generator) with the same peer population.
    const rssWarm = rssMiB(pid);
    const samples: string[] = [];
    const sampler = setInterval(() => samples.push(rssMiB(pid).toFixed(1)), Math.max(1000, (LONG_SECONDS * 1000) / 6));
    const long = await udpLoad(iso.target, LONG_SECONDS);
    clearInterval(sampler);
    const rssEnd = rssMiB(pid);
    line(`isosync UDP, ${LONG_SECONDS} s memory run`, long);
    process.stdout.write(
      `  isosync tracker RSS: ${rss0.toFixed(1)} MiB at start, ${rssWarm.toFixed(1)} MiB after the first loads (table full: ${PEERS} peers), ` +
        `${rssEnd.toFixed(1)} MiB after ${long.announces} more announces; samples during the run: ${samples.join(', ')} MiB; peak ${procStatus(pid, 'VmHWM').toFixed(1)} MiB\n`,
    );
    if (base) process.stdout.write(`  baseline tracker peak RSS (no memory run): ${procStatus(base.child.pid!, 'VmHWM').toFixed(1)} MiB\n`);
  } finally {
    await iso.stop();
    await base?.stop();
    await floor?.stop();
    await ot?.stop();
  }
}
