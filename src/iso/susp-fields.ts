/**
 * The field tables of the SUSP and Rock Ridge entries (SUSP 1.12, RRIP 1.12):
 * where each field sits in its entry, for the reader (susp.ts) and the writer
 * (susp-write.ts).
 */
import type { Field } from './fields.js';

/** SUSP §4.1 entry header. */
export const SUSP_ENTRY = {
  signature: { at: 0, kind: 'bytes', len: 2 },
  length: { at: 2, kind: 'u8' },
  version: { at: 3, kind: 'u8' },
} as const satisfies Record<string, Field>;

/** SUSP §5.3 SP: check bytes 0xBE 0xEF, then the bytes to skip. */
export const SP = { check1: { at: 4, kind: 'u8' }, check2: { at: 5, kind: 'u8' }, skip: { at: 6, kind: 'u8' } } as const satisfies Record<string, Field>;
/** SUSP §5.1 CE: where the continuation area is. */
export const CE = { blockLba: { at: 4, kind: 'u32both' }, offset: { at: 12, kind: 'u32both' }, length: { at: 20, kind: 'u32both' } } as const satisfies Record<string, Field>;
/** SUSP §5.5 ER. */
export const ER = { idLength: { at: 4, kind: 'u8' }, descLength: { at: 5, kind: 'u8' }, srcLength: { at: 6, kind: 'u8' }, version: { at: 7, kind: 'u8' }, id: { at: 8, kind: 'bytes' } } as const satisfies Record<string, Field>;
/** RRIP §4.1.1 PX; `serial` only when the entry is 44 bytes long (RRIP 1.12). */
export const PX = {
  mode: { at: 4, kind: 'u32both' }, nlink: { at: 12, kind: 'u32both' }, uid: { at: 20, kind: 'u32both' }, gid: { at: 28, kind: 'u32both' }, serial: { at: 36, kind: 'u32both' },
} as const satisfies Record<string, Field>;
/** RRIP §4.1.3 SL: entry flags, then component records (flags, length, content). */
export const SL = { flags: { at: 4, kind: 'u8' }, components: { at: 5, kind: 'bytes' } } as const satisfies Record<string, Field>;
export const SL_COMPONENT = { flags: { at: 0, kind: 'u8' }, length: { at: 1, kind: 'u8' }, content: { at: 2, kind: 'bytes' } } as const satisfies Record<string, Field>;
/** RRIP §4.1.4 NM. */
export const NM = { flags: { at: 4, kind: 'u8' }, name: { at: 5, kind: 'bytes' } } as const satisfies Record<string, Field>;
/** RRIP §4.1.5.1 CL and §4.1.5.2 PL: the location of the relocated child / original parent. */
export const CL_PL = { lba: { at: 4, kind: 'u32both' } } as const satisfies Record<string, Field>;
/** RRIP §4.1.6 TF: flags, then the time stamps selected by flags, in bit order. */
export const TF = { flags: { at: 4, kind: 'u8' }, stamps: { at: 5, kind: 'bytes' } } as const satisfies Record<string, Field>;
