/**
 * Decompression of package metadata: gzip, xz and (through a caller-supplied
 * decoder) zstd, each bounded so that a crafted member cannot exhaust memory.
 *
 * xz: Node has no xz. We use `xz-decompress` (httptoolkit's maintained fork
 * of xzwasm: Lasse Collin's xz-embedded compiled to WebAssembly, 72 KB, no
 * dependencies, MIT, last release 2025). Checked before choosing it: it
 * decodes multi-block xz (as `xz -T` and dpkg-deb write) and concatenated
 * streams, and it fails with an error, not garbage, on corrupt or truncated
 * input. The alternatives were weaker: pure-JS LZMA ports that handle only
 * single-block .lzma, or native addons (lzma-native, @napi-rs/lzma) that need
 * a prebuilt binary or a compiler. Running the `xz` binary would work too but
 * would tie a parser to a child process; WebAssembly keeps this module free
 * of I/O. Its CommonJS build exports a WHATWG ReadableStream transformer,
 * hence the Blob/Response plumbing below.
 *
 * zstd: Node 20 has none (zlib gained zstd in Node 22.15), and no pure-JS
 * decoder is both maintained and small. `.deb`s built by Ubuntu use it, so a
 * caller may pass a decoder (see zstd-binary.ts, which runs `zstd -dc`);
 * without one, a zstd member is reported as unsupported.
 */
import { gunzipSync } from 'node:zlib';
import xz from 'xz-decompress';
import { IsosyncError, quote } from '../errors.js';

export type Compression = 'none' | 'gzip' | 'xz' | 'zstd';

/** A zstd decoder supplied by the caller (an I/O adapter). */
export type ZstdDecoder = (bytes: Uint8Array, maxBytes: number) => Promise<Uint8Array>;

export interface DecompressOptions {
  /** Refuse output larger than this many bytes (a decompression bomb guard). */
  readonly maxBytes: number;
  readonly zstd?: ZstdDecoder | undefined;
}

/** Magic numbers: gzip RFC 1952 §2.3.1; xz file format §2.1.1.1; zstd RFC 8878 §3.1.1. */
const MAGIC: ReadonlyArray<readonly [Compression, readonly number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

/** Which compression the bytes start with ('none' when no known magic). */
export function sniffCompression(bytes: Uint8Array): Compression {
  for (const [kind, magic] of MAGIC) if (magic.every((b, i) => bytes[i] === b)) return kind;
  return 'none';
}

/** The compression a member or file name implies (`control.tar.xz`, `Packages.gz`). */
export function compressionOfName(name: string): Compression | undefined {
  if (name.endsWith('.gz')) return 'gzip';
  if (name.endsWith('.xz')) return 'xz';
  if (name.endsWith('.zst')) return 'zstd';
  if (!/\.(bz2|lzma|lz4|Z)$/.test(name)) return 'none';
  return undefined;
}

/** Decompresses `bytes` as `kind`; `what` names the data in errors. */
export async function decompress(bytes: Uint8Array, kind: Compression, what: string, opts: DecompressOptions): Promise<Uint8Array> {
  const tooBig = (): IsosyncError =>
    new IsosyncError('BAD_PACKAGE', `Cannot decompress ${quote(what)}: output exceeds the limit of ${opts.maxBytes} bytes`, { file: what });
  switch (kind) {
    case 'none':
      if (bytes.length > opts.maxBytes) throw tooBig();
      return bytes;
    case 'gzip':
      try {
        return gunzipSync(bytes, { maxOutputLength: opts.maxBytes });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooBig();
        throw new IsosyncError('BAD_PACKAGE', `Cannot decompress ${quote(what)}: gzip data is corrupt (${(e as Error).message})`, { file: what });
      }
    case 'xz':
      return xzDecompress(bytes, what, opts.maxBytes, tooBig);
    case 'zstd':
      if (!opts.zstd) {
        throw new IsosyncError('UNSUPPORTED', `Cannot decompress ${quote(what)}: zstd needs the zstd program (apt-get install zstd)`, { file: what });
      }
      return opts.zstd(bytes, opts.maxBytes);
  }
}

async function xzDecompress(bytes: Uint8Array, what: string, maxBytes: number, tooBig: () => IsosyncError): Promise<Uint8Array> {
  const stream = new xz.XzReadableStream(new Blob([bytes]).stream());
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooBig();
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof IsosyncError) throw e;
    // xz-embedded reports its xz_ret code: 5 format, 6 options, 7 data, 8 buffer (truncated).
    throw new IsosyncError('BAD_PACKAGE', `Cannot decompress ${quote(what)}: xz data is corrupt or truncated (${(e as Error).message})`, { file: what });
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
