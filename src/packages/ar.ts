/**
 * The `ar` archive a .deb is (deb(5)): the magic `!<arch>\n`, then members,
 * each a 60-byte header and its data padded to an even length.
 *
 * Only the member headers are read through the ByteSource, so listing the
 * members of a .deb inside an image costs a few small reads, and a caller can
 * then read just the member it needs (the control tarball, near the start).
 */
import { IsosyncError, quote } from '../errors.js';
import type { ByteSource } from '../store/byte-source.js';

export const AR_MAGIC = '!<arch>\n';

/** Member header, as in ar(5) / deb(5): ASCII fields padded with spaces. */
const HEADER = {
  name: { offset: 0, length: 16 },
  mtime: { offset: 16, length: 12 },
  uid: { offset: 28, length: 6 },
  gid: { offset: 34, length: 6 },
  mode: { offset: 40, length: 8 },
  size: { offset: 48, length: 10 },
  fmag: { offset: 58, length: 2 }, // "`\n"
} as const;
const HEADER_BYTES = 60;

export interface ArMember {
  /** Name without padding and without the GNU trailing `/`. */
  readonly name: string;
  /** Offset of the member's data in the archive. */
  readonly offset: number;
  readonly size: number;
}

const ascii = (b: Uint8Array, f: { offset: number; length: number }): string => {
  const s = b.subarray(f.offset, f.offset + f.length);
  return Buffer.from(s.buffer, s.byteOffset, s.length).toString('latin1');
};

/**
 * Lists the first `maxMembers` members of the archive (a .deb has three or
 * four; stopping early keeps a crafted archive from costing many reads).
 */
export async function listArMembers(src: ByteSource, what: string, maxMembers = 16): Promise<ArMember[]> {
  const fail = (why: string, offset: number): never => {
    throw new IsosyncError('BAD_PACKAGE', `Cannot read package ${quote(what)}: ${why}`, { file: what, offset });
  };
  if (src.size < AR_MAGIC.length) fail(`${src.size} bytes is too short for an ar archive`, 0);
  const magic = await src.read(0, AR_MAGIC.length);
  const start = ascii(magic, { offset: 0, length: magic.length });
  if (start !== AR_MAGIC) fail(`not an ar archive (starts with ${quote(start.slice(0, 7))})`, 0);
  const members: ArMember[] = [];
  let at = AR_MAGIC.length;
  while (at < src.size && members.length < maxMembers) {
    if (at + HEADER_BYTES > src.size) fail(`member header at byte ${at} runs past the end (${src.size} bytes)`, at);
    const h = await src.read(at, HEADER_BYTES);
    if (ascii(h, HEADER.fmag) !== '`\n') fail(`member header at byte ${at} lacks its end marker`, at);
    const sizeText = ascii(h, HEADER.size).trimEnd();
    if (!/^\d+$/.test(sizeText)) fail(`member header at byte ${at} has size ${quote(sizeText)}`, at);
    const size = Number(sizeText);
    const offset = at + HEADER_BYTES;
    if (offset + size > src.size) fail(`member at byte ${at} claims ${size} bytes, past the end (${src.size} bytes)`, at);
    const name = ascii(h, HEADER.name).trimEnd().replace(/\/$/, '');
    members.push({ name, offset, size });
    at = offset + size + (size % 2); // data is padded to an even length
  }
  return members;
}
