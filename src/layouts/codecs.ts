/**
 * Block decompressors for filesystem images: each call decodes one stored
 * block whose uncompressed size is bounded by the format (a squashfs block,
 * an 8 KiB metadata block, an EROFS cluster), so memory is bounded by
 * `maxOut` whatever the input says.
 *
 *  - zlib: Node's zlib (squashfs "gzip" blocks are zlib streams, RFC 1950).
 *  - xz:   xz-decompress (xz-embedded in WebAssembly), as in packages/.
 *  - zstd: zstddec (the reference libzstd decoder in WebAssembly; Node 20 has no zstd).
 *  - lz4:  lz4js's raw block decoder (squashfs and EROFS store raw LZ4 blocks, no frame).
 * See docs/LIBRARIES.md for why each. A corrupt block is an IsosyncError
 * ('BAD_ISO', "Cannot decompress ...") from `fail`, never a library's own error.
 *
 * The three libraries load on first use: lz4js alone allocates a 5 MiB block
 * buffer when imported, and most images a sync reads hold no compressed
 * filesystem at all; so does node:zlib (core/late-builtins.ts).
 */
import { lateZlib } from '../core/late-builtins.js';
import { xzExports, type XzExports } from './xz-wasm.js';

/** xz-decompress is CommonJS: a dynamic import gives its exports as `default`. */
let xzLib: Promise<{ default: typeof import('xz-decompress') }> | undefined;
let zstdLib: Promise<import('zstddec').ZSTDDecoder> | undefined;
/** lz4js is CommonJS too: its exports are `default` both in Node and in the bundle (which gives a split CommonJS chunk no named exports). */
let lz4Lib: Promise<{ default: typeof import('lz4js') }> | undefined;

export type Codec = 'zlib' | 'xz' | 'zstd' | 'lz4' | 'lzma';

export type Fail = (problem: string) => never;

/**
 * `into` (lz4 and xz; at least maxOut bytes): decode there instead of a new buffer; the result is then a view of it,
 * valid until its next use. Other codecs ignore it (the caller copies).
 */
export async function decodeBlock(codec: Codec, input: Uint8Array, maxOut: number, fail: Fail, into?: Uint8Array): Promise<Uint8Array> {
  switch (codec) {
    case 'zlib':
      try {
        return lateZlib().inflateSync(input, { maxOutputLength: maxOut });
      } catch (e) {
        return fail(`zlib block is corrupt or larger than ${maxOut} bytes (${(e as Error).message})`);
      }
    case 'zstd': {
      // One frame with its content size, as mksquashfs writes: the size is the output buffer, and the frame must fill it exactly.
      const declared = zstdContentSize(input);
      if (declared === undefined) return fail('zstd block has no frame content size');
      if (declared > maxOut) return fail(`zstd block declares ${declared} bytes, over ${maxOut}`);
      if (declared === 0) return fail('zstd block declares 0 bytes');
      const zstd = await (zstdLib ??= loadZstd());
      let out: Uint8Array;
      try {
        out = zstd.decode(input, declared);
      } catch (e) {
        return fail(`zstd block is corrupt (${(e as Error).message})`);
      }
      // zstddec hands back an empty array when libzstd reports an error (corrupt data, output over `declared`, a wrong checksum).
      if (out.length !== declared) return fail(`zstd block is corrupt (decodes to ${out.length} of the ${declared} bytes it declares)`);
      return out;
    }
    case 'lz4': {
      const { decompressBlock } = (await (lz4Lib ??= import('lz4js') as Promise<unknown> as Promise<{ default: typeof import('lz4js') }>)).default;
      const out = into && into.length >= maxOut ? into : new Uint8Array(maxOut);
      let n: number;
      try {
        n = decompressBlock(input, out, 0, input.length, 0);
      } catch (e) {
        return fail(`lz4 block is corrupt (${(e as Error).message})`);
      }
      // lz4js writes past a typed array's end silently (dropped): an end beyond maxOut means a corrupt or oversized block.
      if (!Number.isSafeInteger(n) || n < 0 || n > maxOut) return fail(`lz4 block decodes to more than ${maxOut} bytes`);
      return out.subarray(0, n);
    }
    case 'xz':
      return xzBlock(input, maxOut, fail, into);
    case 'lzma':
      return fail('lzma blocks are not supported (no maintained pure-JS raw LZMA decoder is used yet)');
  }
}

