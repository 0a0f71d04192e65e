import type { Warning } from '../core/warnings.js';
/**
 * The packages of a live image, which has no package pool: the dpkg status
 * file (/var/lib/dpkg/status, deb822 stanzas, dpkg(1)'s database) of its root
 * filesystem, a nested squashfs or EROFS image. Only packages whose Status
 * ends in "installed" count. RPM-based live images keep their database in
 * SQLite (rpmdb.sqlite), which is not read: such an image reports no packages
 * and a warning says why.
 */
import { quote } from '../errors.js';
import type { IsoImage } from '../iso/index.js';
import { isoLayout } from '../layouts/iso-layout.js';
import { DEFAULT_NEST, findNested, outerCandidates } from '../layouts/nested.js';
import type { ByteSource } from '../store/byte-source.js';
import { field, parseDeb822 } from './deb822.js';
import type { ImagePackage } from './image-packages.js';

const DPKG_STATUS = '/var/lib/dpkg/status';
const RPMDB = ['/usr/lib/sysimage/rpm/rpmdb.sqlite', '/var/lib/rpm/rpmdb.sqlite', '/var/lib/rpm/Packages'];
/** dpkg status files of full desktops are a few MB. */
const MAX_STATUS_BYTES = 128 * 1024 * 1024;

export interface LivePackages {
  readonly packages: ImagePackage[];
  /** "/live/filesystem.squashfs:/var/lib/dpkg/status", when found. */
  readonly source?: string;
  readonly warnings: Warning[];
}

export async function livePackages(src: ByteSource, image: IsoImage, name: string): Promise<LivePackages> {
  const warnings: Warning[] = [];
  const note = (detail: string, where = name) => warnings.push({ code: 'PACKAGE_NOTE', source: where, detail });
  const outer = isoLayout(image, src);
  const extra = await outerCandidates(src, outer, image.boot?.entries ?? [], image.logicalBlockSize);
  const nested = await findNested(src, outer, { ...DEFAULT_NEST, note: (m) => note(m) }, extra);
  for (const n of nested) {
    const files = n.layout.files;
    const at = files.indexOf(DPKG_STATUS);
    const status = at >= 0 && files.type(at) === 'file' ? files.get(at) : undefined;
    if (!status) {
      const rpm = RPMDB.map((p) => files.indexOf(p)).filter((i) => i >= 0).map((i) => files.get(i))[0];
      if (rpm) note(`an RPM database, which isosync does not read: no package list for ${quote(name)}`, `${name}:${n.path}:${rpm.path}`);
      continue;
    }
    const where = `${n.path}:${status.path}`;
    const text = new TextDecoder().decode(await n.layout.readContent(status, MAX_STATUS_BYTES));
    const packages: ImagePackage[] = [];
    for (const s of parseDeb822(text, `${name}:${where}`)) {
      const pkg = field(s, 'Package');
      const version = field(s, 'Version');
      const state = field(s, 'Status') ?? '';
      if (!pkg || !version || !/\binstalled$/.test(state)) continue;
      packages.push({ format: 'deb', name: pkg, version, arch: field(s, 'Architecture') ?? 'all', origin: 'index', control: s });
    }
    packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
    return { packages, source: where, warnings };
  }
  return { packages: [], warnings };
}
