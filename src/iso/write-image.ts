/**
 * Writes a planned image (master-plan.ts) to `OUT.part`, then fsyncs and
 * renames it to OUT: the output appears under its final name only when
 * complete. Bytes come from the plan's segments in block order; the gaps
 * between them are the base's at the same offset (or zeros past its end).
 * The base is opened read-only by the caller and never written.
 */
import { constants } from 'node:fs';
import { copyFile, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { IsosyncError, quote } from '../errors.js';
import type { ByteSource } from '../store/byte-source.js';
import { patchBootInfoTable } from './eltorito-write.js';
import type { RemasterPlan, Segment } from './master-plan.js';

/** Output is gathered and written in buffers of this size. */
const WRITE_BYTES = 4 * 1024 * 1024;
/** A boot image patched in memory (boot info table) is at most this big. */
const MAX_BOOT_IMAGE_BYTES = 64 * 1024 * 1024;

class Output {
  private buf = Buffer.alloc(WRITE_BYTES);
  private used = 0;
  pos = 0;

  constructor(private readonly h: FileHandle, private readonly path: string) {}

  async put(bytes: Uint8Array): Promise<void> {
    let o = 0;
    while (o < bytes.length) {
      const n = Math.min(bytes.length - o, WRITE_BYTES - this.used);
      this.buf.set(bytes.subarray(o, o + n), this.used);
      this.used += n;
      o += n;
      if (this.used === WRITE_BYTES) await this.flush();
    }
  }

  async zeros(n: number): Promise<void> {
    for (let left = n; left > 0;) {
      const k = Math.min(left, WRITE_BYTES - this.used);
      this.buf.fill(0, this.used, this.used + k);
      this.used += k;
      left -= k;
      if (this.used === WRITE_BYTES) await this.flush();
    }
  }

  /** Continues writing at byte `to`. */
  async seek(to: number): Promise<void> {
    await this.flush();
    this.pos = to;
  }

  async flush(): Promise<void> {
    let o = 0;
    while (o < this.used) {
      const { bytesWritten } = await this.h.write(this.buf, o, this.used - o, this.pos);
      if (bytesWritten === 0) throw new IsosyncError('IO', `Cannot write ${quote(this.path)}: the disk took no bytes`, { path: this.path });
      o += bytesWritten;
      this.pos += bytesWritten;
    }
    this.used = 0;
  }
}

/** Reads tree files for file segments, keeping the last one open. */
class TreeFiles {
  private path = '';
  private h: FileHandle | undefined;
  private patched = new Map<string, Uint8Array>();

  constructor(private readonly root: string) {}

  async read(s: Extract<Segment, { kind: 'file' }>): Promise<Uint8Array> {
    if (s.bootInfoLba !== undefined) {
      let whole = this.patched.get(s.path);
      if (!whole) {
        whole = await this.readAll(s.path);
        patchBootInfoTable(whole, s.bootInfoLba);
        this.patched.set(s.path, whole);
      }
      return whole.subarray(s.offset, s.offset + s.fileBytes);
    }
    const h = await this.handle(s.path);
    const out = Buffer.allocUnsafe(s.fileBytes);
    let o = 0;
    while (o < s.fileBytes) {
      const { bytesRead } = await h.read(out, o, s.fileBytes - o, s.offset + o);
      if (bytesRead === 0) throw new IsosyncError('IO', `Cannot read ${quote(join(this.root, s.path))}: it shrank while the image was written`, { path: s.path });
      o += bytesRead;
    }
    return out;
  }

  private async readAll(path: string): Promise<Uint8Array> {
    const h = await this.handle(path);
    const st = await h.stat();
    if (st.size > MAX_BOOT_IMAGE_BYTES) throw new IsosyncError('UNSUPPORTED', `Cannot patch the boot information table of ${quote(path)}: ${st.size} bytes is more than ${MAX_BOOT_IMAGE_BYTES}`, { path });
    const out = Buffer.alloc(st.size);
    let o = 0;
    while (o < st.size) {
      const { bytesRead } = await h.read(out, o, st.size - o, o);
      if (bytesRead === 0) break;
      o += bytesRead;
    }
    return out;
  }

  private async handle(path: string): Promise<FileHandle> {
    if (this.h && this.path === path) return this.h;
    await this.close();
    this.h = await open(join(this.root, path), 'r');
    this.path = path;
    return this.h;
  }

  async close(): Promise<void> {
    await this.h?.close();
    this.h = undefined;
  }
}

/**
 * Writes `plan` as `out` (through `out.part`): the part starts as a copy of
 * the base (the kernel copies it: copy_file_range, or a reflink where the
 * file system has them), cut or extended to the new size, and every segment
 * is written over it; `tree` is the folder file segments name paths in.
 */
export async function writeImage(plan: RemasterPlan, base: ByteSource, basePath: string, tree: string, out: string): Promise<void> {
  const part = `${out}.part`;
  let h: FileHandle;
  try {
    await copyFile(basePath, part, constants.COPYFILE_FICLONE);
    h = await open(part, 'r+');
  } catch (e) {
    await rm(part, { force: true });
    throw new IsosyncError('IO', `Cannot create ${quote(part)}: ${(e as Error).message}`, { path: part }, { cause: e });
  }
  const files = new TreeFiles(tree);
  let ok = false;
  try {
    await h.truncate(plan.imageBytes);
    const o = new Output(h, part);
    let at = -1;
    for (const s of plan.segments) {
      if (s.at < at) throw new IsosyncError('INTERNAL', `Cannot write the image: segments overlap at byte ${s.at}`, { offset: s.at });
      if (s.at !== at) await o.seek(s.at);
      if (s.kind === 'bytes') await o.put(s.bytes.subarray(0, s.length));
      else if (s.kind === 'base') {
        for (let d = 0; d < s.length; d += WRITE_BYTES) await o.put(await base.read(s.offset + d, Math.min(WRITE_BYTES, s.length - d)));
      } else {
        for (let d = 0; d < s.fileBytes; d += WRITE_BYTES) {
          const n = Math.min(WRITE_BYTES, s.fileBytes - d);
          await o.put(await files.read({ ...s, offset: s.offset + d, fileBytes: n }));
        }
        await o.zeros(s.length - s.fileBytes);
      }
      at = s.at + s.length;
    }
    await o.flush();
    await h.sync();
    ok = true;
  } catch (e) {
    if (e instanceof IsosyncError) throw e;
    throw new IsosyncError('IO', `Cannot write ${quote(part)}: ${(e as Error).message}`, { path: part }, { cause: e });
  } finally {
    await files.close();
    await h.close();
    if (!ok) await rm(part, { force: true });
  }
  await rename(part, out);
  const d = await open(dirname(out), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
