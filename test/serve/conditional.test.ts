import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePreconditions, httpDate, ifRangeHolds, strongEtag } from '../../src/serve/conditional.js';
import { pathSegments } from '../../src/serve/static-files.js';
import { contentTypeOf } from '../../src/serve/content-type.js';

const file = { size: 1000, mtimeMs: 1_700_000_000_123.456, ino: 42 };
const etag = strongEtag(file);

test('the ETag changes with size, mtime and inode, and is strong', () => {
  assert.match(etag, /^"[0-9a-f-]+"$/);
  assert.notEqual(strongEtag({ ...file, size: 1001 }), etag);
  assert.notEqual(strongEtag({ ...file, mtimeMs: file.mtimeMs + 1 }), etag);
  assert.notEqual(strongEtag({ ...file, ino: 43 }), etag);
});

test('If-None-Match and If-Modified-Since give 304 only when the file is unchanged', () => {
  assert.equal(evaluatePreconditions({ ifNoneMatch: etag }, etag, file.mtimeMs), 'not-modified');
  assert.equal(evaluatePreconditions({ ifNoneMatch: `"other", W/${etag}` }, etag, file.mtimeMs), 'not-modified', 'weak comparison');
  assert.equal(evaluatePreconditions({ ifNoneMatch: '"other"' }, etag, file.mtimeMs), 'ok');
  assert.equal(evaluatePreconditions({ ifNoneMatch: '*' }, etag, file.mtimeMs), 'not-modified');
  assert.equal(evaluatePreconditions({ ifModifiedSince: httpDate(file.mtimeMs) }, etag, file.mtimeMs), 'not-modified');
  assert.equal(evaluatePreconditions({ ifModifiedSince: httpDate(file.mtimeMs - 5000) }, etag, file.mtimeMs), 'ok');
  assert.equal(evaluatePreconditions({ ifModifiedSince: 'garbage' }, etag, file.mtimeMs), 'ok');
  assert.equal(evaluatePreconditions({ ifNoneMatch: '"other"', ifModifiedSince: httpDate(file.mtimeMs) }, etag, file.mtimeMs), 'ok', 'If-None-Match wins over the date');
  assert.equal(evaluatePreconditions({ ifMatch: '"other"' }, etag, file.mtimeMs), 'failed');
  assert.equal(evaluatePreconditions({ ifUnmodifiedSince: httpDate(file.mtimeMs - 5000) }, etag, file.mtimeMs), 'failed');
});

test('If-Range holds for the same strong ETag or the exact Last-Modified date only', () => {
  assert.equal(ifRangeHolds(undefined, etag, file.mtimeMs), true);
  assert.equal(ifRangeHolds(etag, etag, file.mtimeMs), true);
  assert.equal(ifRangeHolds(`W/${etag}`, etag, file.mtimeMs), false);
  assert.equal(ifRangeHolds('"old"', etag, file.mtimeMs), false);
  assert.equal(ifRangeHolds(httpDate(file.mtimeMs), etag, file.mtimeMs), true);
  assert.equal(ifRangeHolds(httpDate(file.mtimeMs - 1000), etag, file.mtimeMs), false);
  assert.equal(ifRangeHolds('not a date', etag, file.mtimeMs), false);
});

test('request paths are split before decoding, so encoded dots, slashes and NUL cannot climb', () => {
  assert.deepEqual(pathSegments('/a/b%20c.iso?x=1'), { segments: ['a', 'b c.iso'], trailingSlash: false });
  assert.deepEqual(pathSegments('http://host:1/dir/'), { segments: ['dir'], trailingSlash: true });
  for (const bad of ['/../x', '/%2e%2e/x', '/%2E%2E/x', '/a/%2e/b', '/..%2fx', '/a%2f..%2f..%2fx', '/a%5c..%5cx', '/a//b', '/.git/config', '/%2egit']) {
    const r = pathSegments(bad);
    assert.ok('status' in r && r.status === 404, `${bad} -> ${JSON.stringify(r)}`);
  }
  for (const bad of ['/a%00b', '/%zz', 'x/y', '*']) {
    const r = pathSegments(bad);
    assert.ok('status' in r && r.status === 400, `${bad} -> ${JSON.stringify(r)}`);
  }
  assert.deepEqual(pathSegments('/.well-known/x', true), { segments: ['.well-known', 'x'], trailingSlash: false }, 'dotfiles when allowed');
});

test('Content-Type comes from a small table, octet-stream otherwise', () => {
  assert.equal(contentTypeOf('/x/distro-1.01.iso'), 'application/x-iso9660-image');
  assert.equal(contentTypeOf('a.TORRENT'), 'application/x-bittorrent');
  assert.equal(contentTypeOf('SHA256SUMS'), 'text/plain; charset=utf-8');
  assert.equal(contentTypeOf('index.html'), 'text/html; charset=utf-8');
  assert.equal(contentTypeOf('x.json'), 'application/json');
  assert.equal(contentTypeOf('x.bin'), 'application/octet-stream');
  assert.equal(contentTypeOf('noext'), 'application/octet-stream');
});
