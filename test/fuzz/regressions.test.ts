/**
 * Defects the fuzzer found, each pinned by the input that showed it
 * (written out by hand, so the test does not depend on the mutation engine):
 *
 *   - peer-wire input 69213 (seed 1): an extended handshake whose bencode
 *     holds a negative string length (`-3:`) made the `bencode` package inside
 *     bittorrent-protocol loop forever: one 92-byte message from a peer hung
 *     the process. SafeWire now checks the shape of that bencode first.
 *   - rpm-metadata input 7717: see test/packages/indexes.test.ts.
 *   - erofs inputs 99979, 219912 and 8 more of 1,000,000 (seed 1): a
 *     directory inode with a compressed data layout and size 0 has no cluster
 *     map, and reading its content threw a TypeError instead of reading it
 *     as empty. Rebuilt here from the committed live fixture's EROFS image.
 *   - squashfs inputs 81727, 120365, 160516, 215193 and 428599 (seed 1): the
 *     zstd metadata block at byte 48450 (two distinct 212-byte blocks) holds
 *     FSE-coded Huffman weights whose states read 0 bits each, and fzstd
 *     0.1.1 decoded weights forever. zstd blocks now go to libzstd's own
 *     decoder (zstddec), which bounds the weights as the format does.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { readEntryChunks, readIso } from '../../src/iso/index.js';
import { erofsReader } from '../../src/layouts/erofs/read.js';
import { COMPACT, EXTENDED, LAYOUT, SB, SUPERBLOCK_OFFSET } from '../../src/layouts/erofs/format.js';
import { DEFAULT_LIMITS, MetadataBudget } from '../../src/layouts/layout.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { FileSource } from '../../src/store/file-source.js';
import { bencodeValueEnd } from '../../src/torrent/bencode-decode.js';
import { decodeBlock } from '../../src/layouts/codecs.js';
import { fixture, hasTool, ROOT, runOk, tempDir } from '../helpers/env.js';

const b = (s: string): Uint8Array => Buffer.from(s, 'latin1');

test('bencodeValueEnd accepts any well-shaped value, canonical or not, and says where it ends', () => {
  const ok: [string, number][] = [
    ['i42e', 4], ['i-7e', 4], ['i007e', 5], ['0:', 2], ['3:abc', 5], ['le', 2], ['de', 2],
    ['d1:b1:x1:a1:ye', 14], // keys out of order: a lenient decoder takes it, so may we
    ['l4:spami42eld1:ai1eeee', 22],
    ['d1:md11:ut_metadatai1eee', 24],
    ['d8:msg_typei1e5:piecei0eeRAW PIECE BYTES', 25], // ut_metadata data: the dictionary, then raw bytes
  ];
  for (const [text, end] of ok) assert.equal(bencodeValueEnd(b(text)), end, text);
  assert.equal(bencodeValueEnd(b('xxi5e'), 2), 5, 'from an offset');
});

test('bencodeValueEnd refuses every shape that can make a lenient decoder loop or misread', () => {
  const bad = [
    'd1:md11:ut_metadatai1e6:ut_pexi2ee-3:metadata_sizei1234ee', // the fuzzer's input: a negative string length
    '-3:abc', '3:ab', '99999999999999999:x', ':', '3abc', 'i12', 'ie', 'i1-2e', 'i--1e', 'l', 'd', 'e',
    'di1ei2ee', // a key that is not a byte string
    'd1:ae', // a key without a value
    'x', '',
    'l'.repeat(65) + 'e'.repeat(65),
  ];
  for (const text of bad) assert.throws(() => bencodeValueEnd(b(text)), (e: unknown) => e instanceof IsosyncError && e.code === 'BAD_BENCODE', JSON.stringify(text));
  assert.equal(bencodeValueEnd(b('l'.repeat(64) + 'e'.repeat(64))), 128, '64 levels are fine');
});

test('a peer whose extended handshake holds "-3:" is dropped with one violation instead of hanging the process', () => {
  // The exact bytes of fuzz input 69213's first messages: our handshake is answered, then the extended handshake.
  const script = `
    const { SafeWire } = await import(${JSON.stringify(join(ROOT, 'dist', 'src', 'swarm', 'safe-wire.js'))});
    const IH = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');
    const PID = Buffer.from('-IS0100-fuzzfuzzfuzz', 'latin1');
    const reserved = Buffer.alloc(8); reserved[5] = 0x10; reserved[7] = 0x04;
    const hs = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), reserved, IH, PID]);
    const ext = Buffer.from('d1:md11:ut_metadatai1e6:ut_pexi2ee-3:metadata_sizei1234e1:pi6881e4:reqqi250e1:v8:fuzz 1.0e', 'latin1');
    const msg = Buffer.alloc(6); msg.writeUInt32BE(ext.length + 2); msg[4] = 20; msg[5] = 0;
    const w = new SafeWire('tcpOutgoing', 100);
    const seen = [];
    w.onViolation = (why) => seen.push(why);
    w.handshake(IH, PID, { fast: true, dht: false });
    w._write(Buffer.concat([hs, msg, ext]), () => {});
    process.stdout.write(JSON.stringify(seen));
    w.destroy();
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.signal, null, 'the wire returned (it hung before: killed after 20 s)');
  assert.equal(r.status, 0, r.stderr);
  const violations = JSON.parse(r.stdout) as string[];
  assert.equal(violations.length, 1);
  assert.match(violations[0]!, /^sent extended message 0 that is not bencode \(.*dictionary key at byte 36 is not a byte string/);
});

test('a ut_metadata or ut_pex message holding "-3:" drops the peer with one violation before the extension or the library decodes it', () => {
  const script = `
    const { SafeWire } = await import(${JSON.stringify(join(ROOT, 'dist', 'src', 'swarm', 'safe-wire.js'))});
    const { serveMetadata } = await import(${JSON.stringify(join(ROOT, 'dist', 'src', 'swarm', 'metadata-extension.js'))});
    const { pexExtension } = await import(${JSON.stringify(join(ROOT, 'dist', 'src', 'swarm', 'pex-extension.js'))});
    const IH = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');
    const PID = Buffer.from('-IS0100-fuzzfuzzfuzz', 'latin1');
    const reserved = Buffer.alloc(8); reserved[5] = 0x10; reserved[7] = 0x04;
    const hs = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), reserved, IH, PID]);
    const message = (ext, payload) => { const p = Buffer.from(payload, 'latin1'); const h = Buffer.alloc(6); h.writeUInt32BE(p.length + 2); h[4] = 20; h[5] = ext; return Buffer.concat([h, p]); };
    const hooks = { connected: () => [], onPeers: () => {}, subscribe: () => () => {}, peerAddress: () => undefined, now: () => 0 };
    const out = {};
    for (const [name, id] of [['ut_metadata', 1], ['ut_pex', 2]]) {
      const w = new SafeWire('tcpOutgoing', 100);
      w.use(serveMetadata(Buffer.from('d6:lengthi1e4:name1:x12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae', 'latin1')));
      w.use(pexExtension(hooks));
      const seen = [];
      w.onViolation = (why) => seen.push(why);
      w.handshake(IH, PID, { fast: true, dht: false });
      const theirs = message(0, 'd1:md11:ut_metadatai3e6:ut_pexi4ee13:metadata_sizei60ee');
      w._write(Buffer.concat([hs, theirs, message(id, name === 'ut_metadata' ? 'd8:msg_typei0e5:piece-3:xe' : 'd5:added-3:xe')]), () => {});
      out[name] = seen;
      w.destroy();
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.signal, null, 'the wire returned (a hang is killed after 20 s)');
  assert.equal(r.status, 0, r.stderr);
  const seen = JSON.parse(r.stdout) as Record<string, string[]>;
  assert.equal(seen['ut_metadata']!.length, 1, JSON.stringify(seen));
  assert.match(seen['ut_metadata']![0]!, /^sent extended message 1 that is not bencode/);
  assert.equal(seen['ut_pex']!.length, 1, JSON.stringify(seen));
  assert.match(seen['ut_pex']![0]!, /^sent extended message 2 that is not bencode/);
});

test('an EROFS directory with a compressed layout and size 0 reads as empty, or fails with the project\'s error, never a TypeError', async () => {
  const src = await FileSource.open(fixture('live', 'live-erofs-1.iso'));
  let image: Uint8Array;
  try {
    const img = await readIso(src, { name: 'live-erofs-1.iso' });
    const entry = img.entries.find((e) => e.type === 'file' && /squashfs\.img$/.test(e.path))!;
    const chunks: Uint8Array[] = [];
    for await (const c of readEntryChunks(src, entry)) chunks.push(c.slice());
    image = Buffer.concat(chunks);
  } finally {
    await src.close();
  }
  // The root directory's inode (superblock root_nid, at meta_blkaddr * block + nid * 32): layout "compressed full", size 0.
  const sb = Buffer.from(image.buffer, image.byteOffset + SUPERBLOCK_OFFSET, 128);
  const at = sb.readUInt32LE(SB.metaBlkaddr) * 2 ** sb[SB.blkszbits]! + sb.readUInt16LE(SB.rootNid) * 32;
  const ino = Buffer.from(image.buffer, image.byteOffset + at, 64);
  const format = ino.readUInt16LE(COMPACT.format);
  ino.writeUInt16LE((format & ~0b1110) | (LAYOUT.COMPRESSED_FULL << 1), COMPACT.format);
  if (format & 1) ino.writeBigUInt64LE(0n, EXTENDED.size);
  else ino.writeUInt32LE(0, COMPACT.size);
  try {
    const layout = await erofsReader.read(new MemorySource(image), 'squashfs.img', DEFAULT_LIMITS, new MetadataBudget(64 * 1024 * 1024));
    assert.equal(layout.files.filter((f) => f.path.split('/').length === 1).length, 0, 'an empty root lists nothing under it');
  } catch (e) {
    assert.ok(e instanceof IsosyncError, `a foreign error: ${(e as Error).stack}`);
  }
});

/** The zstd block of squashfs fuzz input 81727 (seed 1); input 160516's differs in byte 83. */
const ZSTD_ENDLESS_WEIGHTS = '28b52ffd603a00550600928f2b23f06b3306b0aa62fd5f7aa0c354ae1a0dc2b696d57ed15f7575df5457b156fe7fb35ba672425eeb01b5382628316766c015b7efb5ae4faaa51eefe6b5ceac649f95bc5df01aa094275b346fd655a5092e1e082e0ebcfecb3f78b9c878adaf899f7025e3ba2721833526638331688a12932fda265963d1c2087b5073b846fdacaf87bff04610941515dd83d7abf33bbf479b76c668c1ebb562a9f65a7fc4cfac3ba1f4cce72424ce0bafdff037070a208099e1019bcb389a8cbd0608093eb14416908903675008';

