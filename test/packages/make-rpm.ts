/**
 * Hand-built minimal RPM packages (lead, signature header, main header, a
 * few payload bytes) for the header reader's tests and the fuzzer's seeds;
 * every field can be overridden to craft a defect.
 */

export const STRING = 6;
export const INT32 = 4;
export const INT64 = 5;

export interface Tag {
  tag: number;
  type: number;
  value: string | number | bigint;
  /** Overrides the offset written in the index entry (to craft defects). */
  offset?: number;
  count?: number;
}

/** A header structure (format.md "The Header Structure"): intro, index, aligned data store. */
export function headerStructure(tags: Tag[], over: { indexCount?: number; dataSize?: number; magic?: number[] } = {}): Uint8Array {
  const store: number[] = [];
  const index: number[][] = [];
  for (const t of tags) {
    const align = t.type === INT32 ? 4 : t.type === INT64 ? 8 : 1;
    while (store.length % align !== 0) store.push(0);
    const at = store.length;
    if (t.type === STRING) store.push(...new TextEncoder().encode(String(t.value)), 0);
    else if (t.type === INT32) store.push(...u32(Number(t.value)));
    else {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, BigInt(t.value));
      store.push(...b);
    }
    index.push([...u32(t.tag), ...u32(t.type), ...u32(t.offset ?? at), ...u32(t.count ?? 1)]);
  }
  return new Uint8Array([
    ...(over.magic ?? [0x8e, 0xad, 0xe8, 0x01]), 0, 0, 0, 0,
    ...u32(over.indexCount ?? tags.length), ...u32(over.dataSize ?? store.length),
    ...index.flat(), ...store,
  ]);
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** Lead (96 bytes), signature (SIZE = header + payload), padding to 8, header, payload. */
export function rpm(opts: { header?: Uint8Array; tags?: Tag[]; payload?: number; leadMagic?: number[]; sigSize?: number | null; sig?: Uint8Array } = {}): Uint8Array {
  const header = opts.header ?? headerStructure(opts.tags ?? baseTags());
  const payload = new Uint8Array(opts.payload ?? 40).fill(0x5a);
  const lead = new Uint8Array(96);
  lead.set(opts.leadMagic ?? [0xed, 0xab, 0xee, 0xdb], 0);
  lead[4] = 3;
  new DataView(lead.buffer).setUint16(78, 5);
  lead.set(new TextEncoder().encode('demo-1.0-1'), 10);
  const sig = opts.sig ?? headerStructure(opts.sigSize === null ? [{ tag: 1007, type: STRING, value: 'digest' }] : [{ tag: 1000, type: INT32, value: opts.sigSize ?? header.length + payload.length }]);
  const pad = (8 - ((96 + sig.length) % 8)) % 8;
  return new Uint8Array([...lead, ...sig, ...new Uint8Array(pad), ...header, ...payload]);
}

export function baseTags(extra: Tag[] = []): Tag[] {
  return [
    { tag: 1000, type: STRING, value: 'demo' },
    { tag: 1001, type: STRING, value: '1.0~rc1' },
    { tag: 1002, type: STRING, value: '3.fc40' },
    { tag: 1003, type: INT32, value: 2 },
    { tag: 1009, type: INT32, value: 123456 },
    { tag: 1022, type: STRING, value: 'x86_64' },
    { tag: 1044, type: STRING, value: 'demo-1.0~rc1-3.fc40.src.rpm' },
    ...extra,
  ];
}


/** A minimal valid package of the given name and version fields. */
export function rpmPackage(p: { name?: string; version?: string; release?: string; epoch?: number; arch?: string } = {}): Uint8Array {
  const tags = baseTags().map((t) => {
    if (t.tag === 1000 && p.name !== undefined) return { ...t, value: p.name };
    if (t.tag === 1001 && p.version !== undefined) return { ...t, value: p.version };
    if (t.tag === 1002 && p.release !== undefined) return { ...t, value: p.release };
    if (t.tag === 1003 && p.epoch !== undefined) return { ...t, value: p.epoch };
    if (t.tag === 1022 && p.arch !== undefined) return { ...t, value: p.arch };
    return t;
  });
  return rpm({ tags });
}
