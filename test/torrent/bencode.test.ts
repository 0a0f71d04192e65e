import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BencodeError, decodeBencode, MAX_DEPTH, type BValue } from '../../src/torrent/bencode-decode.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { isError } from '../helpers/errors.js';

const b = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const text = (v: BValue | undefined) => Buffer.from(v as Uint8Array).toString('latin1');

describe('bencode decoder', () => {
  it('decodes integers, byte strings, lists and dictionaries', () => {
    const { value } = decodeBencode(b('d1:ai-42e1:bl3:xyzi0ee1:cd0:0:ee'));
    assert.ok(value instanceof Map);
    assert.equal(value.get('a'), -42);
    const list = value.get('b') as BValue[];
    assert.equal(text(list[0]), 'xyz');
    assert.equal(list[1], 0);
    const inner = value.get('c') as Map<string, BValue>;
    assert.equal(text(inner.get('')), '');
  });

  it('returns integers beyond 2^53 as bigint', () => {
    assert.equal(decodeBencode(b('i18446744073709551616e')).value, 18446744073709551616n);
    assert.equal(decodeBencode(b('i9007199254740991e')).value, 9007199254740991);
  });

  it('gives the raw byte span of the top-level info value only', () => {
    const src = 'd4:infod1:xi1ee1:zd4:infoi5eee';
    const { infoSpan } = decodeBencode(b(src));
    assert.deepEqual(infoSpan, { start: 7, end: 15 });
    assert.equal(src.slice(7, 15), 'd1:xi1ee');
    assert.equal(decodeBencode(b('d1:zd4:infoi5eee')).infoSpan, undefined);
  });

  const rejects: [string, string, RegExp][] = [
    ['leading zero', 'i01e', /not canonical/],
    ['minus zero', 'i-0e', /not canonical/],
    ['empty integer', 'ie', /not a decimal number/],
    ['plus sign', 'i+1e', /not a decimal number/],
    ['unterminated integer', 'i12', /no end marker/],
    ['string length with leading zero', '03:abc', /leading zero/],
    ['string longer than input', '10:abc', /past the end of the data \(3 bytes left\)/],
    ['string without colon', '12', /no ":"/],
    ['unsorted keys', 'd1:bi1e1:ai2ee', /not sorted: "a" at byte 7 comes after "b"/],
    ['duplicate keys', 'd1:ai1e1:ai2ee', /duplicate dictionary key "a"/],
    ['integer key', 'di1ei2ee', /key at byte 1 is not a byte string/],
    ['trailing data', 'i1ei2e', /3 bytes of trailing data/],
    ['unterminated list', 'li1e', /unexpected end of data at byte 4/],
    ['empty input', '', /unexpected end of data at byte 0/],
    ['stray byte', 'x', /unexpected byte 0x78 \("x"\) at byte 0/],
  ];
  for (const [what, input, re] of rejects) {
    it(`rejects ${what}`, () => {
      assert.throws(() => decodeBencode(b(input)), (e: unknown) => e instanceof BencodeError && re.test(e.message));
    });
  }

  it('sorts keys by raw bytes, not by UTF-16 code units', () => {
    // "Z" (0x5a) < "a" (0x61) < "\xe9" (0xc3 0xa9 in UTF-8)
    assert.doesNotThrow(() => decodeBencode(b('d1:Zi1e1:ai2e2:\xc3\xa9i3ee')));
  });

  it('refuses nesting past the depth limit without overflowing the stack', () => {
    const ok = `${'l'.repeat(MAX_DEPTH)}${'e'.repeat(MAX_DEPTH)}`;
    assert.doesNotThrow(() => decodeBencode(b(ok)));
    const deep = `${'l'.repeat(100000)}${'e'.repeat(100000)}`;
    assert.throws(() => decodeBencode(b(deep)), /nested deeper than 64 levels at byte 64/);
  });
});

describe('bencode encoder', () => {
  it('writes canonical bencode with keys sorted by raw bytes', () => {
    const out = encodeBencode({ b: 1, a: 'x', 'piece length': 2, Z: [1, 'y'], skip: undefined });
    assert.equal(Buffer.from(out).toString('latin1'), 'd1:Zli1e1:ye1:a1:x1:bi1e12:piece lengthi2ee');
  });

  it('round-trips decoded values byte for byte', () => {
    const src = b('d1:ali1ei-2e3:\x00\xffze2:\xff\xfed0:i7eee');
    assert.deepEqual(encodeBencode(decodeBencode(src).value), src);
  });

  it('refuses values bencode cannot hold', () => {
    for (const v of [1.5, null, { a: true }]) assert.throws(() => encodeBencode(v as never), isError('INTERNAL'), JSON.stringify(v));
  });
});
