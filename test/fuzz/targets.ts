/**
 * The fuzz targets: one per parser of hostile input. Each names its seeds
 * (the committed fixtures where they exist, else messages made by the
 * project's own encoders), the tokens worth inserting, and how to run one
 * input. Running an input must end in a value or in the project's own
 * IsosyncError; anything else (a TypeError, a RangeError, a stack overflow,
 * a hang, running out of memory) is a defect the runner reports with the
 * input's index.
 *
 * Adding a parser is one entry in TARGETS (a name, seeds, run).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsosyncError } from '../../src/errors.js';
import { encodeHints } from '../../src/delta/hint-format.js';
import { computeHintSets } from '../../src/delta/hints.js';
import { readEntryChunks, readIso, regionMap } from '../../src/iso/index.js';
import { listArMembers } from '../../src/packages/ar.js';
import { readDebControl } from '../../src/packages/deb.js';
import { parseDeb822 } from '../../src/packages/deb822.js';
import { parsePackagesIndex, parseRpmPrimary, primaryLocation } from '../../src/packages/indexes.js';
import { readRpmHeader } from '../../src/packages/rpm-header.js';
import { parseRanges } from '../../src/serve/ranges.js';
import { MultipartReader, multipartBoundary, parseContentRange } from '../../src/webseed/http-ranges.js';
import { MemorySource } from '../../src/store/byte-source.js';
import { FileSource } from '../../src/store/file-source.js';
import { SafeWire } from '../../src/swarm/safe-wire.js';
import { decodeBencode } from '../../src/torrent/bencode-decode.js';
import { encodeBencode } from '../../src/torrent/bencode-encode.js';
import { createTorrent } from '../../src/torrent/create.js';
import { hashPieces } from '../../src/torrent/hash-pieces.js';
import { parseMetainfo } from '../../src/torrent/metainfo.js';
import { buildAnnounceUrl, decodeQuery, parseAnnounceQuery, parseScrapeQuery, scrapeUrlOf } from '../../src/tracker/announce-query.js';
import { encodeCompactV4, encodeCompactV6 } from '../../src/tracker/compact-peers.js';
import { parseAnnounceReply, parseScrapeReply } from '../../src/tracker/http-reply.js';
import * as udp from '../../src/tracker/udp-wire.js';
import { decodeHints } from '../../src/delta/hint-format.js';
import { FIXTURES, hasTool, tempDir } from '../helpers/env.js';
import { rpmPackage } from '../packages/make-rpm.js';
import { LAYOUT_TARGETS } from './layout-targets.js';
import { LEAN_GET_TARGET } from './lean-get-target.js';
import type { Seed } from './mutate.js';
import type { FuzzTarget } from './protocol.js';

export type { FuzzTarget };


const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const whole = (b: Uint8Array): Seed => ({ bytes: b });

function filesIn(dir: string, ext: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(ext)).sort().map((f) => join(dir, f));
}

// ---- seeds made once per process from the fixtures ----

let releaseData: Promise<{ torrents: Uint8Array[]; hints: Uint8Array[]; files: Map<string, Uint8Array> }> | undefined;

/** Torrents of the fixture releases (with delta hints), and some files read out of the images. */
function releases(): Promise<{ torrents: Uint8Array[]; hints: Uint8Array[]; files: Map<string, Uint8Array> }> {
  releaseData ??= (async () => {
    const dir = join(FIXTURES, 'releases');
    const [v100, v101, appended] = ['distro-1.00.iso', 'distro-1.01.iso', 'distro-1.01-appended.iso'].map((f) => join(dir, f));
    const torrents: Uint8Array[] = [];
    const hints: Uint8Array[] = [];
    for (const [target, prev] of [[v101!, v100!], [appended!, v101!]] as const) {
      const sets = await computeHintSets(target, [{ infoHash: 'ab'.repeat(20), release: '1.00', imagePath: prev }]);
      const encoded = encodeHints({ sets });
      hints.push(encodeBencode(encoded));
      const length = readFileSync(target).length;
      torrents.push(createTorrent({
        name: 'distro-1.01.iso', length, pieceLength: 262144, pieces: await hashPieces(target, 262144),
        trackers: [['http://127.0.0.1:1/announce'], ['udp://127.0.0.1:2/announce']], webSeeds: ['http://127.0.0.1:3/'],
        comment: 'fuzz seed', creationDate: 1_700_000_000,
        isosync: { product: 'distro', release: '1.01', lineage: [{ release: '1.00', infoHash: 'ab'.repeat(20) as never }], hints: encoded },
      }).bytes);
    }
    // Package indexes and .deb files as they sit in a release image.
    const files = new Map<string, Uint8Array>();
    const src = await FileSource.open(v101!);
    try {
      const img = await readIso(src, { name: 'distro-1.01.iso' });
      // .debs of each control compression: none (acl), gzip (dash), xz (hostname, libacl1).
      const wanted = img.entries.filter((e) => e.type === 'file' && /\/(Packages|Release|(acl|dash|hostname|libacl1)_[^/]*\.deb)$/.test(e.path));
      for (const e of wanted) {
        const chunks: Uint8Array[] = [];
        for await (const c of readEntryChunks(src, e)) chunks.push(c.slice());
        files.set(e.path, Buffer.concat(chunks));
      }
    } finally {
      await src.close();
    }
    return { torrents, hints, files };
  })();
  return releaseData;
}

