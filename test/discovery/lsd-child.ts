/**
 * Runs inside a private network namespace (lsd.test.ts starts it with
 * `unshare -n` after enabling multicast on its loopback): two isosync LSD
 * nodes and, when given, a python3-libtorrent session with LSD on announce
 * to each other. Prints one JSON line of what each side heard.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Lsd } from '../../src/discovery/lsd.js';
import type { InfoHash } from '../../src/torrent/info-hash.js';

const LT = `
import re, sys, time, os, libtorrent as lt
ses = lt.session({'enable_dht': False, 'enable_lsd': True, 'enable_upnp': False, 'enable_natpmp': False,
  'listen_interfaces': '127.0.0.1:0', 'alert_mask': lt.alert.category_t.peer_notification | lt.alert.category_t.status_notification})
data = sys.argv[1]
fs = lt.file_storage(); lt.add_files(fs, data)
ct = lt.create_torrent(fs, 16384, flags=lt.create_torrent.v1_only); lt.set_piece_hashes(ct, os.path.dirname(data))
ti = lt.torrent_info(lt.bencode(ct.generate()))
ses.add_torrent({'ti': ti, 'save_path': os.path.dirname(data)})
print('READY %d %s' % (ses.listen_port(), ti.info_hashes().v1), flush=True)
t0 = time.time()
while time.time() - t0 < 20:
    for a in ses.pop_alerts():
        if a.what() == 'lsd_peer':
            # The Python binding has no lsd_peer_alert class: read the address from its message.
            m = re.search(r'(\\d+\\.\\d+\\.\\d+\\.\\d+):(\\d+)', a.message())
            if m: print('LSDPEER %s %s' % (m.group(1), m.group(2)), flush=True)
    time.sleep(0.1)
`;

async function main(): Promise<void> {
  const [dataFile] = process.argv.slice(2);
  const result: Record<string, unknown> = {};
  const X = 'ab'.repeat(20) as InfoHash;
  const a = await Lsd.start({ port: 7001, infoHashes: [X], interfaceAddress: '127.0.0.1' });
  const b = await Lsd.start({ port: 7002, infoHashes: [X], interfaceAddress: '127.0.0.1' });
  const heard = (lsd: Lsd, name: string) => lsd.on('peer', (p, h) => ((result[name] ??= []) as string[]).push(`${p.host}:${p.port} ${h}`));
  heard(a, 'a');
  heard(b, 'b');
  // a announced before b was listening: announce again (as the 5-minute timer would).
  a.announceNow(Date.now() + 60_000);
  await new Promise((r) => setTimeout(r, 500));
  if (dataFile) {
    const py = spawn('/usr/bin/python3', ['-c', LT, dataFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: py.stdout });
    let ltHash: InfoHash | undefined;
    let lsd: Lsd | undefined;
    const deadline = setTimeout(() => py.kill(), 15_000);
    for await (const line of lines) {
      const ready = /^READY (\d+) ([0-9a-f]{40})$/.exec(line);
      if (ready) {
        ltHash = ready[2] as InfoHash;
        result['ltPort'] = Number(ready[1]);
        // An isosync node that wants libtorrent's torrent, and announces it too.
        lsd = await Lsd.start({ port: 7003, infoHashes: [ltHash], interfaceAddress: '127.0.0.1' });
        lsd.on('peer', (p) => ((result['fromLibtorrent'] ??= []) as string[]).push(`${p.host}:${p.port}`));
      }
      const m = /^LSDPEER (\S+) (\d+)$/.exec(line);
      if (m) ((result['libtorrentHeard'] ??= []) as string[]).push(`${m[1]}:${m[2]}`);
      if (result['fromLibtorrent'] && result['libtorrentHeard']) break;
    }
    clearTimeout(deadline);
    py.kill();
    await lsd?.close();
  }
  await a.close();
  await b.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// The test runner also loads every file under test/: run only when lsd.test.ts starts this inside its namespace.
if (process.env['ISOSYNC_NETNS_CHILD'] === 'lsd') {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
