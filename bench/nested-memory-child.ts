/**
 * One measurement of nested-memory-bench, in a process of its own (run with
 * --expose-gc): reads the layout of IMAGE (FORMAT: squashfs or erofs) with
 * the readers of the build at ROOT (its dist/), and prints, as one JSON line,
 * the entries listed and the heap it keeps while the layout is held (V8 heap
 * plus ArrayBuffer backing stores, after a full GC before and after).
 *
 *   node --expose-gc dist/bench/nested-memory-child.js ROOT FORMAT IMAGE
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, format, image] = process.argv.slice(2) as [string, string, string];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(join(root, 'dist', 'src', rel)).href)) as T;
type Reader = { read(src: unknown, name: string, limits: unknown, budget: unknown): Promise<{ files: { count?: number; length?: number } }> };
const { FileSource } = await load<{ FileSource: { open(p: string): Promise<unknown> } }>('store/file-source.js');
const { DEFAULT_LIMITS, MetadataBudget } = await load<{ DEFAULT_LIMITS: unknown; MetadataBudget: new (n: number) => unknown }>('layouts/layout.js');
const mod = await load<Record<string, Reader>>(`layouts/${format}/read.js`);
const reader = mod[`${format}Reader`]!;
const src = await FileSource.open(image);

const used = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const before = used();
const cpu0 = process.cpuUsage();
const layout = await reader.read(src, image, DEFAULT_LIMITS, new MetadataBudget(1 << 30));
const cpu = process.cpuUsage(cpu0);
const after = used();
const entries = layout.files.count ?? layout.files.length ?? 0;
process.stdout.write(`${JSON.stringify({ entries, retained: after - before, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
// Held to here: the measurement above is of a live layout.
if (entries < 0) process.stdout.write(String(layout));
