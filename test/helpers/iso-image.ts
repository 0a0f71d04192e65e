/**
 * A real (tiny) ISO 9660 image around arbitrary bytes, for tests that need
 * images of a given size and content that publish accepts: the bytes are
 * kept except sectors 16-18, which become a primary volume descriptor, the
 * descriptor set terminator and a root directory holding one file,
 * DATA.BIN, that spans the rest of the image.
 */
import { buildIso } from '../iso/tiny-iso.js';

const SECTOR = 2048;
/** The file starts after the system area (16), the descriptors (16, 17) and the root directory (18). */
const DATA_LBA = 19;

/** Where isoHeader's bytes go in the image. */
export const ISO_HEADER_OFFSET = 16 * SECTOR;

/** Sectors 16-18 of an image of `totalBytes` bytes: descriptor, terminator, root directory with DATA.BIN over the rest. */
export function isoHeader(totalBytes: number): Buffer {
  if (totalBytes < (DATA_LBA + 1) * SECTOR) throw new Error(`an ISO image needs at least ${(DATA_LBA + 1) * SECTOR} bytes`);
  const head = buildIso({
    totalSectors: DATA_LBA,
    root: { lba: 18, records: [{ id: 'DATA.BIN;1', lba: DATA_LBA, size: totalBytes - DATA_LBA * SECTOR }] },
  });
  // The volume is every whole sector of the image; the descriptor was laid out for DATA_LBA sectors.
  const out = Buffer.from(head.subarray(ISO_HEADER_OFFSET, DATA_LBA * SECTOR));
  const sectors = Math.floor(totalBytes / SECTOR);
  out.writeUInt32LE(sectors, 80);
  out.writeUInt32BE(sectors, 84);
  return out;
}

export function isoAround(bytes: Uint8Array): Buffer {
  const out = Buffer.from(bytes);
  out.set(isoHeader(bytes.length), ISO_HEADER_OFFSET);
  return out;
}