async function torrentSeeds(): Promise<Seed[]> {
  const defects = filesIn(join(FIXTURES, 'defects', 'torrent'), '.torrent').map((f) => whole(readFileSync(f)));
  // The defect fixtures are each refused at one place; the valid torrents reach every field.
  return [...(await releases()).torrents.map((b) => ({ bytes: b, weight: 20 })), ...defects];
}

/** ISO seeds with their metadata (everything but file content and unused space) as hot ranges. */
async function isoSeeds(): Promise<Seed[]> {
  const paths = [...filesIn(join(FIXTURES, 'reader'), '.iso'), ...filesIn(join(FIXTURES, 'defects', 'iso'), '.iso')];
  const out: Seed[] = [];
  for (const p of paths) {
    const b = new Uint8Array(readFileSync(p));
    if (b.length > 512 * 1024) continue;
    let hot: { start: number; end: number }[] | undefined;
    try {
      hot = regionMap(await readIso(new MemorySource(b))).filter((r) => r.kind !== 'file' && r.kind !== 'unused' && r.kind !== 'system-area');
    } catch {
      hot = [{ start: 16 * 2048, end: Math.min(b.length, 64 * 2048) }]; // a defect fixture: descriptors and what follows
    }
    out.push({ bytes: b, hot });
  }
  return out;
}

const IH = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');
const PID = Buffer.from('-IS0100-fuzzfuzzfuzz', 'latin1');

/** The peer's side of a session: handshake (fast + extended bits), extended handshake, then one of each message. */
function wireSession(pieceCount: number): Uint8Array {
  const msg = (id: number, ...payload: number[][]): Buffer => {
    const body = Buffer.from([id, ...payload.flat()]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    return Buffer.concat([len, body]);
  };
  const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const reserved = Buffer.alloc(8);
  reserved[5] = 0x10; // BEP 10
  reserved[7] = 0x04; // BEP 6
  const handshake = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), reserved, IH, PID]);
  const ext = Buffer.from(encodeBencode({ m: { ut_metadata: 1, ut_pex: 2 }, v: 'fuzz 1.0', reqq: 250, p: 6881, metadata_size: 1234 }));
  const bitfield = new Array(Math.ceil(pieceCount / 8)).fill(0xff);
  if (pieceCount % 8 !== 0) bitfield[bitfield.length - 1] = (0xff << (8 - (pieceCount % 8))) & 0xff;
  return Buffer.concat([
    handshake,
    msg(20, [0], [...ext]),
    msg(5, bitfield),
    msg(4, u32(3)),
    msg(1), msg(2), msg(0), msg(3),
    msg(6, u32(1), u32(0), u32(16384)),
    msg(7, u32(1), u32(0), new Array(64).fill(0x61)),
    msg(8, u32(1), u32(0), u32(16384)),
    msg(16, u32(2), u32(16384), u32(16384)),
    msg(13, u32(4)), msg(17, u32(5)), msg(14), msg(15),
    msg(9, [0x1a, 0xe1]),
    msg(20, [1], [...Buffer.from(encodeBencode({ msg_type: 0, piece: 0 }))]),
    Buffer.alloc(4), // keep-alive
  ]);
}

const MULTIPART_FILE_BYTES = 1_000_000;

