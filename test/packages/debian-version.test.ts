/**
 * Debian version parsing and ordering: dpkg's own test cases, then agreement
 * with `dpkg --compare-versions` (the oracle) on real versions from the
 * machine's apt lists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { compareDebianVersions, parseDebianVersion } from '../../src/packages/debian-version.js';
import { field, parseDeb822 } from '../../src/packages/deb822.js';
import { IsosyncError } from '../../src/errors.js';
import { needTools } from '../helpers/env.js';
import { mulberry32 } from '../helpers/random.js';

// [a, b, expected]; the first group follows dpkg's lib/dpkg/t/t-version.c.
const CASES: Array<[string, string, -1 | 0 | 1]> = [
  ['0', '0:0', 0], ['0:0-0', '0-0', 0], ['0:0.0-0.0', '0.0-0.0', 0],
  ['0-00', '00-0', 0], ['1:2-3', '1:2-3', 0],
  ['0-0', '1:0-0', -1], ['1:0-0', '0-0', 1],
  ['a-0', 'b-0', -1], ['0-a', '0-b', -1],
  ['0:0-0-0', '0-0-0', 0], ['0:0:0-0', '0:0:0-0', 0],
  // ~ sorts before everything, even the end of the string
  ['1.0~rc1', '1.0', -1], ['1.0~~', '1.0~', -1], ['1.0~~a', '1.0~~', 1], ['1.0~', '1.0', -1],
  ['1.0~rc1-1', '1.0-1', -1], ['1.0-1~bpo1', '1.0-1', -1],
  // letters before non-letters, digits runs numerically
  ['1.0a', '1.0+', -1], ['1.0a', '1.0.', -1], ['1.0+', '1.0.', -1], ['1.0', '1.0a', -1],
  ['1.2', '1.10', -1], ['1.002', '1.2', 0], ['1.0', '1.00', 0], ['10', '9', 1],
  ['1.123456789012345678901234567890', '1.123456789012345678901234567891', -1],
  // epochs dominate; revision after upstream; last hyphen splits
  ['1:1.0', '2.0', 1], ['2:0.1', '10:0.1', -1], ['1.0-2', '1.0-10', -1], ['1.0-1-1', '1.0-1-2', -1],
  ['1.0-1', '1.0', 1], ['1.0', '1.0-0', 0],
];

test('Debian ordering follows dpkg on known cases, both ways round', () => {
  const wrong: string[] = [];
  for (const [a, b, want] of CASES) {
    if (compareDebianVersions(a, b) !== want) wrong.push(`${a} vs ${b}: ${compareDebianVersions(a, b)}, want ${want}`);
    if (compareDebianVersions(b, a) !== -want) wrong.push(`${b} vs ${a}: ${compareDebianVersions(b, a)}, want ${-want}`);
  }
  assert.deepEqual(wrong, []);
});

test('Debian versions split into epoch, upstream and revision as dpkg splits them', () => {
  assert.deepEqual(parseDebianVersion('  1:2.0-3-4\t'), { text: '1:2.0-3-4', epoch: 1, upstream: '2.0-3', revision: '4' });
  assert.deepEqual(parseDebianVersion('0:0:0-0'), { text: '0:0:0-0', epoch: 0, upstream: '0:0', revision: '0' });
  assert.deepEqual(parseDebianVersion('0:09azAZ.-+~:-0'), { text: '0:09azAZ.-+~:-0', epoch: 0, upstream: '09azAZ.-+~:', revision: '0' });
  assert.deepEqual(parseDebianVersion('+1:2'), { text: '+1:2', epoch: 1, upstream: '2', revision: '' });
});

test('Debian versions dpkg refuses give one-line errors naming the version and the reason', () => {
  const refused: Array<[string, string]> = [
    ['', 'version string is empty'], ['  ', 'version string is empty'],
    ['1:', 'nothing after colon in version number'], ['0:0 0-1', 'version string has embedded spaces'],
    ['-1:0-1', 'epoch in version is negative'], ['999999999999999999999999:0-1', 'epoch in version is too big'],
    ['a:0-0', 'epoch in version is empty'], ['1a:0-0', 'epoch in version is not number'],
    ['-0', 'version number is empty'], ['0:-0', 'version number is empty'], ['1.0-', 'revision number is empty'],
  ];
  for (const [v, why] of refused) {
    assert.throws(() => parseDebianVersion(v), (e: unknown) => {
      assert.ok(e instanceof IsosyncError);
      assert.equal(e.code, 'BAD_PACKAGE');
      assert.equal(e.message, `Cannot parse Debian version ${JSON.stringify(v)}: ${why}`);
      return true;
    });
  }
});

test('versions dpkg only warns about compare, and are refused in strict mode', () => {
  for (const [v, why] of [['0:abc3-0', 'version number does not start with digit'], ['0:0_a-0', 'invalid character in version number'], ['0:0-0:0', 'invalid character in revision number']] as const) {
    assert.equal(parseDebianVersion(v).warning, why);
    assert.throws(() => parseDebianVersion(v, { strict: true }), new RegExp(`: ${why}$`));
  }
});

/** Every Version field of the machine's apt lists, with its package name. */
function aptListVersions(): Array<{ pkg: string; version: string }> {
  const dir = '/var/lib/apt/lists';
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => /_Packages(\.\w+)?$/.test(f)).map((f) => `${dir}/${f}`);
  } catch {
    return [];
  }
  if (files.length === 0) return [];
  // apt-helper decompresses whatever apt stored (lz4, gz, xz, zst, plain).
  const r = spawnSync('/usr/lib/apt/apt-helper', ['cat-file', ...files], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) return [];
  const out: Array<{ pkg: string; version: string }> = [];
  for (const s of parseDeb822(r.stdout, 'apt lists')) {
    const pkg = field(s, 'Package');
    const version = field(s, 'Version');
    if (pkg && version) out.push({ pkg, version });
  }
  return out;
}

