/**
 * Test helper: builds a real .deb with dpkg-deb (no assertions here).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DebSpec {
  name: string;
  version: string;
  arch?: string;
  compression?: 'xz' | 'gzip' | 'none' | 'zstd';
  depends?: string;
  payloadBytes?: number;
  /** Extra control fields. */
  extra?: Record<string, string>;
}

/** Builds `<name>_<version>_<arch>.deb` under `dir` and returns its path. */
export function makeDeb(dir: string, spec: DebSpec): string {
  const arch = spec.arch ?? 'all';
  const root = join(dir, `build-${spec.name}-${spec.version.replace(/:/g, '%3a')}-${spec.compression ?? 'xz'}`);
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, 'usr', 'share', spec.name), { recursive: true });
  const payload = Buffer.alloc(spec.payloadBytes ?? 3000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 131 + spec.name.length * 7) & 0xff;
  writeFileSync(join(root, 'usr', 'share', spec.name, 'data.bin'), payload);
  const fields: Record<string, string> = {
    Package: spec.name,
    Version: spec.version,
    Architecture: arch,
    Maintainer: 'isosync tests <tests@example.invalid>',
    ...(spec.depends ? { Depends: spec.depends } : {}),
    ...spec.extra,
    Description: `test package ${spec.name}\n a package built by the isosync tests\n .\n second paragraph`,
  };
  writeFileSync(join(root, 'DEBIAN', 'control'), Object.entries(fields).map(([k, v]) => `${k}: ${v}\n`).join(''));
  const out = join(dir, `${spec.name}_${spec.version.replace(/^\d+:/, '')}_${arch}.deb`);
  const r = spawnSync('dpkg-deb', ['--root-owner-group', `-Z${spec.compression ?? 'xz'}`, '--build', root, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dpkg-deb failed: ${r.stderr}`);
  return out;
}