/** A multipart/byteranges body as a web server writes it (RFC 9110 §14.6), boundary "BOUNDARY". */
function multipartBody(ranges: [number, number][]): Uint8Array {
  const parts: Buffer[] = [];
  for (const [a, z] of ranges) {
    parts.push(Buffer.from(`\r\n--BOUNDARY\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${a}-${z}/${MULTIPART_FILE_BYTES}\r\n\r\n`, 'latin1'));
    parts.push(Buffer.alloc(z - a + 1, 0x5a));
  }
  parts.push(Buffer.from('\r\n--BOUNDARY--\r\n', 'latin1'));
  return Buffer.concat(parts);
}

/** A real .rpm from rpmbuild when it is installed (else none), and minimal hand-built ones. */
function rpmSeeds(): Seed[] {
  const out: Seed[] = [whole(rpmPackage()), whole(rpmPackage({ name: 'libfoo', version: '2.0~rc1', release: '3.fc40', epoch: 1, arch: 'noarch' }))];
  if (hasTool('rpmbuild')) {
    const tmp = tempDir('isosync-fuzz-rpm-');
    try {
      const spec = join(tmp.dir, 'demo.spec');
      writeFileSync(spec, 'Name: demo\nVersion: 1.0\nRelease: 1\nSummary: fuzz seed\nLicense: MIT\nBuildArch: noarch\n%description\nfuzz seed\n%install\nmkdir -p %{buildroot}/usr/share/demo\necho hi > %{buildroot}/usr/share/demo/hi\n%files\n/usr/share/demo/hi\n');
      const r = spawnSync('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${tmp.dir}/top`, spec], { encoding: 'utf8' });
      if (r.status === 0) {
        const dir = join(tmp.dir, 'top', 'RPMS', 'noarch');
        for (const f of filesIn(dir, '.rpm')) out.push({ bytes: readFileSync(f), hot: [{ start: 0, end: 4096 }] });
      }
    } finally {
      tmp.cleanup();
    }
  }
  return out;
}

const PRIMARY = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm"><name>demo</name><arch>x86_64</arch><version epoch="2" ver="1.0~rc1" rel="3.fc40"/><location href="Packages/d/demo-1.0~rc1-3.fc40.x86_64.rpm"/><size package="1234" installed="5678" archive="999"/></package>
<package type="rpm"><name>libfoo</name><arch>noarch</arch><version epoch="0" ver="2.0" rel="1"/><location href="Packages/l/libfoo-2.0-1.noarch.rpm"/></package>
</metadata>`;
const REPOMD = `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo"><data type="primary"><location href="repodata/abc-primary.xml.gz"/></data></repomd>`;

export const TARGETS: readonly FuzzTarget[] = [
  ...LAYOUT_TARGETS,
  LEAN_GET_TARGET,
  {
    name: 'bencode',
    what: 'bencode decoder (torrents, tracker replies, extension messages)',
    seeds: torrentSeeds,
    dictionary: ['d', 'l', 'e', 'i', 'i-', '0:', '1:', '20:', 'de', 'le', 'i0e', '4:info'],
    run: (b) => decodeBencode(b),
  },
  {
    name: 'metainfo',
    what: 'torrent metainfo (BEP 3, BEP 12, BEP 19, isosync keys)',
    seeds: torrentSeeds,
    dictionary: ['d', 'l', 'e', 'i', '0:', '4:info', '6:pieces', '12:piece length', '6:length', '4:name', '5:files', '4:path', '8:url-list', '13:announce-list', '9:x-isosync', '5:hints', '7:lineage'],
    run: (b) => parseMetainfo(b, 'fuzz.torrent'),
  },
  {
    name: 'hints',
    what: 'delta hints (info.x-isosync.hints)',
    seeds: async () => (await releases()).hints.map(whole),
    dictionary: ['d', 'l', 'e', 'i1e', '4:runs', '5:zeros', '4:from', '2:to', '4:sets', '1:v', '20:'],
    run: (b) => decodeHints(decodeBencode(b).value),
  },
  {
    name: 'iso',
    what: 'ISO 9660 reader and region map (Rock Ridge, Joliet, El Torito)',
    seeds: isoSeeds,
    dictionary: ['CD001', 'RR', 'PX', 'NM', 'SL', 'CE', 'SP', 'CL', 'PL', 'RE', 'TF', 'ER', 'ST', 'EL TORITO SPECIFICATION'],
    inPlace: true,
    run: async (b) => regionMap(await readIso(new MemorySource(b), { name: 'fuzz.iso' })),
  },
  {
    name: 'tracker-http',
    what: 'HTTP tracker announce and scrape replies (BEP 3, 7, 23, 24, 48)',
    seeds: async () => [
      encodeBencode({ interval: 1800, 'min interval': 900, complete: 3, incomplete: 4, 'tracker id': 'T1', 'warning message': 'be nice', peers: Buffer.concat([encodeCompactV4('10.1.2.3', 1000)!, encodeCompactV4('10.1.2.4', 1001)!]), peers6: encodeCompactV6('2001:db8::2', 2000)!, 'external ip': Buffer.from([9, 8, 7, 6]) }),
      encodeBencode({ interval: 60, peers: [{ ip: '10.0.0.9', port: 7, 'peer id': PID }, { ip: '[::1]', port: 8 }, { ip: 'seed.example.org', port: 9 }] }),
      encodeBencode({ 'failure reason': 'unregistered torrent' }),
      encodeBencode({ files: { [IH.toString('latin1')]: { complete: 1, incomplete: 2, downloaded: 3 } } }),
    ].map(whole),
    dictionary: ['d', 'l', 'e', 'i', '5:peers', '6:peers6', '8:interval', '2:ip', '4:port', '14:failure reason', '5:files'],
    run: (b) => {
      // An announce reply, else a scrape reply: refused only when it is neither.
      try {
        return parseAnnounceReply(b);
      } catch (e) {
        if (!(e instanceof IsosyncError)) throw e;
        return parseScrapeReply(b, IH);
      }
    },
  },
  {
    name: 'tracker-udp',
    what: 'UDP tracker replies, client side (BEP 15)',
    seeds: async () => [
      udp.encodeConnectReply(7, 0x1234567890n),
      udp.encodeAnnounceReply(8, { interval: 1800, leechers: 2, seeders: 3 }, [encodeCompactV4('10.0.0.1', 6881)!, encodeCompactV4('10.0.0.2', 6882)!]),
      udp.encodeAnnounceReply(9, { interval: 60, leechers: 0, seeders: 1 }, [encodeCompactV6('2001:db8::1', 6881)!]),
      udp.encodeScrapeReply(10, [{ seeders: 1, completed: 2, leechers: 3 }, { seeders: 4, completed: 5, leechers: 6 }]),
      udp.encodeErrorReply(11, 'info_hash not found'),
    ].map(whole),
    run: (b) => {
      const h = udp.replyHeader(b);
      if (!h) return undefined;
      if (h.action === udp.ACTION.error) return udp.decodeErrorReply(b);
      if (h.action === udp.ACTION.connect) return udp.decodeConnectReply(b);
      if (h.action === udp.ACTION.scrape) return udp.decodeScrapeReply(b, 2);
      udp.decodeAnnounceReply(b, 6);
      return udp.decodeAnnounceReply(b, 4);
    },
  },
  {
    name: 'tracker-udp-request',
    what: 'UDP tracker requests, server side (BEP 15)',
    seeds: async () => [
      udp.encodeConnect(5),
      udp.encodeAnnounce({ connectionId: 77n, transactionId: 6, infoHash: IH, peerId: PID, downloaded: 1, left: 2, uploaded: 3, event: 'started', ip: 0, key: 9, numWant: 50, port: 6881 }),
      udp.encodeScrape(77n, 7, [IH, IH]),
    ].map(whole),
    run: (b) => udp.decodeRequest(b),
  },
  {
    name: 'announce-query',
    what: 'HTTP announce and scrape query strings, server side',
    seeds: async () => {
      const fields = { infoHash: IH, peerId: PID, port: 6881, uploaded: 1, downloaded: 2, left: 3, event: 'started' as const, numwant: 50, key: 'abcd1234', trackerId: bytes('T1') };
      const announce = buildAnnounceUrl('http://t.example/announce', fields);
      const scrape = scrapeUrlOf('http://t.example/announce', [IH, PID])!;
      return [announce, `${announce}&compact=1&no_peer_id=1&ip=10.0.0.1&ipv6=%3A%3A1`, scrape].map((u) => whole(bytes(u.slice(u.indexOf('?') + 1))));
    },
    dictionary: ['&', '=', '%', '%00', '%ff', 'info_hash=', 'peer_id=', 'port=', 'event=', 'numwant=', 'compact=', 'left='],
    run: (b) => {
      const q = latin1(b);
      decodeQuery(q);
      parseScrapeQuery(q);
      return parseAnnounceQuery(q);
    },
  },
  {
    name: 'peer-wire',
    what: 'BitTorrent peer wire from a remote peer (BEP 3, 6, 10) through SafeWire',
    seeds: async () => [whole(wireSession(100)), whole(wireSession(8))],
    settle: true, // a destroyed wire finishes tearing down on the event loop
    run: (b) => runWire(b, b.length > 0 && b[0]! % 2 === 0 ? 100 : 8),
  },
  {
    name: 'range-header',
    what: 'HTTP Range request headers, server side (RFC 9110 §14.2)',
    seeds: async () => ['bytes=0-499', 'bytes=500-999,2000-', 'bytes=-500', 'bytes=0-0,-1', 'bytes=100-200, 300-400, 500-'].map((s) => whole(bytes(s))),
    dictionary: ['bytes=', ',', '-', ' ', '0', '9999999999999999'],
    run: (b) => parseRanges(latin1(b), 1_000_000),
  },
  {
    name: 'multipart',
    what: 'multipart/byteranges web-seed replies, read as they arrive (RFC 9110 §14.6)',
    seeds: async () => [[[0, 99], [5000, 5999]], [[100, 100]], [[0, 16383], [16384, 32767], [999_000, 999_999]]].map((r) => whole(multipartBody(r as [number, number][]))),
    dictionary: ['--BOUNDARY', '--BOUNDARY--', '\r\n', '\r\n\r\n', 'Content-Range: bytes ', 'Content-Type: application/octet-stream\r\n', '/1000000', '/*'],
    run: (b) => {
      // Property: the reader never hands on a byte outside the file, whatever the reply says.
      const reader = new MultipartReader('BOUNDARY', MULTIPART_FILE_BYTES, 4, (offset, bytes) => {
        if (!(offset >= 0 && offset + bytes.length <= MULTIPART_FILE_BYTES)) throw new Error(`bytes ${offset}+${bytes.length} are outside the file`);
      });
      const third = Math.max(1, Math.ceil(b.length / 3));
      for (let at = 0; at < b.length; at += third) reader.push(b.subarray(at, at + third));
      reader.end();
    },
  },
  {
    name: 'content-range',
    what: 'Content-Range and multipart Content-Type reply headers (RFC 9110 §14.4, §14.6)',
    seeds: async () => ['bytes 0-499/1000', 'bytes 500-999/*', 'multipart/byteranges; boundary=3d6b6a416f9b5', 'multipart/byteranges; boundary="abc def"'].map((s) => whole(bytes(s))),
    dictionary: ['bytes ', '-', '/', '*', ';', 'boundary=', '"', '9007199254740993'],
    run: (b) => {
      const s = latin1(b);
      multipartBoundary(s);
      return parseContentRange(s);
    },
  },
  {
    name: 'deb822',
    what: 'Debian control files and Packages/Release indexes (deb822)',
    seeds: async () => [...(await releases()).files].filter(([p]) => /\/(Packages|Release)$/.test(p)).map(([, b]) => whole(b)),
    dictionary: ['\n', '\n\n', ' ', ': ', 'Package: ', 'Version: ', 'Architecture: ', 'Size: ', 'Filename: ', '\n .\n', '#'],
    run: (b) => {
      // Any deb822 text; what parses is also read as a Packages index (a Release file is refused there: fine).
      const text = new TextDecoder().decode(b);
      const stanzas = parseDeb822(text, 'control');
      refusedIsFine(() => parsePackagesIndex(text, 'Packages'));
      return stanzas;
    },
  },
  {
    name: 'deb',
    what: '.deb packages: ar archive, compressed control tarball, control file',
    seeds: async () => {
      // Hot: the ar headers, debian-binary and the control member (the data member is never read).
      const out: Seed[] = [];
      for (const [p, b] of (await releases()).files) {
        if (!p.endsWith('.deb')) continue;
        const control = (await listArMembers(new MemorySource(b), p)).find((m) => m.name.startsWith('control.tar'));
        out.push({ bytes: b, hot: [{ start: 0, end: control ? control.offset + control.size : Math.min(b.length, 2048) }] });
      }
      return out;
    },
    dictionary: ['!<arch>\n', 'debian-binary', 'control.tar.xz', 'control.tar.gz', 'control.tar', '2.0\n', '`\n'],
    inPlace: true, // ar and tar headers give sizes: shifting bytes only breaks the first header
    run: (b) => readDebControl(new MemorySource(b), 'fuzz.deb'),
  },
  {
    name: 'rpm-header',
    what: 'RPM lead, signature and main headers',
    seeds: async () => rpmSeeds(),
    run: (b) => readRpmHeader(b, 'fuzz.rpm'),
  },
  {
    name: 'rpm-metadata',
    what: 'RPM repository metadata (repomd.xml, primary.xml)',
    seeds: async () => [whole(bytes(PRIMARY)), whole(bytes(REPOMD))],
    dictionary: ['<package type="rpm">', '</package>', '<name>', '<version epoch="', '"/>', '<location href="', '<data type="primary">', '&amp;', '&#x0;'],
    run: (b) => {
      const text = new TextDecoder().decode(b);
      refusedIsFine(() => primaryLocation(text, 'repomd.xml'));
      return parseRpmPrimary(text, 'primary.xml');
    },
  },
];

/** Runs a second parser on the same input: its IsosyncError is an answer, anything else is thrown on. */
function refusedIsFine(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof IsosyncError)) throw e;
  }
}

