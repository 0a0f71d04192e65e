/**
 * Writing path tables (ECMA-119 §9.4): one record per directory in the
 * order the caller gives (breadth first, children of a directory in §9.3
 * identifier order, which makes every parent number smaller than its
 * child's), as an L table (little endian) and an M table (big endian) with
 * the reader's field tables. Pure.
 */
import { putNum } from './encode.js';
import { PATH_RECORD_L, PATH_RECORD_M } from './path-tables.js';

export interface PathRecordSpec {
  /** Identifier bytes; the root's is [0]. */
  readonly id: Uint8Array;
  /** 1-based number of the parent record (the root is its own parent). */
  readonly parent: number;
}

/** Bytes of the table (without padding to a block). */
export function pathTableBytes(records: readonly PathRecordSpec[]): number {
  let n = 0;
  for (const r of records) n += PATH_RECORD_L.identifier.at + r.id.length + (r.id.length % 2);
  return n;
}

/** The L or M table; `lbas[i]` is the extent of record i. */
export function encodePathTable(records: readonly PathRecordSpec[], lbas: readonly number[], kind: 'L' | 'M'): Uint8Array {
  const layout = kind === 'L' ? PATH_RECORD_L : PATH_RECORD_M;
  const out = new Uint8Array(pathTableBytes(records));
  let pos = 0;
  records.forEach((r, i) => {
    putNum(out, pos, layout.identifierLength, r.id.length);
    putNum(out, pos, layout.extAttrLength, 0);
    putNum(out, pos, layout.extentLba, lbas[i]!);
    putNum(out, pos, layout.parent, r.parent);
    out.set(r.id, pos + layout.identifier.at);
    pos += layout.identifier.at + r.id.length + (r.id.length % 2);
  });
  return out;
}
