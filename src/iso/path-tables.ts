/**
 * Path tables (ECMA-119 §9.4): every directory once, in breadth-first
 * order, each naming its parent by 1-based record number. The L table is
 * little endian (§9.4.3, §7.3.1), the M table big endian. The reader does
 * not need them to list the tree, but parses and checks them so that the
 * region map can attribute their sectors and a broken table is reported.
 */
import { IsoContext, LIMITS } from './context.js';
import type { PathTable, PathTableRecord } from './entry.js';
import { type Field, num } from './fields.js';
import { isoName, jolietName } from './tree.js';

/** ECMA-119 §9.4 path table record, L-form; the M-form has the same offsets big endian. */
export const PATH_RECORD_L = {
  identifierLength: { at: 0, kind: 'u8' },
  extAttrLength: { at: 1, kind: 'u8' },
  extentLba: { at: 2, kind: 'u32le' },
  parent: { at: 6, kind: 'u16le' },
  identifier: { at: 8, kind: 'bytes' }, // padded to an even length (§9.4.7)
} as const satisfies Record<string, Field>;
export const PATH_RECORD_M = {
  ...PATH_RECORD_L,
  extentLba: { at: 2, kind: 'u32be' },
  parent: { at: 6, kind: 'u16be' },
} as const satisfies Record<string, Field>;

export async function readPathTable(
  ctx: IsoContext, volume: 'primary' | 'joliet', kind: PathTable['kind'], lba: number, size: number, blockSize: number,
): Promise<PathTable> {
  const start = lba * blockSize;
  const where = `${kind} path table of the ${volume} volume at byte ${start}`;
  if (size > LIMITS.pathTableBytes) ctx.fail(`${where} claims ${size} bytes, more than the limit of ${LIMITS.pathTableBytes}`, { offset: start });
  if (start + size > ctx.size) ctx.fail(`${where} (${size} bytes) lies beyond the end of the image (${ctx.size} bytes)`, { offset: start });
  const b = await ctx.read(start, size, `${kind} path table`);
  const layout = kind.startsWith('L') ? PATH_RECORD_L : PATH_RECORD_M;
  const records: PathTableRecord[] = [];
  let pos = 0;
  while (pos + 8 <= size) {
    const idLen = num(b, pos, layout.identifierLength);
    if (idLen === 0) break; // trailing zero padding
    const end = pos + 8 + idLen + (idLen % 2);
    if (pos + 8 + idLen > size) ctx.fail(`${where}: record ${records.length + 1} at byte ${start + pos} runs past the table's ${size} bytes`, { offset: start + pos });
    const parent = num(b, pos, layout.parent);
    const n = records.length + 1;
    if (parent < 1 || parent > n) ctx.fail(`${where}: record ${n} at byte ${start + pos} names parent ${parent}, which is not an earlier record`, { offset: start + pos });
    const id = b.subarray(pos + 8, pos + 8 + idLen);
    records.push({
      name: n === 1 ? '' : volume === 'joliet' ? jolietName(id) : isoName(id),
      lba: num(b, pos, layout.extentLba) + num(b, pos, layout.extAttrLength),
      parent,
    });
    pos = end;
  }
  if (records.length === 0) ctx.fail(`${where} has no root record`, { offset: start });
  return { volume, kind, lba, size, records };
}

/** Checks that the L and M copies of one volume's path table agree. */
export function checkPathTablesAgree(ctx: IsoContext, l: PathTable, m: PathTable): void {
  const n = Math.max(l.records.length, m.records.length);
  for (let i = 0; i < n; i++) {
    const a = l.records[i], b = m.records[i];
    if (!a || !b || a.lba !== b.lba || a.parent !== b.parent || a.name !== b.name) {
      ctx.fail(`the L and M path tables of the ${l.volume} volume (at blocks ${l.lba} and ${m.lba}) disagree at record ${i + 1}`, { block: l.lba });
    }
  }
}
