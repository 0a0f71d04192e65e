/**
 * The command line as a new user meets it: no arguments, a typo, options
 * where people put them, --help, sizes, quiet output, read-only commands,
 * completion scripts and the man page, and failures in plain words. The CLI
 * runs in a child process each time, with real files and sockets.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, cliAsync, fixture, hasTool, needTools, tempDir } from '../helpers/env.js';
import { startRangeServer } from '../helpers/range-server.js';

const COMMANDS = ['sync', 'plan', 'publish', 'info', 'releases', 'ls', 'regions', 'extract', 'diff', 'apply', 'mount', 'umount', 'serve', 'seed', 'tracker', 'completion', 'demo'];

describe('the command line', () => {
  it('prints the usage when run with no arguments (exit 0), with examples, environment and exit codes', () => {
    const r = cli([]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^Usage: isosync \[COMMAND\] \[options\]/);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'), c);
    for (const section of ['Examples:', 'Environment:', 'Exit codes:', 'ISOSYNC_HOME', 'SOURCE_DATE_EPOCH']) assert.ok(r.stdout.includes(section), section);
    assert.match(r.stdout, /^ {2}130 +interrupted/m);
    assert.equal(cli(['--help']).stdout.includes('Exit codes:'), true);
  });

  it('names an unknown command and the nearest one instead of syncing a file called so (exit 2)', () => {
    const r = cli(['pubish', 'x.iso']);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'isosync: unknown command \'pubish\' (did you mean \'publish\'?); run "isosync --help" for the commands\n');
    const o = cli(['sync', 'x.torrent', '--fro', 'y']);
    assert.equal(o.status, 2);
    assert.match(o.stderr, /^isosync: unknown option '--fro' \(did you mean '--from'\?\)/);
  });

  it('takes the global options before or after the command, and a read-only command creates no catalog', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const home = join(tmp.dir, 'home');
    for (const args of [['--home', home, 'releases'], ['releases', '--home', home], ['-q', 'releases', `--home=${home}`, '--json']]) {
      const r = cli(args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, '');
    }
    assert.equal(cli(['--json', '--home', home, 'releases']).stdout, '[]\n');
    assert.equal(existsSync(home), false, 'releases on an empty home created nothing');
    const plan = cli(['--home', home, 'plan', fixture('releases', 'distro-1.01.iso'), '--json']);
    assert.notEqual(plan.status, 0);
    assert.equal(existsSync(home), false, 'neither did a failed plan');
    assert.match(cli(['mount', 'x.iso', 'd', '--json']).stderr, /^isosync: Invalid --json: "isosync mount" has no report to print\n$/);
  });

  it('reads one size syntax everywhere (5M, 5MiB, 500k, bytes) and names a bad size', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const missing = join(tmp.dir, 'missing.torrent');
    // A good size passes the checks: the failure is the missing torrent, not the option.
    for (const v of ['5M', '5MiB', '500k', '65536', '5M/s']) {
      const r = cli(['sync', missing, '--download-limit', v, '--upload-limit', v, '--home', tmp.dir]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /^isosync: Cannot read torrent/, v);
    }
    const bad = cli(['sync', missing, '--download-limit', '5 megs']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^isosync: Invalid --download-limit "5 megs": not a size/);
    const pl = cli(['publish', fixture('releases', 'distro-1.00.iso'), '--product', 'p', '--release', '1', '--piece-length', '3k', '--home', tmp.dir]);
    assert.equal(pl.status, 2);
    assert.match(pl.stderr, /^isosync: Invalid --piece-length "3k": must be a power of two/);
  });

  it('-q prints nothing on success; the report is there without it', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const img = join(tmp.dir, 'distro-1.00.iso');
    copyFileSync(fixture('releases', 'distro-1.00.iso'), img);
    const q = cli(['publish', img, '--product', 'distro', '--release', '1.00', '-q', '--home', join(tmp.dir, 'h')]);
    assert.equal(q.status, 0, q.stderr);
    assert.equal(q.stdout + q.stderr, '');
    assert.ok(existsSync(`${img}.torrent`), 'one naming rule: IMAGE.torrent beside the image');
    const loud = cli(['publish', img, '--product', 'distro', '--release', '1.00', '--home', join(tmp.dir, 'h')]);
    assert.match(loud.stdout, /^published distro 1\.00 \(already in the catalog, unchanged\)$/m);
  });

  it('info reads a torrent by URL, as sync does, and from an image URL finds IMAGE.torrent', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const img = join(tmp.dir, 'distro-1.00.iso');
    copyFileSync(fixture('releases', 'distro-1.00.iso'), img);
    assert.equal(cli(['publish', img, '--product', 'distro', '--release', '1.00', '--home', join(tmp.dir, 'h')]).status, 0);
    const server = await startRangeServer({ '/distro-1.00.iso': img, '/distro-1.00.iso.torrent': `${img}.torrent` });
    t.after(() => server.close());
    const local = JSON.parse(cli(['info', `${img}.torrent`, '--json']).stdout);
    for (const url of [`${server.url}/distro-1.00.iso.torrent`, `${server.url}/distro-1.00.iso`]) {
      const r = await cliAsync(['info', url, '--json']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).infoHash, local.infoHash);
    }
  });

  it('prints bash, zsh and fish completion scripts that their shells parse, naming every command', () => {
    for (const shell of ['bash', 'zsh', 'fish'] as const) {
      const r = cli(['completion', shell]);
      assert.equal(r.status, 0, r.stderr);
      for (const c of COMMANDS) assert.ok(r.stdout.includes(c), `${shell}: ${c}`);
      assert.ok(r.stdout.includes('download-limit') && r.stdout.includes('home'), shell);
    }
    assert.equal(cli(['completion', 'tcsh']).status, 2);
  });

  it('has a man page that renders, with every command, the environment and the exit status', () => {
    const r = cli(['manpage']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\.TH ISOSYNC 1 /);
    for (const c of COMMANDS) assert.ok(r.stdout.includes(`.B isosync ${c}`), c);
    for (const s of ['.SH ENVIRONMENT', '.SH EXIT STATUS', '.SH EXAMPLES']) assert.ok(r.stdout.includes(s), s);
    if (hasTool('groff')) {
      const g = spawnSync('groff', ['-man', '-Tutf8', '-ww'], { input: r.stdout, encoding: 'utf8' });
      assert.equal(g.status, 0);
      assert.equal(g.stderr, '', 'groff has no warning');
      assert.match(g.stdout.replace(/.\x08/g, ''), /EXIT STATUS/);
    }
  });

  it('says why it failed in plain words: connection refused, port in use, no such folder (no codes, no temp names)', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const refused = await cliAsync([`http://127.0.0.1:${closed}/distro.iso`, '--home', tmp.dir]);
    assert.equal(refused.status, 1);
    assert.equal(refused.stderr, `isosync: Cannot fetch http://127.0.0.1:${closed}/distro.iso: connection refused\n`);

    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    t.after(() => busy.close());
    const port = (busy.address() as net.AddressInfo).port;
    const used = await cliAsync(['serve', tmp.dir, '--port', String(port), '--home', join(tmp.dir, '.home')]);
    assert.equal(used.status, 1);
    assert.equal(used.stderr, `isosync: Cannot listen on 127.0.0.1:${port}: port ${port} is already in use\n`);

    const img = join(tmp.dir, 'distro-1.00.iso');
    copyFileSync(fixture('releases', 'distro-1.00.iso'), img);
    const out = join(tmp.dir, 'no-such-folder', 'x.torrent');
    const nofolder = cli(['publish', img, '--product', 'distro', '--release', '1.00', '-o', out, '--home', join(tmp.dir, '.home')]);
    assert.equal(nofolder.status, 1);
    assert.equal(nofolder.stderr, `isosync: Cannot write ${JSON.stringify(out)}: no such folder\n`);
  });

  it('checks every sync option and path before a .part exists, and removes a .part that got nothing', async (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    const torrentImg = join(tmp.dir, 'distro-1.01.iso');
    copyFileSync(fixture('releases', 'distro-1.01.iso'), torrentImg);
    assert.equal(cli(['publish', torrentImg, '--product', 'distro', '--release', '1.01', '--home', join(tmp.dir, 'pub')]).status, 0);
    const torrent = `${torrentImg}.torrent`;
    const out = join(tmp.dir, 'out', 'new.iso');
    const before = () => readdirSync(tmp.dir).sort();
    const listing = before();
    const cases: [string[], RegExp][] = [
      [['--from', join(tmp.dir, 'absent.iso')], /^isosync: Cannot use --from ".*absent\.iso": no such file or directory\n$/],
      [['--source', torrent], /^isosync: Cannot use --source ".*": not a folder\n$/],
      [['--peer', 'nohost'], /^isosync: Cannot use peer "nohost": expected HOST:PORT\n$/],
      [['--port', '70000'], /^isosync: Invalid --port "70000": must be at most 65535\n$/],
      [['--mirror', 'gopher://x/'], /^isosync: Invalid mirror "gopher:\/\/x\/": not an http, https or ftp URL\n$/],
      [['--timeout', '0'], /^isosync: Invalid --timeout "0": must be at least 1\n$/],
      [['-o', out], /^isosync: Cannot use -o ".*out": no such file or directory\n$/],
      [['-o', tmp.dir], /^isosync: Cannot write ".*": it is a folder \(give -o a file name\)\n$/],
    ];
    for (const [extra, message] of cases) {
      const r = cli(['sync', torrent, '--no-catalog', '--home', join(tmp.dir, 'user'), ...(extra.includes('-o') ? [] : ['-o', join(tmp.dir, 'new.iso')]), ...extra]);
      assert.equal(r.status, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, extra.join(' '));
      assert.deepEqual(before(), listing, `${extra.join(' ')}: nothing created`);
    }
    // Every web seed fails before any piece arrived: the .part is removed, and nothing claims it was kept.
    const bad = await startRangeServer({}, '404');
    t.after(() => bad.close());
    const r = await cliAsync(['sync', torrent, '--no-catalog', '--home', join(tmp.dir, 'user'), '-o', join(tmp.dir, 'new.iso'), '--web-seed', `${bad.url}/distro-1.01.iso`]);
    assert.equal(r.status, 1);
    assert.doesNotMatch(r.stderr, /kept/);
    assert.equal(existsSync(join(tmp.dir, 'new.iso.part')), false, 'no empty full-size .part left behind');
  });
});

describe('completion scripts in their shells', { skip: needTools('zsh', 'fish') }, () => {
  it('bash, zsh and fish parse them without error', (t) => {
    const tmp = tempDir();
    t.after(tmp.cleanup);
    for (const [shell, check] of [['bash', ['-n']], ['zsh', ['-n']], ['fish', ['--no-execute']]] as const) {
      const file = join(tmp.dir, `isosync.${shell}`);
      writeFileSync(file, cli(['completion', shell]).stdout);
      const r = spawnSync(shell, [...check, file], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
    }
    // bash: the function completes a command name and an option.
    const script = cli(['completion', 'bash']).stdout;
    const probe = `${script}\nCOMP_WORDS=(isosync pub); COMP_CWORD=1; _isosync; echo "\${COMPREPLY[@]}"\nCOMP_WORDS=(isosync sync x --download-l); COMP_CWORD=3; _isosync; echo "\${COMPREPLY[@]}"`;
    const out = spawnSync('bash', ['-c', probe], { encoding: 'utf8', cwd: tmp.dir }).stdout.split('\n');
    assert.equal(out[0], 'publish');
    assert.equal(out[1], '--download-limit');
  });
});