/** Frame_Content_Size of a zstd frame (RFC 8878 §3.1.1.1), or undefined when absent or unreadable. */
export function zstdContentSize(b: Uint8Array): number | undefined {
  if (b.length < 6 || b[0] !== 0x28 || b[1] !== 0xb5 || b[2] !== 0x2f || b[3] !== 0xfd) return undefined;
  const fhd = b[4]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = fcsFlag === 0 ? single : [0, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) return undefined;
  const at = 5 + (single ? 0 : 1) + dictBytes;
  if (at + fcsBytes > b.length) return undefined;
  let v = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) v = v * 256 + b[at + i]!;
  return fcsBytes === 2 ? v + 256 : v;
}

async function loadZstd(): Promise<import('zstddec').ZSTDDecoder> {
  const decoder = new (await import('zstddec')).ZSTDDecoder();
  await decoder.init();
  return decoder;
}

/** xz-embedded's XZ_OK and XZ_STREAM_END; anything else is an error. */
const XZ_OK = 0;
const XZ_STREAM_END = 1;

/**
 * One xz stream decoded synchronously in the module's memory, the loop xz-decompress's stream
 * runs (supply input when the context has used it up, take each output buffer) without a
 * ReadableStream, a Blob and their promises per block: a walk decodes hundreds of 8 KiB blocks.
 */
function xzDirect(ex: XzExports, input: Uint8Array, maxOut: number, fail: Fail, into?: Uint8Array): Uint8Array {
  const ctx = ex.create_context();
  try {
    // The context starts with: buffer size, input buffer, input position, input size, output buffer, output position (u32 each).
    let mem = new Uint8Array(ex.memory.buffer);
    let head = new Uint32Array(ex.memory.buffer, ctx, 6);
    const refresh = () => {
      if (mem.buffer !== ex.memory.buffer) {
        mem = new Uint8Array(ex.memory.buffer);
        head = new Uint32Array(ex.memory.buffer, ctx, 6);
      }
    };
    const bufSize = head[0]!;
    const out = into && into.length >= maxOut ? into : new Uint8Array(maxOut);
    let total = 0;
    let at = 0;
    for (;;) {
      // The input used up: more of it (once it has all been given, none: the decoder may still hold output).
      const ended = head[2] === head[3] && at >= input.length;
      if (head[2] === head[3]) {
        const n = Math.min(bufSize, input.length - at);
        if (n > 0) mem.set(input.subarray(at, at + n), head[1]!);
        ex.supply_input(ctx, n);
        refresh();
        at += n;
      }
      const r = ex.get_next_output(ctx);
      refresh();
      if (r !== XZ_OK && r !== XZ_STREAM_END) return fail(`xz block is corrupt or truncated (get_next_output failed with error code ${r})`);
      const got = head[5]!;
      if (ended && got === 0 && r !== XZ_STREAM_END) return fail('xz block is corrupt or truncated (the input ended inside the stream)');
      if (total + got > maxOut) return fail(`xz block decodes to more than ${maxOut} bytes`);
      out.set(mem.subarray(head[4]!, head[4]! + got), total);
      total += got;
      head[5] = 0;
      if (r === XZ_STREAM_END) return out.subarray(0, total);
    }
  } finally {
    ex.destroy_context(ctx);
  }
}

async function xzBlock(input: Uint8Array, maxOut: number, fail: Fail, into?: Uint8Array): Promise<Uint8Array> {
  const direct = await xzExports();
  if (direct) return xzDirect(direct, input, maxOut, fail, into);
  const xz = (await (xzLib ??= import('xz-decompress') as Promise<unknown> as Promise<{ default: typeof import('xz-decompress') }>)).default;
  const reader = new xz.XzReadableStream(new Blob([input]).stream()).getReader();
  const out = new Uint8Array(maxOut);
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (total + value.length > maxOut) {
        await reader.cancel().catch(() => undefined);
        return fail(`xz block decodes to more than ${maxOut} bytes`);
      }
      out.set(value, total);
      total += value.length;
    }
  } catch (e) {
    return fail(`xz block is corrupt or truncated (${(e as Error).message})`);
  }
  return out.subarray(0, total);
}
