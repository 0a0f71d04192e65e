import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { erofsReader } from '../../src/layouts/erofs/read.js';
import { Lz4HcEncoder } from '../../src/layouts/erofs/lz4hc.js';
import { inputSizes, reencodeCluster, type ClusterExtent } from '../../src/layouts/erofs/reencode.js';
import { decodeBlock } from '../../src/layouts/codecs.js';
import { decodeLz4Block } from '../../src/layouts/erofs/lz4-block.js';
import { needTools, ROOT, tempDir } from '../helpers/env.js';
import { mulberry32 } from '../helpers/random.js';
import { makeTree, randomBytes, readLayout, run, textBytes } from './helpers.js';

const fail = (p: string): never => {
  throw new RangeError(p);
};

/** Bytes that exercise every path of the parser: runs of one byte, short periods, text, noise, and mixes of them. */
function mixed(seed: number, n: number): Uint8Array {
  const r = mulberry32(seed);
  const out = new Uint8Array(n);
  let at = 0;
  while (at < n) {
    const kind = Math.floor(r() * 6);
    const len = Math.min(n - at, 1 + Math.floor(r() * (kind === 0 ? 3000 : 400)));
    if (kind === 0) out.fill(Math.floor(r() * 3) * 0x41, at, at + len); // runs of 0x00, 0x41, 0x82
    else if (kind === 1) for (let i = 0; i < len; i++) out[at + i] = i % 2 ? 0x55 : 0xaa;
    else if (kind === 2) out.set(textBytes(Math.floor(r() * 1e6), len), at);
    else if (kind === 3) out.set(randomBytes(Math.floor(r() * 1e6), len), at);
    else if (kind === 4 && at > 70_000) out.copyWithin(at, at - 65_000 - Math.floor(r() * 1000), at - 65_000 - Math.floor(r() * 1000) + len); // near the window's edge
    else if (at > 0) out.copyWithin(at, Math.floor(r() * at), Math.floor(r() * at) + len);
    at += len;
  }
  return out;
}

/** Table tests: the encoder alone, checked by decoding what it wrote. */
describe('lz4hc destSize encoder', () => {
  const inputs: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['12 bytes (below the minimum to compress)', textBytes(1, 12)],
    ['zeros', new Uint8Array(200_000)],
    ['text', textBytes(2, 100_000)],
    ['noise', randomBytes(3, 10_000)],
    ['mixed', mixed(4, 300_000)],
  ];
  for (const [name, input] of inputs) {
    for (const capacity of [1, 16, 100, 4096, 16384]) {
      test(`${name} into ${capacity} bytes: decodes to the input's first "consumed" bytes`, async () => {
        const { out, consumed } = new Lz4HcEncoder().destSize(input, 0, input.length, capacity);
        assert.ok(out.length <= capacity);
        assert.ok(consumed <= input.length);
        const back = await decodeBlock('lz4', out, Math.max(consumed, 1), fail);
        assert.deepEqual(back, input.subarray(0, consumed));
        if (input.length > 0 && capacity >= 16) assert.ok(consumed > 0);
      });
    }
  }

  test('an input that fits whole is consumed whole', () => {
    const input = textBytes(5, 3000);
    assert.equal(new Lz4HcEncoder().destSize(input, 0, input.length, 4096).consumed, 3000);
  });

  test('a start offset reads only from there', async () => {
    const input = mixed(6, 50_000);
    const enc = new Lz4HcEncoder();
    const a = enc.destSize(input, 20_000, 30_000, 4096);
    const b = enc.destSize(input.slice(20_000), 0, 30_000, 4096);
    assert.deepEqual(a, b);
  });

  test('bytes past reach do not matter: the same block and input consumed whatever they are', () => {
    const enc = new Lz4HcEncoder();
    const cases: [string, Uint8Array][] = [
      ['mixed', mixed(7, 300_000)],
      ['zeros then text (a match running far past the block)', Uint8Array.from([...new Uint8Array(200_000), ...textBytes(8, 50_000)])],
    ];
    for (const [name, input] of cases) {
      for (const start of [0, 1000, 150_000]) {
        const a = enc.destSize(input, start, input.length - start, 4096);
        const block = a.out.slice();
        assert.ok(a.reach >= a.consumed && start + a.reach <= input.length, name);
        // Everything from reach on replaced: a compressor that read there would see other bytes.
        const cut = input.slice();
        cut.fill(0x5a, start + a.reach);
        const b = enc.destSize(cut, start, input.length - start, 4096);
        assert.deepEqual([b.out, b.consumed], [block, a.consumed], `${name} from ${start}`);
      }
    }
  });
});

