/**
 * A tiny ISO 9660 writer for unit tests: it lays out exactly the records a
 * test describes (ECMA-119 §8.4 primary descriptor, §9.1 directory records,
 * SUSP/Rock Ridge entries as raw bytes), so tests can build structures real
 * tools never emit on demand (multi-extent records, relocated directories,
 * SL component flags, 44-byte PX, long-form TF) and feed them to readIso
 * through a MemorySource.
 */
const SECTOR = 2048;

export interface TinyRecord {
  /** ISO identifier as written (e.g. "FILE.TXT;1"); Joliet trees pass UCS-2 via `idBytes`. */
  id?: string;
  idBytes?: Uint8Array;
  lba: number;
  size: number;
  flags?: number;
  su?: Uint8Array;
  /** 7-byte recording date; default 2023-11-14 22:13:20 GMT. */
  date?: number[];
}

export interface TinyDir {
  lba: number;
  /** Records after "." and ".."; `dotSu` goes into ".". */
  records: TinyRecord[];
  dotSu?: Uint8Array;
  parentLba?: number;
  sectors?: number;
  /** Data length recorded for the directory (default: its whole sectors). */
  bytes?: number;
}

export interface TinyIso {
  totalSectors: number;
  root: TinyDir;
  dirs?: TinyDir[];
  joliet?: TinyDir & { extraDirs?: TinyDir[] };
  data?: { lba: number; bytes: Uint8Array }[];
  /** Raw patches applied last. */
  patches?: { at: number; bytes: Uint8Array }[];
}

export function both32(v: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, v, true);
  dv.setUint32(4, v, false);
  return b;
}

function both16(v: number): Uint8Array {
  const b = new Uint8Array(4);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, v, true);
  dv.setUint16(2, v, false);
  return b;
}

const DEFAULT_DATE = [123, 11, 14, 22, 13, 20, 0];

export function record(r: TinyRecord): Uint8Array {
  const id = r.idBytes ?? new TextEncoder().encode(r.id ?? '');
  const pad = id.length % 2 === 0 ? 1 : 0;
  const su = r.su ?? new Uint8Array(0);
  const len = 33 + id.length + pad + su.length;
  const b = new Uint8Array(len);
  b[0] = len;
  b.set(both32(r.lba), 2);
  b.set(both32(r.size), 10);
  b.set(r.date ?? DEFAULT_DATE, 18);
  b[25] = r.flags ?? 0;
  b.set(both16(1), 28);
  b[32] = id.length;
  b.set(id, 33);
  b.set(su, 33 + id.length + pad);
  return b;
}

function dirBytes(d: TinyDir): Uint8Array {
  const sectors = d.sectors ?? 1;
  const out = new Uint8Array(sectors * SECTOR);
  const all = [
    record({ idBytes: new Uint8Array([0]), lba: d.lba, size: d.bytes ?? sectors * SECTOR, flags: 2, ...(d.dotSu ? { su: d.dotSu } : {}) }),
    record({ idBytes: new Uint8Array([1]), lba: d.parentLba ?? d.lba, size: SECTOR, flags: 2 }),
    ...d.records.map(record),
  ];
  let pos = 0;
  for (const r of all) {
    if ((pos % SECTOR) + r.length > SECTOR) pos = Math.ceil(pos / SECTOR) * SECTOR; // records never cross a sector
    out.set(r, pos);
    pos += r.length;
  }
  return out;
}

function descriptor(type: number, rootDir: TinyDir, totalSectors: number, joliet: boolean): Uint8Array {
  const b = new Uint8Array(SECTOR);
  b[0] = type;
  b.set(new TextEncoder().encode('CD001'), 1);
  b[6] = 1;
  b.fill(0x20, 8, 72);
  b.set(new TextEncoder().encode('TINY'), 40);
  b.set(both32(totalSectors), 80);
  if (joliet) b.set(new TextEncoder().encode('%/E'), 88);
  b.set(both16(1), 120);
  b.set(both16(1), 124);
  b.set(both16(SECTOR), 128);
  b.set(both32(0), 132); // no path tables
  b.set(record({ idBytes: new Uint8Array([0]), lba: rootDir.lba, size: rootDir.bytes ?? (rootDir.sectors ?? 1) * SECTOR, flags: 2 }), 156);
  b[881] = 1;
  return b;
}

export function buildIso(spec: TinyIso): Uint8Array {
  const img = new Uint8Array(spec.totalSectors * SECTOR);
  img.set(descriptor(1, spec.root, spec.totalSectors, false), 16 * SECTOR);
  let next = 17;
  if (spec.joliet) img.set(descriptor(2, spec.joliet, spec.totalSectors, true), SECTOR * next++);
  const term = new Uint8Array(SECTOR);
  term[0] = 255;
  term.set(new TextEncoder().encode('CD001'), 1);
  term[6] = 1;
  img.set(term, SECTOR * next);
  for (const d of [spec.root, ...(spec.dirs ?? []), ...(spec.joliet ? [spec.joliet, ...(spec.joliet.extraDirs ?? [])] : [])]) img.set(dirBytes(d), d.lba * SECTOR);
  for (const x of spec.data ?? []) img.set(x.bytes, x.lba * SECTOR);
  for (const p of spec.patches ?? []) img.set(p.bytes, p.at);
  return img;
}

/** A SUSP entry: signature, length, version 1, data (SUSP §4.1). */
export function entry(sig: string, data: number[] | Uint8Array): Uint8Array {
  const d = data instanceof Uint8Array ? data : new Uint8Array(data);
  const b = new Uint8Array(4 + d.length);
  b.set(new TextEncoder().encode(sig), 0);
  b[2] = b.length;
  b[3] = 1;
  b.set(d, 4);
  return b;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const susp = {
  sp: () => entry('SP', [0xbe, 0xef, 0]),
  er: () => entry('ER', [10, 0, 0, 1, ...new TextEncoder().encode('RRIP_1991A')]),
  nm: (name: string, flags = 0) => entry('NM', [flags, ...new TextEncoder().encode(name)]),
  px: (mode: number, nlink = 1, serial?: number) =>
    entry('PX', concat(both32(mode), both32(nlink), both32(0), both32(0), ...(serial !== undefined ? [both32(serial)] : []))),
  /** SL with components [flags, text]. */
  sl: (components: [number, string][], flags = 0) =>
    entry('SL', [flags, ...components.flatMap(([f, t]) => {
      const b = new TextEncoder().encode(t);
      return [f, b.length, ...b];
    })]),
  tfShort: (flags: number, ...dates: number[][]) => entry('TF', [flags, ...dates.flat()]),
  tfLong: (flags: number, ...dates: string[]) => entry('TF', [flags | 0x80, ...dates.flatMap((d) => [...new TextEncoder().encode(d), 0])]),
  cl: (lba: number) => entry('CL', both32(lba)),
  pl: (lba: number) => entry('PL', both32(lba)),
  re: () => entry('RE', []),
  ce: (lba: number, offset: number, length: number) => entry('CE', concat(both32(lba), both32(offset), both32(length))),
};