/**
 * Feeds `b` to a SafeWire as a remote peer's bytes, in a few writes. A
 * protocol violation is the expected refusal (an IsosyncError here); a throw
 * out of the wire or an 'error' event is a defect.
 */
function runWire(b: Uint8Array, pieceCount: number): void {
  const wire = new SafeWire('tcpOutgoing', pieceCount);
  let violation: string | undefined;
  let failure: unknown;
  wire.onViolation = (why) => (violation ??= why);
  wire.on('error', (e: unknown) => (failure ??= e));
  // Our own handshake first, as an outgoing connection does.
  wire.handshake(IH, PID, { fast: true, dht: false });
  const cuts = [0, Math.floor(b.length / 3), Math.floor((2 * b.length) / 3) + 1, b.length];
  try {
    for (let i = 0; i + 1 < cuts.length && violation === undefined; i++) {
      const part = b.subarray(cuts[i]!, Math.max(cuts[i]!, cuts[i + 1]!));
      if (part.length > 0) (wire as unknown as { _write(d: Uint8Array, cb: (e?: Error | null) => void): void })._write(Buffer.from(part), () => undefined);
    }
  } finally {
    wire.destroy();
  }
  if (failure !== undefined) throw failure;
  if (violation !== undefined) throw new IsosyncError('BAD_REPLY', `Cannot talk to the peer: it ${violation}`);
}