const rng = mulberry32;

/** Asks dpkg for each pair: one `sh` per batch running dpkg --compare-versions, batches in parallel. */
async function dpkgOrder(pairs: Array<[string, string]>): Promise<Array<-1 | 0 | 1>> {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const BATCHES = 4;
  const size = Math.ceil(pairs.length / BATCHES);
  const runs: Array<Promise<Array<-1 | 0 | 1>>> = [];
  for (let b = 0; b < BATCHES; b++) {
    const part = pairs.slice(b * size, (b + 1) * size);
    const script = part.map(([x, y]) =>
      `if dpkg --compare-versions ${q(x)} lt ${q(y)}; then echo lt; elif dpkg --compare-versions ${q(x)} eq ${q(y)}; then echo eq; elif dpkg --compare-versions ${q(x)} gt ${q(y)}; then echo gt; else echo err; fi`).join('\n');
    runs.push(new Promise((resolve, reject) => {
      const child = spawn('sh', ['-s'], { stdio: ['pipe', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.on('error', reject);
      child.on('close', () => {
        const lines = out.trim().split('\n');
        if (lines.length !== part.length || lines.includes('err')) reject(new Error(`dpkg batch gave ${lines.length} answers for ${part.length} pairs`));
        else resolve(lines.map((l) => (l === 'lt' ? -1 : l === 'eq' ? 0 : 1)));
      });
      child.stdin.end(`${script}\n`);
    }));
  }
  return (await Promise.all(runs)).flat();
}

test('Debian ordering agrees with dpkg --compare-versions on real version pairs from the apt lists', { skip: needTools('dpkg'), timeout: 300_000 }, async (t) => {
  const all = aptListVersions();
  const distinct = [...new Set(all.map((v) => v.version))].filter((v) => parseDebianVersion(v).warning === undefined);
  if (distinct.length < 1000) {
    t.skip(`only ${distinct.length} versions in /var/lib/apt/lists (run apt-get update for the interop check)`);
    return;
  }
  const random = rng(7);
  const shuffled = [...distinct].sort();
  for (let i = shuffled.length - 1; i > 0; i--) {
    const k = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[k]] = [shuffled[k]!, shuffled[i]!];
  }
  const pairs: Array<[string, string]> = [];
  // Adjacent in the seeded shuffle: mostly unrelated versions.
  for (let i = 0; i + 1 < shuffled.length && pairs.length < 1500; i += 2) pairs.push([shuffled[i]!, shuffled[i + 1]!]);
  // Same package, different versions (bookworm vs -updates / -security): the close calls.
  const byPkg = new Map<string, Set<string>>();
  for (const { pkg, version } of all) (byPkg.get(pkg) ?? byPkg.set(pkg, new Set()).get(pkg)!).add(version);
  for (const versions of byPkg.values()) {
    const vs = [...versions];
    for (let i = 0; i + 1 < vs.length; i++) pairs.push([vs[i]!, vs[i + 1]!], [vs[i + 1]!, vs[i]!]);
  }
  // Same upstream with and without an explicit zero epoch, and with ~ appended: equality and tilde paths.
  for (const v of shuffled.slice(0, 200)) {
    if (!v.includes(':')) pairs.push([v, `0:${v}`]);
    pairs.push([`${v}~`, v]);
  }
  const want = await dpkgOrder(pairs);
  const disagree = pairs.map(([a, b], i) => ({ a, b, ours: compareDebianVersions(a, b), dpkg: want[i] }))
    .filter((r) => r.ours !== r.dpkg);
  assert.ok(pairs.length >= 1000, `${pairs.length} pairs`);
  assert.ok(want.includes(-1) && want.includes(0) && want.includes(1), 'pairs cover lt, eq and gt');
  assert.deepEqual(disagree.slice(0, 10), []);
  t.diagnostic(`${pairs.length} pairs from ${distinct.length} versions agree with dpkg`);
});
