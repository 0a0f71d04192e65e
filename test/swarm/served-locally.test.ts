/** servedLocally (swarm-options.ts): whether a sync's trackers are all on the host that served its torrent. Table test, pure. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { servedLocally } from '../../src/swarm/swarm-options.js';

test('a sync is served locally only when every tracker is on the host that served its torrent', () => {
  const own = 'http://mirror.lan:8080/announce';
  const rows: { why: string; tiers: string[][]; preferred: string[]; want: boolean }[] = [
    { why: "the serve's own tracker only", tiers: [[own]], preferred: [own], want: true },
    { why: 'the same host, another path', tiers: [['http://mirror.lan:8080/tracker/announce']], preferred: [own], want: true },
    { why: 'no tracker in the torrent (DHT-only, from a plain web server that may run no tracker)', tiers: [], preferred: [own], want: false },
    { why: "the release's own tracker after the serve's", tiers: [[own], ['http://tracker.example/announce']], preferred: [own], want: false },
    { why: 'another tracker in the same tier', tiers: [[own, 'udp://tracker.example:6969']], preferred: [own], want: false },
    { why: 'same host, another port', tiers: [['http://mirror.lan:9090/announce']], preferred: [own], want: false },
    { why: 'same host, another scheme', tiers: [['https://mirror.lan:8080/announce']], preferred: [own], want: false },
    { why: 'a torrent file: no serving host', tiers: [[own]], preferred: [], want: false },
    { why: 'a DHT-only torrent from a file or magnet', tiers: [], preferred: [], want: false },
    { why: 'an unparsable tracker is not local', tiers: [['not a url']], preferred: [own], want: false },
  ];
  for (const r of rows) assert.equal(servedLocally({ trackerTiers: r.tiers, preferred: r.preferred }), r.want, r.why);
});
