/**
 * Package indexes: Debian `Packages` files (a deb822 stanza per package,
 * Debian Policy §5.3 / the Debian Repository Format) and RPM repodata
 * (`repodata/repomd.xml` naming `primary.xml[.gz|.xz|.zst]`, createrepo_c's
 * format). Both parse to PackageRecords with `origin: 'index'`.
 *
 * primary.xml is scanned, not parsed with a general XML parser: we read only
 * `<package type="rpm">` elements and a handful of child elements/attributes
 * (name, arch, version epoch/ver/rel, checksum, size, location), decode the
 * five predefined entities and numeric references, and ignore everything
 * else. Nothing is fetched or expanded (no DTDs, no external entities).
 */
import { IsosyncError, quote } from '../errors.js';
import { field, parseDeb822, type Stanza } from './deb822.js';
import { parseDebianVersion } from './debian-version.js';
import { formatRpmEvr } from './rpm-version.js';
import type { PackageRecord } from './model.js';

export interface IndexedPackage extends PackageRecord {
  /** The whole stanza of a Debian index (undefined for RPM). */
  readonly stanza?: Stanza | undefined;
}

/** Parses a Debian Packages file. Stanzas lacking Package/Version/Architecture are refused. */
export function parsePackagesIndex(text: string, what: string): IndexedPackage[] {
  return parseDeb822(text, what).map((s) => {
    const need = (name: string): string => {
      const v = field(s, name);
      if (v === undefined || v === '') {
        throw new IsosyncError('BAD_PACKAGE', `Cannot parse ${quote(what)}: stanza at line ${s.line} lacks the ${name} field`, { file: what, line: s.line });
      }
      return v;
    };
    const name = need('Package');
    const version = need('Version');
    parseDebianVersion(version);
    const size = field(s, 'Size');
    if (size !== undefined && !/^\d+$/.test(size)) {
      throw new IsosyncError('BAD_PACKAGE', `Cannot parse ${quote(what)}: package ${quote(name)} has Size ${quote(size)}`, { file: what, line: s.line });
    }
    const sha = field(s, 'SHA256');
    return {
      format: 'deb' as const,
      name,
      version,
      arch: need('Architecture'),
      filename: field(s, 'Filename'),
      size: size === undefined ? undefined : Number(size),
      sha256: sha?.toLowerCase(),
      origin: 'index' as const,
      stanza: s,
    };
  });
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Replaces entity and character references; a reference to no Unicode character (XML 1.0 §4.1 WFC: Legal Character) is refused. */
function decodeXml(s: string, what: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, ref: string) => {
    if (!ref.startsWith('#')) return ENTITIES[ref] ?? whole;
    const code = ref.startsWith('#x') ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    if (!(code >= 1 && code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) {
      throw new IsosyncError('BAD_PACKAGE', `Cannot parse ${quote(what)}: character reference ${quote(whole.slice(0, 24))} names no Unicode character`, { file: what });
    }
    return String.fromCodePoint(code);
  });
}

function attrs(tag: string, what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of tag.matchAll(/([A-Za-z_:][\w:.-]*)\s*=\s*("([^"]*)"|'([^']*)')/g)) out.set(m[1]!, decodeXml(m[3] ?? m[4] ?? '', what));
  return out;
}

/** The first `<name ...>` start tag (or self-closing tag) inside `xml`, with its attributes and text. */
function element(xml: string, name: string, what: string): { attrs: Map<string, string>; text: string } | undefined {
  const m = new RegExp(`<${name}(\\s[^>]*?)?(/>|>([^<]*)</${name}>)`).exec(xml);
  if (!m) return undefined;
  return { attrs: attrs(m[1] ?? '', what), text: decodeXml(m[3] ?? '', what).trim() };
}

/** The location of the primary metadata named by repomd.xml, relative to the repository root. */
export function primaryLocation(repomd: string, what: string): string {
  for (const m of repomd.matchAll(/<data\s[^>]*type\s*=\s*["']primary["'][^>]*>([\s\S]*?)<\/data>/g)) {
    const href = element(m[1]!, 'location', what)?.attrs.get('href');
    if (href) return href;
  }
  throw new IsosyncError('BAD_PACKAGE', `Cannot parse ${quote(what)}: no <data type="primary"> with a location`, { file: what });
}

/** Parses the `<package type="rpm">` elements of a primary.xml. */
export function parseRpmPrimary(xml: string, what: string): IndexedPackage[] {
  const out: IndexedPackage[] = [];
  for (const m of xml.matchAll(/<package\s([^>]*)>([\s\S]*?)<\/package>/g)) {
    if (attrs(m[1]!, what).get('type') !== 'rpm') continue;
    const body = m[2]!;
    const name = element(body, 'name', what)?.text;
    const arch = element(body, 'arch', what)?.text;
    const v = element(body, 'version', what)?.attrs;
    const where = `package ${out.length + 1}${name ? ` (${quote(name)})` : ''}`;
    if (!name || !arch || !v?.get('ver')) {
      throw new IsosyncError('BAD_PACKAGE', `Cannot parse ${quote(what)}: ${where} lacks name, arch or version`, { file: what });
    }
    const epochText = v.get('epoch');
    if (epochText !== undefined && !/^\d+$/.test(epochText)) {
      throw new IsosyncError('BAD_PACKAGE', `Cannot parse ${quote(what)}: ${where} has epoch ${quote(epochText)}`, { file: what });
    }
    const rel = v.get('rel');
    const version = formatRpmEvr({ version: v.get('ver')!, ...(epochText !== undefined ? { epoch: Number(epochText) } : {}), ...(rel !== undefined ? { release: rel } : {}) });
    const checksum = element(body, 'checksum', what);
    const sizeText = element(body, 'size', what)?.attrs.get('package');
    out.push({
      format: 'rpm',
      name,
      version,
      arch,
      filename: element(body, 'location', what)?.attrs.get('href'),
      size: sizeText !== undefined && /^\d+$/.test(sizeText) ? Number(sizeText) : undefined,
      sha256: checksum?.attrs.get('type') === 'sha256' ? checksum.text.toLowerCase() : undefined,
      origin: 'index',
    });
  }
  return out;
}
