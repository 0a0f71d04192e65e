/**
 * The RPM header reader on hand-built minimal packages (lead, signature
 * header, main header, a few payload bytes): what it reads, and the one-line
 * error it gives for each defect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readRpmHeader } from '../../src/packages/rpm-header.js';
import { RecordingSource, MemorySource } from '../../src/store/byte-source.js';
import { IsosyncError } from '../../src/errors.js';
import { baseTags, headerStructure, INT32, INT64, rpm, STRING, type Tag } from './make-rpm.js';

async function failure(bytes: Uint8Array): Promise<string> {
  try {
    await readRpmHeader(bytes, 'demo.rpm');
  } catch (e) {
    assert.ok(e instanceof IsosyncError, `not an IsosyncError: ${String(e)}`);
    assert.equal(e.code, 'BAD_PACKAGE');
    assert.doesNotMatch(e.message, /\n/);
    return e.message;
  }
  assert.fail('expected the reader to refuse the package');
}

test('reads name, epoch, version, release, arch and installed size from a minimal package', async () => {
  const bytes = rpm();
  const h = await readRpmHeader(bytes, 'demo.rpm');
  assert.equal(h.name, 'demo');
  assert.equal(h.epoch, 2);
  assert.equal(h.version, '1.0~rc1');
  assert.equal(h.release, '3.fc40');
  assert.equal(h.arch, 'x86_64');
  assert.equal(h.evr, '2:1.0~rc1-3.fc40');
  assert.equal(h.installedSize, 123456);
  assert.equal(h.sourcePackage, false);
  assert.equal(h.payloadOffset, bytes.length - 40);
});

test('omits the epoch when the header has no EPOCH tag', async () => {
  const h = await readRpmHeader(rpm({ tags: baseTags().filter((t) => t.tag !== 1003) }), 'demo.rpm');
  assert.equal(h.epoch, undefined);
  assert.equal(h.evr, '1.0~rc1-3.fc40');
});

test('a package without SOURCERPM is a source package with arch "src"', async () => {
  const h = await readRpmHeader(rpm({ tags: baseTags().filter((t) => t.tag !== 1044) }), 'demo.src.rpm');
  assert.equal(h.sourcePackage, true);
  assert.equal(h.arch, 'src');
});

test('reads only the lead and headers, never the payload', async () => {
  const bytes = rpm({ payload: 100_000 });
  const src = new RecordingSource(new MemorySource(bytes));
  const h = await readRpmHeader(src, 'demo.rpm');
  const last = src.ranges().at(-1)!;
  assert.ok(last.end <= h.payloadOffset, `read up to ${last.end}, payload starts at ${h.payloadOffset}`);
});

test('accepts a LONGSIZE (int64) signature size', async () => {
  const header = headerStructure(baseTags());
  const sig = headerStructure([{ tag: 270, type: INT64, value: BigInt(header.length + 40) }]);
  assert.equal((await readRpmHeader(rpm({ header, sig }), 'demo.rpm')).name, 'demo');
});

test('a signature without a size tag is accepted', async () => {
  assert.equal((await readRpmHeader(rpm({ sigSize: null }), 'demo.rpm')).name, 'demo');
});

test('refuses a wrong lead magic, naming the bytes', async () => {
  assert.equal(await failure(rpm({ leadMagic: [0x50, 0x4b, 0x03, 0x04] })), 'Cannot read RPM "demo.rpm": lead magic is 50 4b 03 04, not ed ab ee db');
});

test('refuses a file shorter than the lead', async () => {
  assert.match(await failure(rpm().subarray(0, 50)), /^Cannot read RPM "demo\.rpm": lead at byte 0 needs 96 bytes, past the end of the file \(50 bytes\)$/);
});

test('refuses a wrong header structure magic', async () => {
  const header = headerStructure(baseTags(), { magic: [0x8e, 0xad, 0xe8, 0x02] });
  assert.match(await failure(rpm({ header })), /: header magic at byte \d+ is 8e ad e8 02, not 8e ad e8 01$/);
});

test('refuses a truncated package: header past the end of the file', async () => {
  const bytes = rpm({ payload: 0, sigSize: null });
  assert.match(await failure(bytes.subarray(0, bytes.length - 10)), /: header at byte \d+ ends at byte \d+, past the end of the file \(\d+ bytes\)$/);
});

test('refuses a package cut inside its payload, by the signature size', async () => {
  const bytes = rpm({ payload: 1000 });
  assert.match(await failure(bytes.subarray(0, bytes.length - 500)), /: signature says header and payload take \d+ bytes, but the file has \d+ after the signature \(truncated or padded\)$/);
});

test('refuses an index count above the limit', async () => {
  const header = headerStructure(baseTags(), { indexCount: 70000 });
  assert.equal(await failure(rpm({ header })), 'Cannot read RPM "demo.rpm": header index count 70000 is above the limit 65535');
});

test('refuses a signature data size above the limit', async () => {
  const sig = headerStructure([{ tag: 1000, type: INT32, value: 1 }], { dataSize: 0x10000000 });
  assert.equal(await failure(rpm({ sig })), 'Cannot read RPM "demo.rpm": signature header data size 268435456 is above the limit 268435455');
});

test('refuses an index entry whose offset is outside the data store', async () => {
  const tags = baseTags();
  tags[1] = { ...tags[1]!, offset: 5000 };
  assert.match(await failure(rpm({ tags })), /: header index entry 1 \(tag 1001\) has offset 5000, outside its \d+-byte data store$/);
});

test('refuses a misaligned INT32 entry', async () => {
  const tags = baseTags();
  tags[3] = { ...tags[3]!, offset: 1 };
  assert.match(await failure(rpm({ tags })), /: header index entry 3 \(tag 1003\) has offset 1, not aligned to 4 bytes$/);
});

test('refuses a string that runs to the end of the store without a NUL', async () => {
  // VERSION points at the last byte of the store, which is not a NUL (SIZE's low byte).
  const tags = [...baseTags().filter((t) => t.tag !== 1044 && t.tag !== 1022), { tag: 1022, type: STRING, value: 'x86_64' }, { tag: 1009 + 1, type: INT32, value: 0x41414141 }];
  const h = headerStructure(tags);
  const storeSize = new DataView(h.buffer).getUint32(12);
  const fixed = headerStructure(tags.map((t) => (t.tag === 1001 ? { ...t, offset: storeSize - 1 } : t)));
  assert.match(await failure(rpm({ header: fixed })), /: header tag VERSION \(1001\) at store offset \d+ has no terminating NUL within 1 bytes$/);
});

test('refuses a header without NAME', async () => {
  assert.equal(await failure(rpm({ tags: baseTags().filter((t) => t.tag !== 1000) })), 'Cannot read RPM "demo.rpm": header lacks the NAME tag (1000)');
});

test('refuses NAME stored with the wrong type', async () => {
  const tags = baseTags();
  tags[0] = { tag: 1000, type: INT32, value: 7 };
  assert.equal(await failure(rpm({ tags })), 'Cannot read RPM "demo.rpm": header tag NAME (1000) has type 4, expected 6');
});

test('random corruption of a valid package gives a result or the project\'s own error', async () => {
  const good = rpm({ payload: 64 });
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  for (let i = 0; i < 2000; i++) {
    const bad = good.slice();
    for (let k = 0; k <= rand(4); k++) bad[rand(bad.length - 40)] = rand(256);
    const cut = rand(3) === 0 ? bad.subarray(0, rand(bad.length)) : bad;
    try {
      await readRpmHeader(cut, 'demo.rpm');
    } catch (e) {
      assert.ok(e instanceof IsosyncError && e.code === 'BAD_PACKAGE', `mutation ${i}: ${String(e)}`);
    }
  }
});
