/**
 * `isosync publish --previous IMAGE` must write the same torrent, byte for
 * byte, as the build before the hint matcher's speed-ups: the digest below is
 * that build's torrent for this seeded pair and these options.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { deltaPair } from '../helpers/delta-pairs.js';
import { cli, tempDir } from '../helpers/env.js';
import { isoAround } from '../helpers/iso-image.js';

const EXPECTED_SHA256 = 'aef138b0566640b76328696717daf9945465c046ff3f09a69da67a8e25eb5459';

test('publish --previous IMAGE writes the same torrent as the earlier build', (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const { older, newer } = deltaPair(21, 50, 150_000);
  // The previous image ends 300 bytes past a whole matcher block.
  writeFileSync(join(tmp.dir, 'distro-1.00.iso'), isoAround(Buffer.concat([older, Buffer.alloc(300, 7)])));
  writeFileSync(join(tmp.dir, 'distro-1.01.iso'), isoAround(newer));
  const out = join(tmp.dir, 'distro-1.01.torrent');
  const r = cli(
    ['publish', join(tmp.dir, 'distro-1.01.iso'), '--previous', join(tmp.dir, 'distro-1.00.iso'), '--product', 'distro', '--release', '1.01', '--piece-length', '32K', '--home', join(tmp.dir, 'home'), '-o', out],
    { env: { SOURCE_DATE_EPOCH: '1700000000' } },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), EXPECTED_SHA256);
});