/**
 * Targets that fail on purpose, for the harness's own test (never run by
 * `npm run fuzz`): a foreign error on inputs "B" + one byte, a hang on
 * "H1", heap without bound on "M1", buffers without bound on "X1".
 */
export const HARNESS_CHECKS: readonly FuzzTarget[] = [
  {
    name: 'harness-check',
    what: 'the fuzz harness itself',
    seeds: async () => ['A1', 'A2', 'B1', 'H1', 'M1', 'X1'].map((s) => ({ bytes: bytes(s), weight: s === 'H1' || s === 'M1' || s === 'X1' ? 0.0001 : 1 })),
    run: (b) => {
      if (b[0] === 0x42 && b.length === 2) throw new TypeError('a foreign error on purpose');
      if (b[0] === 0x48 && b.length === 2 && b[1] === 0x31) for (;;);
      if (b[0] === 0x4d && b.length === 2 && b[1] === 0x31) {
        const hog: number[][] = [];
        for (;;) hog.push(new Array<number>(1 << 16).fill(hog.length));
      }
      if (b[0] === 0x58 && b.length === 2 && b[1] === 0x31) {
        const hog: Uint8Array[] = [];
        for (;;) hog.push(new Uint8Array(1 << 26).fill(1));
      }
      if (b.length % 2 === 1) throw new IsosyncError('BAD_ARGUMENT', 'Cannot use the input: its length is odd');
      return b.length;
    },
  },
];

