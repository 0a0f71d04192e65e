/**
 * FTP replies as a table: single and multi-line replies split at any byte,
 * passive-mode addresses, SIZE, URLs; and what a hostile server cannot do
 * (endless lines, codes out of range, addresses that do not parse).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_LINE_BYTES, parseEpsv, parseFtpUrl, parsePasv, parseSize, ReplyReader, type Reply } from '../../src/ftp/reply.js';
import { isError } from '../helpers/errors.js';

function read(text: string, step = text.length): Reply[] {
  const out: Reply[] = [];
  const r = new ReplyReader((x) => out.push(x));
  const bytes = Buffer.from(text, 'latin1');
  for (let i = 0; i < bytes.length; i += step) r.push(bytes.subarray(i, i + step));
  return out;
}

describe('FTP replies', () => {
  const text = '220 welcome\r\n211-Features:\r\n EPSV\r\n211-not the end\r\n REST STREAM\r\n211 End\r\n150 Opening\r\n226 Done\n';
  const want = [
    { code: 220, text: 'welcome' },
    { code: 211, text: 'Features:\n EPSV\n211-not the end\n REST STREAM\nEnd' },
    { code: 150, text: 'Opening' },
    { code: 226, text: 'Done' },
  ];
  for (const step of [1, 3, 7, 1000]) it(`single and multi-line replies, fed ${step} byte(s) at a time`, () => assert.deepEqual(read(text, step), want));
  it('a line without a code, a code out of range, an endless line: BAD_REPLY', () => {
    assert.throws(() => read('hello\r\n'), isError('BAD_REPLY'));
    assert.throws(() => read('700 what\r\n'), isError('BAD_REPLY'));
    assert.throws(() => read('220 ' + 'x'.repeat(MAX_LINE_BYTES + 10)), isError('BAD_REPLY'));
  });
  it('PASV and EPSV addresses, SIZE', () => {
    assert.deepEqual(parsePasv('Entering Passive Mode (127,0,0,1,195,80).'), { host: '127.0.0.1', port: 195 * 256 + 80 });
    assert.equal(parseEpsv('Entering Extended Passive Mode (|||50123|)'), 50123);
    assert.equal(parseEpsv('ok (!!!2121!)'), 2121);
    assert.equal(parseSize('5269504'), 5269504);
    assert.throws(() => parsePasv('Entering Passive Mode (300,0,0,1,1,1)'), isError('BAD_REPLY'));
    assert.throws(() => parseEpsv('(|||0|)'), isError('BAD_REPLY'));
    assert.throws(() => parseSize('big'), isError('BAD_REPLY'));
  });
  it('URLs: anonymous by default, a user and port when given, a folder or a line break refused', () => {
    assert.deepEqual(parseFtpUrl('ftp://mirror.example/pub/d%20x.iso'), { host: 'mirror.example', port: 21, path: '/pub/d x.iso', user: 'anonymous', password: 'isosync@' });
    assert.deepEqual(parseFtpUrl('ftp://u:p%40@127.0.0.1:2121/a.iso'), { host: '127.0.0.1', port: 2121, path: '/a.iso', user: 'u', password: 'p@' });
    assert.throws(() => parseFtpUrl('ftp://h/pub/'), isError('BAD_ARGUMENT'));
    assert.throws(() => parseFtpUrl('ftp://h/a%0d%0aDELE%20x'), isError('BAD_ARGUMENT'));
    assert.throws(() => parseFtpUrl('http://h/a.iso'), isError('BAD_ARGUMENT'));
  });
});
