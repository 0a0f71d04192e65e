import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliAsync } from '../helpers/env.js';
import { HAVE_RELEASES } from '../sync/fixture-pair.js';

test('the README quick start demo upgrades and rolls back bit-identically', { skip: HAVE_RELEASES ? false : 'fixtures/releases not built' }, async () => {
  const r = await cliAsync(['demo'], { timeoutMs: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /upgrade: {2}mirror sent \d+ bytes for a \d+-byte image; result bit-identical/);
  assert.match(r.stdout, /rollback: mirror sent \d+ bytes; result bit-identical/);
  const sent = /mirror sent (\d+) bytes for a (\d+)-byte image/.exec(r.stdout)!;
  assert.ok(Number(sent[1]) < Number(sent[2]) / 4, 'the upgrade moved a fraction of the image');
});
