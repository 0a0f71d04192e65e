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

export function isoAround(bytes: Uint8Array): Buffer {
  if (bytes.length < (DATA_LBA + 1) * SECTOR) throw new Error(`isoAround needs at least ${(DATA_LBA + 1) * SECTOR} bytes`);
  const sectors = Math.floor(bytes.length / SECTOR);
  const head = buildIso({
    totalSectors: DATA_LBA,
    root: { lba: 18, records: [{ id: 'DATA.BIN;1', lba: DATA_LBA, size: bytes.length - DATA_LBA * SECTOR }] },
  });
  // The volume is every whole sector of the image; the descriptor was laid out for DATA_LBA sectors.
  const out = Buffer.from(bytes);
  out.set(head.subarray(16 * SECTOR, DATA_LBA * SECTOR), 16 * SECTOR);
  const pvd = 16 * SECTOR;
  out.writeUInt32LE(sectors, pvd + 80);
  out.writeUInt32BE(sectors, pvd + 84);
  return out;
}
