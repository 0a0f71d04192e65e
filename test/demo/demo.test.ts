import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliAsync, hasLibtorrent } from '../helpers/env.js';
import { HAVE_RELEASES } from '../sync/fixture-pair.js';

test('the README quick start demo serves, upgrades and rolls back bit-identically, with bytes counted by the server; a machine follows the signed feed and updates itself; a remastered release costs a stock client only its changes', { skip: HAVE_RELEASES ? false : 'fixtures/releases not built' }, async () => {
  const r = await cliAsync(['demo'], { timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const up = /upgrade: {2}server sent (\d+) bytes \(HTTP (\d+), BitTorrent (\d+)\) for a (\d+)-byte image; result bit-identical/.exec(r.stdout);
  const down = /rollback: server sent (\d+) bytes \(HTTP (\d+), BitTorrent (\d+)\); result bit-identical/.exec(r.stdout);
  assert.ok(up, r.stdout);
  assert.ok(down, r.stdout);
  assert.equal(Number(up[1]), Number(up[2]) + Number(up[3]));
  assert.ok(Number(up[1]) > 0, 'the upgrade fetched something: 1.01 has new packages');
  assert.ok(Number(up[1]) < Number(up[4]) / 2, `the upgrade moved a fraction of the image: ${up[1]} of ${up[4]}`);
  assert.ok(Number(down[1]) < Number(up[4]) / 2, `the rollback moved a fraction of the image: ${down[1]}`);
  assert.match(r.stdout, /\$ isosync serve mirror/);
  // Follow and update: the machine pins the key, installs 1.00, is updated to 1.01 with a package diff first, rolls back.
  assert.match(r.stdout, /\$ isosync follow http:\/\/127\.0\.0\.1:\d+\/feeds\/distro/);
  assert.match(r.stdout, /pinned on first use/);
  assert.match(r.stdout, /distro: 1\.00 -> 1\.01[^\n]*\n(.*\n)*\s+upgraded\s+libc6[^\n]*\n(.*\n)*distro: updated to 1\.01/);
  const follow = /follow and update: server sent (\d+) bytes \(HTTP (\d+), BitTorrent (\d+)\) for 1\.00 -> 1\.01; result bit-identical; rollback bit-identical/.exec(r.stdout);
  assert.ok(follow, r.stdout);
  assert.ok(Number(follow[1]) < Number(up[4]) / 2, `the update moved a fraction of the image: ${follow[1]}`);
  // The third path: a remastered 1.01 and a stock libtorrent leecher with 1.00 on disk.
  assert.match(r.stdout, /\$ isosync remaster mirror\/distro-1\.00\.iso tree-1\.01 -o mirror\/distro-1\.01-remastered\.iso/);
  const stock = /stock libtorrent with 1\.00 on disk: fetched (\d+) bytes of 1\.01 rebuilt from scratch, (\d+) bytes of 1\.01 remastered over 1\.00 \(the blocks that differ from 1\.00 hold (\d+)\)/.exec(r.stdout);
  if (hasLibtorrent()) {
    assert.ok(stock, r.stdout);
    assert.ok(Number(stock[2]) < Number(stock[1]) / 2, `remastered ${stock[2]} bytes, from scratch ${stock[1]}`);
    assert.ok(Number(stock[2]) <= 1.1 * Number(stock[3]), 'libtorrent fetched little more than the blocks that changed');
  } else assert.match(r.stdout, /skipped: a stock leecher needs python3-libtorrent/);
});