describe('decodeLz4Block', () => {
  test('decodes what the encoder wrote, as lz4js does, and writes nowhere else', async () => {
    const enc = new Lz4HcEncoder();
    for (const [seed, n, cap] of [[9, 200_000, 4096], [10, 100_000, 65_536], [11, 20, 4096]] as const) {
      const input = mixed(seed, n);
      const { out, consumed } = enc.destSize(input, 0, input.length, cap);
      const dest = new Uint8Array(consumed + 20).fill(7);
      assert.equal(decodeLz4Block(out, 0, out.length, dest, 10, 10 + consumed), consumed);
      assert.deepEqual(dest.subarray(10, 10 + consumed), input.subarray(0, consumed));
      assert.deepEqual([...dest.subarray(0, 10), ...dest.subarray(10 + consumed)], new Array(20).fill(7));
      assert.deepEqual(await decodeBlock('lz4', out, consumed, fail), input.subarray(0, consumed));
    }
  });

  test('overlapping matches (offsets 1 to 9) and literal runs of every short length repeat the bytes as the format defines', () => {
    // Hand-made blocks: literals, then a match of `len` at `offset`, then 5 literals; checked against a byte-by-byte decode.
    for (let lits = 1; lits <= 40; lits += 3) {
      for (let offset = 1; offset <= Math.min(9, lits); offset++) {
        for (const len of [4, 5, 7, 8, 9, 15, 18, 19, 31, 33, 64]) {
          const literals = randomBytes(lits * 100 + offset * 7 + len, lits);
          const block: number[] = [];
          const ml = len - 4;
          block.push((Math.min(lits, 15) << 4) | Math.min(ml, 15));
          if (lits >= 15) block.push(lits - 15);
          block.push(...literals, offset & 0xff, offset >>> 8);
          if (ml >= 15) block.push(ml - 15);
          block.push(5 << 4, 1, 2, 3, 4, 5);
          const want = [...literals];
          for (let i = 0; i < len; i++) want.push(want[want.length - offset]!);
          want.push(1, 2, 3, 4, 5);
          const dest = new Uint8Array(want.length + 8).fill(0xee);
          assert.equal(decodeLz4Block(Uint8Array.from(block), 0, block.length, dest, 4, 4 + want.length), want.length, `${lits} literals, offset ${offset}, length ${len}`);
          assert.deepEqual([...dest.subarray(4, 4 + want.length)], want, `${lits} literals, offset ${offset}, length ${len}`);
          assert.deepEqual([...dest.subarray(0, 4), ...dest.subarray(4 + want.length)], new Array(8).fill(0xee));
        }
      }
    }
  });

  test('a corrupt or oversized block gives -1', () => {
    const enc = new Lz4HcEncoder();
    const input = mixed(12, 50_000);
    const { out, consumed } = enc.destSize(input, 0, input.length, 4096);
    const dest = new Uint8Array(consumed);
    assert.equal(decodeLz4Block(out, 0, out.length, dest, 0, consumed - 1), -1, 'one byte short of room');
    assert.equal(decodeLz4Block(out, 0, out.length - 1, dest, 0), -1, 'cut short');
    assert.equal(decodeLz4Block(Uint8Array.from([0x00, 0x00, 0x00]), 0, 3, dest, 0), -1, 'offset 0');
    assert.equal(decodeLz4Block(Uint8Array.from([0x10, 0x41, 0x05, 0x00]), 0, 4, dest, 0), -1, 'offset before the start');
    assert.equal(decodeLz4Block(Uint8Array.from([0xf0, 0xff]), 0, 2, dest, 0), -1, 'length runs off the end');
  });
});

const REF = join(ROOT, 'test', 'layouts', 'lz4hc_ref.py');
/** liblz4 1.9.4 (the version this encoder follows) reached through python3's ctypes, or why not. */
function refLibrary(): string | false {
  const r = spawnSync('/usr/bin/python3', [REF, '--version'], { encoding: 'utf8' });
  if (r.status !== 0) return 'needs /usr/bin/python3 and liblz4.so.1';
  return r.stdout.trim() === '10904' ? false : `needs liblz4 1.9.4, not ${r.stdout.trim()}`;
}

describe('lz4hc destSize encoder against liblz4 1.9.4', { skip: refLibrary() }, () => {
  const { dir, cleanup } = tempDir('isosync-lz4hc-ref-');
  after(cleanup);
  const cases: [string, Uint8Array][] = [
    ['mixed', mixed(30, 400_000)],
    ['text', textBytes(31, 200_000)],
    ['zeros then text', Uint8Array.from([...new Uint8Array(70_000), ...textBytes(32, 50_000)])],
    ['noise', randomBytes(33, 30_000)],
  ];
  for (const [name, input] of cases) {
    test(`${name}: same block and same input consumed, at levels 3 to 9 and outputs of 17 bytes to 64 KiB`, () => {
      const file = join(dir, `${name}.bin`);
      writeFileSync(file, input);
      const enc = new Lz4HcEncoder();
      for (const level of [3, 6, 8, 9]) {
        for (const capacity of [17, 300, 4096, 12_288, 65_536]) {
          const r = spawnSync('/usr/bin/python3', [REF, file, String(capacity), String(level)], { maxBuffer: 1 << 20 });
          assert.equal(r.status, 0, String(r.stderr));
          const ref = r.stdout as Buffer;
          const got = enc.destSize(input, 0, input.length, capacity, level);
          assert.equal(got.consumed, ref.readUInt32LE(0), `level ${level}, ${capacity} bytes: consumed`);
          assert.ok(Buffer.from(got.out).equals(ref.subarray(4)), `level ${level}, ${capacity} bytes: same block`);
        }
      }
    });
  }
});

