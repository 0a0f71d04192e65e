/**
 * The systemd units in contrib/ pass `systemd-analyze verify` without a
 * single warning (the template is checked as an instance). Skipped, visibly,
 * where systemd is not installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { needTools, ROOT, tempDir } from '../helpers/env.js';

const CONTRIB = join(ROOT, 'contrib');

describe('contrib systemd units', { skip: needTools('systemd-analyze') }, () => {
  it('verify cleanly', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const units = readdirSync(CONTRIB).filter((f) => /\.(service|timer)$/.test(f)).sort();
    assert.deepEqual(units, ['isosync-seed@.service', 'isosync-update.service', 'isosync-update.timer']);
    const paths = units.map((u) => {
      const to = join(tmp.dir, u.replace('@.service', '@distro.service'));
      copyFileSync(join(CONTRIB, u), to);
      return to;
    });
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...paths], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'no warnings');
  });

  it('the service runs update --yes and counts "nothing to do" (exit 3) as success; the timer starts it', () => {
    const service = readFileSync(join(CONTRIB, 'isosync-update.service'), 'utf8');
    assert.match(service, /^ExecStart=\/usr\/bin\/env isosync update --yes$/m);
    assert.match(service, /^SuccessExitStatus=3$/m);
    assert.match(service, /^Type=oneshot$/m);
    assert.match(readFileSync(join(CONTRIB, 'isosync-update.timer'), 'utf8'), /^OnCalendar=daily$/m);
    assert.match(readFileSync(join(CONTRIB, 'isosync-seed@.service'), 'utf8'), /^ExecStart=\/usr\/bin\/env isosync seed --follow %i /m);
  });
});