function zstdEndlessWeights(): Buffer[] {
  const a = Buffer.from(ZSTD_ENDLESS_WEIGHTS, 'hex');
  const b = Buffer.from(a);
  b[83] = 0xa8;
  return [a, b];
}

test('a zstd block whose Huffman weights never end is refused as corrupt, and the call returns', () => {
  const script = `
    const { decodeBlock } = await import(${JSON.stringify(join(ROOT, 'dist', 'src', 'layouts', 'codecs.js'))});
    const { IsosyncError } = await import(${JSON.stringify(join(ROOT, 'dist', 'src', 'errors.js'))});
    const codes = [];
    for (const hex of ${JSON.stringify(zstdEndlessWeights().map((x) => x.toString('hex')))}) {
      try {
        await decodeBlock('zstd', Buffer.from(hex, 'hex'), 8192, (p) => { throw new IsosyncError('BAD_ISO', p); });
        codes.push('decoded');
      } catch (e) {
        codes.push(e instanceof IsosyncError ? e.code : String(e));
      }
    }
    process.stdout.write(JSON.stringify(codes));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.signal, null, 'the decoder returned (it looped before: killed after 20 s)');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ['BAD_ISO', 'BAD_ISO']);
});

test('zstd blocks: what the zstd tool writes decodes; what it calls corrupt, a bad checksum, a second frame or a block over the bound is refused', { skip: !hasTool('zstd') && 'zstd is not installed' }, async () => {
  const { dir, cleanup } = tempDir('isosync-zstd-');
  const fail = (p: string): never => {
    throw new IsosyncError('BAD_ISO', p);
  };
  try {
    const text = Buffer.from('squashfs metadata, or a block of a file; '.repeat(190));
    writeFileSync(join(dir, 'block'), text);
    runOk('zstd', ['-q', '--check', join(dir, 'block'), '-o', join(dir, 'block.zst')]);
    const frame = readFileSync(join(dir, 'block.zst'));
    assert.deepEqual(Buffer.from(await decodeBlock('zstd', frame, 8192, fail)), text);
    for (const [i, bad] of zstdEndlessWeights().entries()) {
      writeFileSync(join(dir, `fuzz-${i}.zst`), bad);
      assert.equal(spawnSync('zstd', ['-q', '-t', join(dir, `fuzz-${i}.zst`)]).status !== 0, true, 'the zstd tool calls the fuzz block corrupt too');
    }
    const badSum = Buffer.from(frame);
    badSum[badSum.length - 1]! ^= 1;
    const refusals: [string, Buffer, number][] = [
      ['a wrong checksum', badSum, 8192],
      ['a second frame', Buffer.concat([frame, frame]), 8192],
      ['more than the bound', frame, text.length - 1],
      ['a truncated frame', frame.subarray(0, frame.length - 6), 8192],
    ];
    for (const [what, bytes, max] of refusals) {
      await assert.rejects(decodeBlock('zstd', bytes, max, fail), (e: unknown) => e instanceof IsosyncError && e.code === 'BAD_ISO', what);
    }
  } finally {
    cleanup();
  }
});
