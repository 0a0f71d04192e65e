/**
 * One file of an image as a ByteSource: offsets within the file map onto the
 * entry's extents (several for a multi-extent file) in the image's source.
 * Lets the .deb reader read just the ar headers and the control member.
 */
import type { IsoEntry } from '../iso/index.js';
import { checkRange, type ByteSource } from '../store/byte-source.js';

export class EntrySource implements ByteSource {
  readonly size: number;

  constructor(
    private readonly image: ByteSource,
    private readonly entry: IsoEntry,
    private readonly blockSize = 2048,
  ) {
    this.size = entry.extents.reduce((n, x) => n + x.size, 0);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.size, offset, length, JSON.stringify(this.entry.path));
    const parts: Uint8Array[] = [];
    let base = 0;
    for (const x of this.entry.extents) {
      const from = Math.max(offset, base);
      const to = Math.min(offset + length, base + x.size);
      if (from < to) parts.push(await this.image.read(x.lba * this.blockSize + (from - base), to - from));
      base += x.size;
      if (base >= offset + length) break;
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
