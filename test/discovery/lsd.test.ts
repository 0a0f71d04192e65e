/**
 * LSD (BEP 14): the message codec, and announces heard between isosync
 * nodes and python3-libtorrent over multicast. Multicast runs only inside a
 * private network namespace whose loopback carries it (`unshare -n`, as
 * root), so nothing reaches a real LAN; without one the suite is skipped
 * with a note.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatLsdAnnounce, MAX_LSD_BYTES, parseLsdAnnounce } from '../../src/discovery/lsd-message.js';
import { hasLibtorrent, ROOT, tempDir } from '../helpers/env.js';

const H1 = 'c9e15763f722f23e98a29decdfae341b98d53056';
const H2 = 'ab'.repeat(20);
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('LSD messages', () => {
  it('round-trips an announce of two torrents with a cookie', () => {
    const text = formatLsdAnnounce({ port: 6881, infoHashes: [H1 as never, H2 as never], cookie: 'c00k1e' });
    assert.equal(text, `BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: ${H1}\r\nInfohash: ${H2}\r\ncookie: c00k1e\r\n\r\n\r\n`);
    assert.deepEqual(parseLsdAnnounce(bytes(text)), { port: 6881, infoHashes: [H1, H2], cookie: 'c00k1e' });
  });

  it('reads headers in any order and case, as libtorrent sends them', () => {
    const m = parseLsdAnnounce(bytes(`BT-SEARCH * HTTP/1.1\r\ncookie: x\r\nINFOHASH: ${H1.toUpperCase()}\r\nport: 51413\r\nHost: 239.192.152.143:6771\r\n\r\n\r\n`));
    assert.deepEqual(m, { port: 51413, infoHashes: [H1], cookie: 'x' });
  });

  const junk: [string, string][] = [
    ['a short datagram', 'BT-SEARCH * HTTP/1.1'],
    ['another request line', `NOTIFY * HTTP/1.1\r\nPort: 1\r\nInfohash: ${H1}\r\n\r\n`],
    ['no port', `BT-SEARCH * HTTP/1.1\r\nInfohash: ${H1}\r\n\r\n`],
    ['port 0', `BT-SEARCH * HTTP/1.1\r\nPort: 0\r\nInfohash: ${H1}\r\n\r\n`],
    ['a port past 65535', `BT-SEARCH * HTTP/1.1\r\nPort: 70000\r\nInfohash: ${H1}\r\n\r\n`],
    ['no valid infohash', 'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: xyz\r\n\r\n'],
    ['too many infohashes', `BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n${Array.from({ length: 21 }, (_, i) => `Infohash: ${i.toString(16).padStart(40, '0')}\r\n`).join('')}\r\n`],
    ['an oversized datagram', `BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ${H1}\r\nX: ${'a'.repeat(MAX_LSD_BYTES)}\r\n\r\n`],
  ];
  for (const [name, text] of junk) {
    it(`ignores ${name} without throwing`, () => assert.equal(parseLsdAnnounce(bytes(text)), undefined));
  }
});

function netnsNote(): string | false {
  if (process.getuid?.() !== 0) return 'needs root for a private network namespace (unshare -n)';
  const r = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo'], { stdio: 'ignore' });
  if (r.status !== 0) return 'needs unshare -n and ip to build a private network namespace with multicast on loopback';
  return false;
}
const skip = netnsNote();
if (skip) process.stderr.write(`# SKIP LSD multicast: ${skip}\n`);

describe('LSD multicast in a private network namespace', { skip }, () => {
  it('isosync nodes hear each other, and libtorrent and isosync hear each other', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const data = join(tmp.dir, 'lsd.bin');
    writeFileSync(data, Buffer.alloc(40_000, 3));
    const child = join(ROOT, 'dist', 'test', 'discovery', 'lsd-child.js');
    const setup = 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo';
    const args = hasLibtorrent() ? [data] : [];
    if (args.length === 0) process.stderr.write('# SKIP LSD with libtorrent: needs libtorrent (python3-libtorrent)\n');
    const r = spawnSync('unshare', ['-n', 'sh', '-c', `${setup} && exec "$0" "$@"`, process.execPath, child, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, ISOSYNC_NETNS_CHILD: 'lsd' },
    });
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, string[] | number>;
    assert.deepEqual(result['a'], [`127.0.0.1:7002 ${H2}`], 'a heard b (and not itself)');
    assert.deepEqual(result['b'], [`127.0.0.1:7001 ${H2}`], 'b heard a');
    if (args.length > 0) {
      assert.ok((result['fromLibtorrent'] as string[]).includes(`127.0.0.1:${result['ltPort']}`), 'isosync heard libtorrent');
      assert.ok((result['libtorrentHeard'] as string[]).some((p) => p.endsWith(':7003')), 'libtorrent heard isosync');
    }
  });
});
