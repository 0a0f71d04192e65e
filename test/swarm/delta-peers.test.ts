/**
 * A delta from peers only: 1.00 -> 1.01 where the only remote source is a
 * python3-libtorrent seeder (no web seed). The seeder's own payload counter
 * must stay within 1.05 x what `isosync plan --json` said must be fetched.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { needTools, cli } from '../helpers/env.js';
import { HAVE_RELEASES, publishChain, sha256, type Published } from '../sync/fixture-pair.js';
import { isosync, libtorrentPeer, type Peer } from './peers.js';

/** libtorrent updates its payload counters once a second: reads until two readings 1.2 s apart agree. */
async function settledUpload(peer: Peer): Promise<number> {
  let value = -1;
  for (let seen = Number(peer.last().uploaded); seen !== value; ) {
    value = seen;
    await new Promise((res) => setTimeout(res, 1200));
    seen = Number(peer.last().uploaded);
  }
  return value;
}

describe('delta sync from a libtorrent seeder only', { skip: needTools('libtorrent') || (HAVE_RELEASES ? false : 'fixture releases missing') }, () => {
  let pub: Published | undefined;
  let lt: Peer | undefined;
  after(async () => {
    await lt?.stop();
    pub?.cleanup();
  });

  let ratio = NaN;
  it('fetches 1.00 -> 1.01 from the seeder alone, bit-identical', async () => {
    pub = publishChain(['distro-1.00', 'distro-1.01']);
    const torrent = pub.torrent('distro-1.01');
    lt = await libtorrentPeer('seed', torrent, pub.dir);
    while (lt.last().seeding !== true) await new Promise((r) => setTimeout(r, 50));
    // The plan reads the target's metadata from the seeder too, so it counts it; measured before the sync, from the seeder's counter.
    const plan = await isosync(['plan', torrent, '--no-catalog', '--from', pub.image('distro-1.00'), '--peer', `127.0.0.1:${lt.port}`, '--json']);
    assert.equal(plan.status, 0, plan.stderr);
    const fetchBytes = (JSON.parse(plan.stdout) as { fetchBytes: number; metadataFetchedBytes: number }).fetchBytes + (JSON.parse(plan.stdout) as { metadataFetchedBytes: number }).metadataFetchedBytes;
    assert.ok(fetchBytes > 0 && fetchBytes < 5269504 / 2, `plan fetches ${fetchBytes}`);
    const before = await settledUpload(lt);
    const out = join(pub.dir, 'synced.iso');
    const r = await isosync(['sync', torrent, '--no-catalog', '--home', join(pub.dir, 'client'), '--from', pub.image('distro-1.00'), '--peer', `127.0.0.1:${lt.port}`, '-o', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(sha256(out), sha256(pub.image('distro-1.01')));
    const uploaded = (await settledUpload(lt)) - before;
    const rep = JSON.parse(r.stdout) as { fetchedBytes: number; wastedBytes: number; reusedBytes: number; metadataFetchedBytes: number };
    process.stderr.write(`# delta from libtorrent: plan ${fetchBytes} bytes, seeder uploaded ${uploaded} (${(uploaded / fetchBytes).toFixed(3)} x); sync fetched ${rep.fetchedBytes}, wasted ${rep.wastedBytes}, metadata ${rep.metadataFetchedBytes}\n`);
    assert.ok(uploaded > 0);
    ratio = uploaded / fetchBytes;
  });

  it('the seeder uploads at most 1.05 x the planned bytes (requests ask exactly the missing bytes)', () => {
    assert.ok(ratio > 0 && ratio <= 1.05, `seeder uploaded ${ratio.toFixed(3)} x the plan`);
  });
});
