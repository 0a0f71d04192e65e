/**
 * ISO 9660 as a layout: an adapter over the ISO reader's IsoImage (the
 * reader is not changed). Files keep their extents as chunks (content is
 * stored as is), metadata is every region the region map does not give to a
 * file or a boot image.
 */
import type { IsoImage } from '../iso/entry.js';
import { regionMap } from '../iso/regions.js';
import type { ByteSource, Span } from '../store/byte-source.js';
import { IsosyncError, quote } from '../errors.js';
import { SpanTable, FileTableBuilder, readChunks, type Layout } from './layout.js';

const METADATA_KINDS = new Set(['system-area', 'volume-descriptor', 'path-table', 'directory', 'boot-catalog', 'continuation']);

export function isoLayout(img: IsoImage, src: ByteSource): Layout {
  const bs = img.logicalBlockSize;
  const files = new FileTableBuilder();
  for (const e of img.entries) {
    const chunks = new Array<number>(e.type === 'file' ? e.extents.length * 2 : 0);
    if (e.type === 'file') {
      e.extents.forEach((x, i) => {
        chunks[2 * i] = x.lba * bs;
        chunks[2 * i + 1] = x.lba * bs + x.size;
      });
    }
    files.addPath(e.path, { type: e.type, size: e.type === 'file' ? e.size : 0, chunks, raw: true, ...(e.target !== undefined ? { target: e.target } : {}) });
  }
  const metadata: Span[] = regionMap(img).filter((r) => METADATA_KINDS.has(r.kind)).map((r) => ({ start: r.start, end: r.end }));
  return {
    format: 'iso9660',
    size: img.imageBytes,
    // The ISO reader's order (the tree's), as before.
    files: files.finish(false),
    metadata: SpanTable.merged(metadata),
    shared: [],
    readContent: async (file, maxBytes) => {
      if (file.size > maxBytes) throw new IsosyncError('BAD_ISO', `Cannot read ${quote(file.path)} of ISO ${quote(img.name)}: ${file.size} bytes, over the limit of ${maxBytes}`);
      return readChunks(src, file);
    },
  };
}
