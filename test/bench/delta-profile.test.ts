/**
 * The delta bench's profile classifier (bench/delta/profile.ts), as tables: frames of the CLI's bundle
 * are given the module they lie in, then put in buckets by their stacks. No profile is recorded here.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { breakdown, bucketOf, launcherOf, mainThreadProfile, moduleUrls, type CpuProfile } from '../../bench/delta/profile.js';

const BUNDLE = 'file:///x/dist/bundle/main.cjs';
/** esbuild's module lines of a made-up bundle: line (0-based) -> module. */
const MARKS = [
  { line: 10, path: 'node_modules/commander/lib/command.js' },
  { line: 100, path: 'dist/src/iso/records.js' },
  { line: 200, path: 'dist/src/webseed/block-filler.js' },
  { line: 300, path: 'dist/src/delta/piece-fill.js' },
  { line: 400, path: 'dist/src/store/direct-writes.js' },
];

/** A profile of one chain of frames per sample, root first: [functionName, url, line][]. */
function profileOf(chains: [string, string, number][][]): CpuProfile {
  const nodes: CpuProfile['nodes'] = [{ id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [] }];
  const samples: number[] = [];
  for (const chain of chains) {
    let parent = nodes[0]!;
    for (const [functionName, url, lineNumber] of chain) {
      const node = { id: nodes.length + 1, callFrame: { functionName, url, lineNumber }, children: [] as number[] };
      nodes.push(node);
      parent.children!.push(node.id);
      parent = node;
    }
    samples.push(parent.id);
  }
  return { nodes, startTime: 0, endTime: chains.length * 1000, samples, timeDeltas: samples.map(() => 1000) };
}

describe('delta bench profile', () => {
  test('bundle frames are given their module, by line', () => {
    const p = moduleUrls(
      profileOf([
        [['a', BUNDLE, 150]],
        [['b', BUNDLE, 200]],
        [['c', BUNDLE, 5]],
        [['d', 'node:fs', 150]],
      ]),
      () => MARKS,
    );
    const urls = p.samples.map((id) => p.nodes.find((n) => n.id === id)!.callFrame.url);
    assert.deepEqual(urls, [`${BUNDLE}#dist/src/iso/records.js`, `${BUNDLE}#dist/src/webseed/block-filler.js`, BUNDLE, 'node:fs']);
  });

  test('in a minified bundle, by line and column', () => {
    const marks = [
      { line: 0, column: 0, path: 'node_modules/commander/lib/command.js' },
      { line: 0, column: 500, path: 'dist/src/iso/records.js' },
      { line: 2, column: 0, path: 'dist/src/webseed/block-filler.js' },
      { line: 2, column: 90, path: 'dist/src/delta/piece-fill.js' },
    ];
    const frame = (id: number, line: number, column?: number) => ({ id, callFrame: { functionName: 'f', url: BUNDLE, lineNumber: line, ...(column === undefined ? {} : { columnNumber: column }) } });
    const nodes = [frame(1, 0, 499), frame(2, 0, 500), frame(3, 1, 3), frame(4, 2, 89), frame(5, 2, 4000), frame(6, 2)];
    const p = moduleUrls({ nodes, startTime: 0, endTime: 0, samples: [], timeDeltas: [] }, () => marks);
    assert.deepEqual(
      p.nodes.map((n) => n.callFrame.url.slice(BUNDLE.length + 1)),
      ['node_modules/commander/lib/command.js', 'dist/src/iso/records.js', 'dist/src/iso/records.js', 'dist/src/webseed/block-filler.js', 'dist/src/delta/piece-fill.js', 'dist/src/delta/piece-fill.js'],
    );
  });

  const cases: [string, [string, number][], string][] = [
    ['ISO walk', [['walk', 150]], 'planning'],
    ['web seed block', [['put', 250]], 'network'],
    ['piece fill', [['fillSegments', 310]], 'copying'],
    ['O_DIRECT write', [['write', 410]], 'writing'],
    ['commander at start', [['parse', 20]], 'start-up'],
    ['a read under the ISO walk', [['walk', 150], ['readFullyInto', 150]], 'reading'],
  ];
  for (const [name, chain, want] of cases) {
    test(`${name}: ${want}`, () => {
      const p = moduleUrls(profileOf([chain.map(([f, line]) => [f, BUNDLE, line])]), () => MARKS);
      const byId = new Map(p.nodes.map((n) => [n.id, n]));
      const parent = new Map<number, number>();
      for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
      const stack = [];
      for (let at: number | undefined = p.samples[0]; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!.callFrame);
      assert.equal(bucketOf(stack), want);
    });
  }

  test('without module urls a bundle frame is "other"', () => {
    const raw = profileOf([[['walk', BUNDLE, 150]]]);
    assert.equal(breakdown(raw).seconds.other, 0.001);
    assert.equal(breakdown(moduleUrls(raw, () => MARKS)).seconds.planning, 0.001);
  });

  // File names as node --cpu-prof writes them: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile, thread 0 the main one.
  const cases2: [string, string[], string | undefined][] = [
    ['the main thread, listed after a worker', ['CPU.20261203.100953.2243.1.002.cpuprofile', 'CPU.20261203.100953.2243.0.001.cpuprofile'], 'CPU.20261203.100953.2243.0.001.cpuprofile'],
    ['the main thread among other files', ['main-thread-cpu.txt', 'CPU.20261203.100953.2243.0.001.cpuprofile', 'hook.cjs'], 'CPU.20261203.100953.2243.0.001.cpuprofile'],
    ['a lone profile of another name', ['x.cpuprofile'], 'x.cpuprofile'],
    ['two profiles, neither of thread 0', ['CPU.1.2.3.1.001.cpuprofile', 'CPU.1.2.3.2.002.cpuprofile'], undefined],
    ['none', ['a.txt'], undefined],
  ];
  for (const [name, files, want] of cases2) test(`main-thread profile: ${name}`, () => assert.equal(mainThreadProfile(files), want));

  test('the launcher\'s flags and malloc settings, from its /bin/sh line or a #! line', () => {
    const sh = `#!/bin/sh\n':' //; ISOSYNC_DEFERRED_CA_CERTS=\${NODE_EXTRA_CA_CERTS-}; unset NODE_EXTRA_CA_CERTS; export ISOSYNC_DEFERRED_CA_CERTS MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072; exec node --max-semi-space-size=2 "$0" "$@"\n// a comment\n`;
    assert.deepEqual(launcherOf(sh), { flags: ['--max-semi-space-size=2'], env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' } });
    assert.deepEqual(launcherOf('#!/usr/bin/env -S node --max-semi-space-size=4 --stack-size=900\n'), { flags: ['--max-semi-space-size=4', '--stack-size=900'], env: {} });
    assert.deepEqual(launcherOf('#!/usr/bin/env node\n'), { flags: [], env: {} });
  });
});
