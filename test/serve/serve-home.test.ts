import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cli, tempDir } from '../helpers/env.js';

test('serve refuses a DIR that holds the catalog folder in plain sight (it would publish the SQLite catalog), with exit 2', () => {
  const t = tempDir('isosync-serve-home-');
  try {
    mkdirSync(join(t.dir, 'pub'));
    const r = cli(['serve', t.dir, '--port', '0', '--home', join(t.dir, 'pub', 'catalog')], { timeoutMs: 20_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^isosync: Cannot serve .*: the catalog folder .* is inside it and would be published/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  } finally {
    t.cleanup();
  }
});
