import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IsosyncError } from '../../src/errors.js';
import { decodePex, encodePex, MAX_PER_MESSAGE, PEX_INTERVAL_MS, PexFlag, PexSchedule } from '../../src/discovery/pex.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';

const peer = (i: number, flags?: number) => ({ host: `10.0.${i >> 8}.${i & 0xff}`, port: 6881 + i, ...(flags !== undefined ? { flags } : {}) });

describe('ut_pex (BEP 11)', () => {
  it('round-trips IPv4 and IPv6 peers with their flags', () => {
    const m = {
      added: [peer(1, PexFlag.seed | PexFlag.reachable), { host: '::1', port: 7000, flags: PexFlag.utp }, { host: '2001:db8::8:800:200c:417a', port: 51413, flags: 0 }],
      dropped: [peer(2), { host: 'fe80::1', port: 1 }],
    };
    const back = decodePex(encodePex(m));
    assert.deepEqual(back.added, [peer(1, 0x12), { host: '::1', port: 7000, flags: 4 }, { host: '2001:db8::8:800:200c:417a', port: 51413, flags: 0 }]);
    assert.deepEqual(back.dropped, [peer(2), { host: 'fe80::1', port: 1 }]);
  });

  it('reads the compact layout byte for byte (a libtorrent-style message)', () => {
    const payload = encodeBencode({ added: new Uint8Array([127, 0, 0, 1, 0x1a, 0xe1, 192, 168, 1, 2, 0, 0]), 'added.f': new Uint8Array([0x10, 0]), dropped: new Uint8Array(0) });
    assert.deepEqual(decodePex(payload), { added: [{ host: '127.0.0.1', port: 6881, flags: 0x10 }], dropped: [] }, 'port 0 is dropped');
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['not bencode', new Uint8Array([0x78]), /Cannot read a ut_pex message/],
    ['a list', encodeBencode([1]), /not a dictionary/],
    ['a ragged added', encodeBencode({ added: new Uint8Array(7) }), /added is not a multiple of 6 bytes/],
    ['a ragged added6', encodeBencode({ added6: new Uint8Array(17) }), /added6 is not a multiple of 18 bytes/],
    ['a flood of peers', encodeBencode({ added: new Uint8Array(6 * 201) }), /lists 201 peers, more than 200/],
  ];
  for (const [name, payload, message] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => decodePex(payload), (e: unknown) => e instanceof IsosyncError && e.code === 'BAD_REPLY' && message.test(e.message));
    });
  }

  it('tells a new peer everyone at once, then at most once a minute, only the difference, 50 at a time', () => {
    const me = { host: '127.0.0.1', port: 6881 };
    const s = new PexSchedule(me);
    const t0 = 1_000_000;
    assert.equal(s.next(t0, []), undefined, 'nothing to tell');
    assert.deepEqual(s.next(t0, [me, peer(1), peer(2)]), { added: [peer(1), peer(2)], dropped: [] }, 'first message at once, without ourselves');
    assert.equal(s.next(t0 + 1000, [peer(1), peer(2), peer(3)]), undefined, 'rate limited');
    assert.equal(s.waitMs(t0 + 1000), PEX_INTERVAL_MS - 1000);
    assert.deepEqual(s.next(t0 + PEX_INTERVAL_MS, [peer(2), peer(3)]), { added: [peer(3)], dropped: [peer(1)] });
    assert.equal(s.next(t0 + 3 * PEX_INTERVAL_MS, [peer(2), peer(3)]), undefined, 'no change, nothing sent');
    const many = Array.from({ length: 120 }, (_, i) => peer(100 + i));
    const big = s.next(t0 + 4 * PEX_INTERVAL_MS, many)!;
    assert.equal(big.added.length, MAX_PER_MESSAGE);
    assert.equal(big.dropped.length, 2);
    assert.equal(s.next(t0 + 5 * PEX_INTERVAL_MS, many)!.added.length, MAX_PER_MESSAGE, 'the rest follows');
    assert.equal(s.next(t0 + 6 * PEX_INTERVAL_MS, many)!.added.length, 20);
  });
});
