/**
 * The interop matrix (one column per counterpart): which cells each column
 * runs, and how a test file runs its column inside a private network
 * namespace and turns every cell into a test.
 *
 * Cells: v1 torrents both ways through an isosync tracker and through
 * opentracker; hybrid and v2-only torrents both ways through an isosync
 * tracker, where the counterpart takes them. A cell marked unsupported checks the
 * limitation instead of a transfer (see matrix-child.ts).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fixture, needTools, ROOT, tempDir } from '../helpers/env.js';
import type { Cell, CellResult } from './matrix-child.js';

/** isosync's and the tracker's address in the namespace (the counterpart's is 10.77.0.2): not 127/8, which Transmission never connects to. */
export const MATRIX_HOST = '10.77.0.1';
const SETUP = `ip link set lo up && ip link add va type veth peer name vb && ip addr add ${MATRIX_HOST}/24 dev va && ip link set va up`;

export interface Column {
  readonly client: 'libtorrent' | 'aria2c' | 'transmission' | 'qbittorrent' | 'rtorrent';
  readonly tools: readonly string[];
  /** Who cannot do hybrid and v2-only torrents (undefined: both sides can). */
  readonly hybrid?: 'counterpart' | 'isosync';
  readonly v2?: 'counterpart' | 'isosync';
  /** The client can leech from a magnet link: a cell where it gets the info dictionary from isosync seed (ut_metadata). */
  readonly magnet?: boolean;
}

export function cellsOf(c: Column): Cell[] {
  const cells: Cell[] = [];
  for (const tracker of ['isosync', 'opentracker'] as const) {
    for (const direction of ['leech-from-isosync', 'seed-to-isosync'] as const) cells.push({ version: 'v1', tracker, direction });
  }
  if (c.hybrid) cells.push({ version: 'hybrid', tracker: 'isosync', direction: 'leech-from-isosync', unsupported: c.hybrid });
  else for (const direction of ['leech-from-isosync', 'seed-to-isosync'] as const) cells.push({ version: 'hybrid', tracker: 'isosync', direction });
  if (c.v2) cells.push({ version: 'v2', tracker: 'isosync', direction: 'leech-from-isosync', unsupported: c.v2 });
  else for (const direction of ['leech-from-isosync', 'seed-to-isosync'] as const) cells.push({ version: 'v2', tracker: 'isosync', direction });
  if (c.magnet) cells.push({ version: 'v1', tracker: 'isosync', direction: 'magnet-from-isosync' });
  return cells;
}

export function cellName(c: Cell): string {
  const what = { 'leech-from-isosync': 'leeches from isosync seed', 'seed-to-isosync': 'seeds to isosync sync', 'magnet-from-isosync': 'leeches a magnet link (metadata and image) from isosync seed' }[c.direction];
  return c.unsupported ? `${c.version}: not supported by ${c.unsupported === 'isosync' ? 'isosync yet' : 'the counterpart'} (checked)` : `${c.version}, ${c.tracker} tracker: ${what}, bit-identical`;
}

function netnsNote(): string | false {
  if (process.getuid?.() !== 0) return 'needs root for a private network namespace (unshare -n)';
  const r = spawnSync('unshare', ['-n', 'sh', '-c', SETUP], { stdio: 'ignore' });
  return r.status === 0 ? false : 'needs unshare -n, ip and veth pairs for private network namespaces';
}

/** Declares the column's tests: one per cell, all run by one child in a namespace. */
export function matrixColumn(c: Column): void {
  const skip = needTools(...c.tools, 'opentracker') || netnsNote();
  describe(`interop matrix: ${c.client}`, { skip }, () => {
    const cells = cellsOf(c);
    const results = new Map<string, CellResult>();
    let version = '';
    let failure = '';
    before(async () => {
      const tmp = tempDir(`isosync-matrix-${c.client}-`);
      const child = join(ROOT, 'dist', 'test', 'interop', 'matrix-child.js');
      const args = ['-n', 'sh', '-c', `${SETUP} && exec "$0" "$@"`, process.execPath, child, c.client, MATRIX_HOST, tmp.dir, fixture('releases', 'distro-1.01.iso'), JSON.stringify(cells)];
      const p = spawn('unshare', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ISOSYNC_NETNS_CHILD: 'matrix' } });
      let out = '';
      let err = '';
      p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      p.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-5000)));
      const timer = setTimeout(() => p.kill('SIGKILL'), 15 * 60_000);
      await new Promise((r) => p.on('close', r));
      clearTimeout(timer);
      tmp.cleanup();
      for (const line of out.split('\n').filter((l) => l.startsWith('{'))) {
        const j = JSON.parse(line) as CellResult | { clientVersion: string };
        if ('direction' in j) results.set(cellName(j), j);
        else version = j.clientVersion;
      }
      if (results.size < cells.length) failure = `the matrix child stopped early: ${err}`;
    });
    for (const cell of cells) {
      it(cellName(cell), () => {
        const r = results.get(cellName(cell));
        assert.ok(r, failure || 'no result for this cell');
        assert.ok(r.ok, `${c.client} ${version}: ${r.detail}`);
        process.stderr.write(`# matrix ${c.client} (${version}): ${cellName(cell)}: ${r.detail.split('\n')[0]}\n`);
      });
    }
  });
}
