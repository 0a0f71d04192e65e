/**
 * One-line scenarios for the scheduler's table tests, in the manner of
 * libtorrent's `setup_picker("2223333", "* * *  ")`.
 *
 *   sources  'A=##.. B=..##/1c S=#### W=web/3'
 *            one word per source: a name, then per piece '#' (has it) or '.'
 *            (lacks it), or `web` (a web seed: has every piece). After '/':
 *            a number of free slots (peers: blocks, default 4; web seeds: the
 *            blocks one request may hold, default 8), 'c' (chokes us), 'k'
 *            (has not kept up: a timeout since its last block), 's' (a strike),
 *            'qN' (a web seed's queue: N blocks in this and its next requests,
 *            default none beyond this turn's request), 'rN' (its measured
 *            rate, N MiB/s; default not measured yet), 'fN' (N blocks asked
 *            of it and not answered; default none).
 *            A peer with every piece is a seed.
 *   wanted   '2 1 0 3': blocks wanted per piece (16 KiB blocks from offset 0),
 *            oldest first in piece order; a block may be marked asked of a
 *            source with `asked: { 'A': ['0.0'] }`.
 *   asks     rendered 'A:0.0,0.1 B:2.0' (piece.block), sources in the order asked.
 */
import { pieceIndex, type PieceIndex } from '../../src/core/ids.js';
import { BLOCK_BYTES, type Block } from '../../src/engine/block.js';
import { RequestBook } from '../../src/engine/request-book.js';
import type { Ask, SourceView } from '../../src/engine/scheduler.js';

export const PIECE = 4 * BLOCK_BYTES;

export function sources(spec: string): SourceView<string>[] {
  return spec
    .trim()
    .split(/\s+/)
    .map((word) => {
      const m = /^(\w+)=([#.]+|web)(?:\/(\d*)((?:q\d+|r\d+|f\d+|[cks])*))?$/.exec(word);
      if (!m) throw new Error(`bad source ${word}`);
      const [, name, have, slots, flags = ''] = m;
      const web = have === 'web';
      const n = slots ? Number(slots) : web ? 8 : 4;
      const ready = !flags.includes('c');
      const q = /q(\d+)/.exec(flags);
      const queue = q ? { queue: Number(q[1]) * BLOCK_BYTES } : {};
      const r = /r(\d+)/.exec(flags);
      const f = /f(\d+)/.exec(flags);
      return {
        handle: name!,
        kind: web ? 'web' : 'peer',
        complete: web || !have!.includes('.'),
        ready,
        capacity: ready ? (web ? { blocks: Infinity, bytes: n * BLOCK_BYTES, runs: 48, ...queue } : { blocks: n, bytes: Infinity, runs: Infinity }) : { blocks: 0, bytes: 0, runs: 0 },
        has: (p: PieceIndex) => web || have![p] === '#',
        strikes: flags.includes('s') ? 1 : 0,
        keepsUp: !flags.includes('k'),
        rate: r ? Number(r[1]) * 1024 * 1024 : undefined,
        inFlight: f ? Number(f[1]) * BLOCK_BYTES : 0,
      } satisfies SourceView<string>;
    });
}

export function block(name: string): Block {
  const [p, b] = name.split('.').map(Number);
  return { piece: pieceIndex(p!), offset: b! * BLOCK_BYTES, length: BLOCK_BYTES };
}

/** A book wanting `wanted` ('2 1 0 3'), with `asked` blocks marked asked of a source at time 0; blocks of `ahead` pieces are wanted ahead (look-ahead took them). */
export function book(wanted: string, asked: Record<string, string[]> = {}, ahead: (p: number) => boolean = () => false): RequestBook<string> {
  const b = new RequestBook<string>();
  wanted.trim().split(/\s+/).forEach((n, p) => {
    for (let i = 0; i < Number(n); i++) b.want(block(`${p}.${i}`), ahead(p));
  });
  for (const [h, list] of Object.entries(asked)) for (const x of list) b.asked(block(x), h, 0);
  return b;
}

export function render(asks: readonly Ask<string>[]): string {
  return asks.map((a) => `${a.handle}:${a.blocks.map((b) => `${b.piece}.${b.offset / BLOCK_BYTES}`).join(',')}`).join(' ');
}
