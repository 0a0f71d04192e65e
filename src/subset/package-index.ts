/**
 * The package indexes of a torrent's image, read through a subset session:
 * only the directories where indexes live (`dists/` and `repodata/` at the
 * root or one level down, as Debian and Fedora media keep them) and the
 * index files themselves are read, every byte from a verified piece. The
 * package files are not read: the indexes say what the image holds.
 */
import { readIso, type IsoImage } from '../iso/index.js';
import type { ZstdDecoder } from '../packages/compression.js';
import { scanImagePackages, type ImagePackages } from '../packages/image-packages.js';
import type { ByteSource } from '../store/byte-source.js';
import { descendFor } from './descend.js';

/** Where package indexes live on Debian and RPM media (Packages under dists/, repomd.xml and primary under repodata/). */
export const INDEX_PATTERNS = ['/dists/**', '/*/dists/**', '/repodata/**', '/*/repodata/**'] as const;

export async function readPackageIndex(src: ByteSource, name: string, zstd?: ZstdDecoder): Promise<{ image: IsoImage; packages: ImagePackages }> {
  const image = await readIso(src, { name, descend: descendFor(INDEX_PATTERNS) });
  const packages = await scanImagePackages(src, image, { name, readPackageFiles: false, wholeTree: false, preferCompressed: true, zstd });
  return { image, packages };
}