/** Each pcluster of a real lz4hc image, rebuilt from its file's bytes. */
async function checkImage(opts: string[], files: Map<string, Uint8Array>, level?: number): Promise<{ clusters: number; exact: number }> {
  const { dir, cleanup } = tempDir('isosync-lz4hc-');
  try {
    const root = join(dir, 'root');
    for (const [p, b] of files) {
      mkdirSync(join(root, p, '..'), { recursive: true });
      writeFileSync(join(root, p), b);
    }
    const img = join(dir, 'fs.erofs');
    run('mkfs.erofs', [...opts, '-T0', '--all-root', img, root]);
    const image = readFileSync(img);
    const { layout, src } = await readLayout(erofsReader, img);
    const enc = new Lz4HcEncoder();
    let clusters = 0;
    try {
      for (const f of layout.files) {
        if (f.type !== 'file' || f.evidence === undefined || f.size === 0) continue;
        const content = files.get(f.path)!;
        const las = f.evidence.split('.').map((s) => parseInt(s, 36));
        const extents: ClusterExtent[] = las.map((la, i) => {
          const pa = f.chunks[2 * i]!;
          const plen = f.chunks[2 * i + 1]! - pa;
          // An inline tail sits in the metadata, not block-aligned; a raw extent decodes to itself.
          const inline = pa % 4096 !== 0 || plen < 4096;
          const stored = image.subarray(pa, pa + plen);
          const raw = !inline && stored.subarray(0, Math.min(plen, content.length - la)).every((b, j) => b === content[la + j]);
          return { la, plen, raw, inline };
        });
        const sizes = inputSizes(f.size, extents);
        for (let k = 0; k < extents.length; k++) {
          const x = extents[k]!;
          if (x.raw || x.inline) continue;
          const got = reencodeCluster(enc, content, extents, k, sizes[k]!, level);
          assert.ok(got, `${f.path} extent ${k}: re-encoded`);
          assert.ok(got.exact, `${f.path} extent ${k} at ${x.la}: consumed input ends at the next extent`);
          assert.ok(Buffer.from(got.stored).equals(image.subarray(f.chunks[2 * k]!, f.chunks[2 * k]! + x.plen)), `${f.path} extent ${k} at ${x.la}: same bytes as mkfs.erofs`);
          clusters++;
        }
      }
    } finally {
      await src.close();
    }
    return { clusters, exact: clusters };
  } finally {
    cleanup();
  }
}

describe('lz4hc clusters re-encoded byte for byte as mkfs.erofs wrote them', { skip: needTools('mkfs.erofs') }, () => {
  const tree = (): Map<string, Uint8Array> => {
    const { dir, cleanup } = tempDir('isosync-lz4hc-tree-');
    try {
      return makeTree(dir);
    } finally {
      cleanup();
    }
  };

  test('the layout tests\' tree, with tail packing (the live images\' options)', async () => {
    const { clusters } = await checkImage(['-zlz4hc', '-Eztailpacking'], tree());
    assert.ok(clusters >= 50, `${clusters} clusters checked`);
  });

  test('runs, short periods, far copies and noise mixed, without tail packing', async () => {
    const files = new Map([
      ['/mixed-a', mixed(10, 900_000)],
      ['/mixed-b', mixed(11, 200_003)],
      ['/zeros', new Uint8Array(3_000_000)],
    ]);
    const { clusters } = await checkImage(['-zlz4hc'], files);
    assert.ok(clusters >= 40, `${clusters} clusters checked`);
  });

  test('a file over mkfs.erofs\'s 6000 KiB queue, and level 6', async () => {
    const big = new Uint8Array(6_500_000);
    for (let at = 0, seed = 20; at < big.length; at += 500_000, seed++) big.set(mixed(seed, 500_000).subarray(0, big.length - at), at);
    const { clusters } = await checkImage(['-zlz4hc'], new Map([['/big', big]]));
    assert.ok(clusters >= 200, `${clusters} clusters checked`);
    const small = new Map([['/text', textBytes(13, 400_000)]]);
    assert.ok((await checkImage(['-zlz4hc,6'], small, 6)).clusters >= 20);
  });
});
