/**
 * Reads the control fields of a binary package (.deb, deb(5)) through a
 * ByteSource: the `ar` members `debian-binary` ("2.x\n"), then
 * `control.tar[.gz|.xz|.zst]` (or uncompressed `control.tar`), whose
 * `./control` file holds Package, Version, Architecture, ... in deb822.
 *
 * Only the ar headers and the control member are read (a few KB at the start
 * of the file), never the data member.
 */
import { IsosyncError, quote } from '../errors.js';
import type { ByteSource } from '../store/byte-source.js';
import { listArMembers } from './ar.js';
import { compressionOfName, decompress, type Compression, type ZstdDecoder } from './compression.js';
import { field, parseDeb822, type Stanza } from './deb822.js';
import { parseDebianVersion } from './debian-version.js';
import { findTarFile } from './tar.js';

/** A control tarball holds maintainer scripts and a few lists; dpkg's own are far below this. */
export const MAX_CONTROL_TAR_BYTES = 64 * 1024 * 1024;

export interface DebControl {
  readonly stanza: Stanza;
  readonly name: string;
  readonly version: string;
  readonly arch: string;
  /** The compression of the control member (what dpkg-deb -Z chose). */
  readonly compression: Compression;
}

export interface ReadDebOptions {
  readonly zstd?: ZstdDecoder | undefined;
}

/** Reads and validates the control fields of the .deb in `src`; `what` names it in errors. */
export async function readDebControl(src: ByteSource, what: string, opts: ReadDebOptions = {}): Promise<DebControl> {
  const fail = (why: string): never => {
    throw new IsosyncError('BAD_PACKAGE', `Cannot read package ${quote(what)}: ${why}`, { file: what });
  };
  const members = await listArMembers(src, what, 8);
  const first = members[0];
  if (!first || first.name !== 'debian-binary') fail(`first member is ${quote(first?.name ?? 'missing')}, not "debian-binary"`);
  const formatVersion = new TextDecoder().decode(await src.read(first!.offset, Math.min(first!.size, 16)));
  if (!/^2\.\d+\n/.test(formatVersion)) fail(`unsupported format version ${quote(formatVersion.trim())}`);
  const control = members.find((m) => /^control\.tar(\.[a-z]+)?$/.test(m.name));
  if (!control) fail(`no control.tar member (members: ${members.map((m) => m.name).join(', ')})`);
  const compression = compressionOfName(control!.name);
  if (compression === undefined) fail(`control member ${quote(control!.name)} uses an unknown compression`);
  const packed = await src.read(control!.offset, control!.size);
  const tar = await decompress(packed, compression!, `${what}:${control!.name}`, { maxBytes: MAX_CONTROL_TAR_BYTES, zstd: opts.zstd });
  const file = findTarFile(tar, 'control', `${what}:${control!.name}`);
  if (!file) fail(`${control!.name} has no control file`);
  const stanzas = parseDeb822(new TextDecoder().decode(file!), `${what}:control`);
  if (stanzas.length !== 1) fail(`control file has ${stanzas.length} stanzas, expected 1`);
  const stanza = stanzas[0]!;
  const need = (name: string): string => {
    const v = field(stanza, name);
    if (v === undefined || v === '') fail(`control file lacks the ${name} field`);
    return v!;
  };
  const name = need('Package');
  const version = need('Version');
  parseDebianVersion(version);
  const arch = need('Architecture');
  return { stanza, name, version, arch, compression: compression! };
}
