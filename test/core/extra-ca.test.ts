/**
 * NODE_EXTRA_CA_CERTS read on the first https request (core/extra-ca.ts,
 * bin/isosync's first lines): a server whose certificate only that file
 * trusts is reached through isosync's https code, an unreadable file is
 * reported as Node reports it, and bin/isosync run as a command does not
 * make Node read the file at start.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { contextWithExtraCa, EXTRA_CA_KEY, loadExtraCa } from '../../src/core/extra-ca.js';
import { httpGet } from '../../src/feed/http-get.js';
import { BIN } from '../helpers/env.js';

/** A self-signed certificate for 127.0.0.1 (openssl req -x509, P-256, valid until 2126): in no root store. */
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+LGBzUbTW0LMgT1Z
XSfgdqeMTZb0Sf05UWUg9nFhG6WhRANCAATogtzzo58MzO6XaWVBvZGCEl/eGZsf
QOroTMwqnecWktrU5W+Lgg59gKStawI0OjJv3qSfMjXd7X4dWcrp1dtj
-----END PRIVATE KEY-----`;
const CERT = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUKgAwIBAgIUUE8Jyc6bBdygWOrAA6TulH4dxZgwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPaXNvc3luYyB0ZXN0IENBMCAXDTI2MTIwMzA3MDgyOFoYDzIx
MjYxMTA5MDcwODI4WjAaMRgwFgYDVQQDDA9pc29zeW5jIHRlc3QgQ0EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAATogtzzo58MzO6XaWVBvZGCEl/eGZsfQOroTMwq
necWktrU5W+Lgg59gKStawI0OjJv3qSfMjXd7X4dWcrp1dtjo2QwYjAdBgNVHQ4E
FgQU0k93El6f5uc26OnRH4G1k1u4TPMwHwYDVR0jBBgwFoAU0k93El6f5uc26OnR
H4G1k1u4TPMwDwYDVR0RBAgwBocEfwAAATAPBgNVHRMBAf8EBTADAQH/MAoGCCqG
SM49BAMCA0cAMEQCIEixX0Ls5tP8lej3U+hnJu43MZqtosCdB8nY/by84/n8AiBf
XSGQbSUFGJVSGfRLm6qC4IDAiv9+JznX3On6cUQrZQ==
-----END CERTIFICATE-----`;

let server: https.Server;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'isosync-extra-ca-'));

before(async () => {
  server = https.createServer({ key: KEY, cert: CERT }, (_req, res) => res.end('trusted'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One GET of the test server; \`opts\` are tls.connect's (https.get passes them on). */
function get(opts: object): Promise<string> {
  return new Promise((resolve, reject) => {
    https.get(url, { agent: false, ...opts }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

test("the server is trusted through the extra certificates, and not without them", async () => {
  await assert.rejects(get({}), /self[- ]signed/i);
  assert.equal(await get({ secureContext: contextWithExtraCa(CERT) }), 'trusted');
});

test('an unreadable file: no options, and the warning Node prints', () => {
  const lines: string[] = [];
  assert.deepEqual(loadExtraCa(join(dir, 'missing.pem'), (l) => lines.push(l)), {});
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^Warning: Ignoring extra certs from `.*missing\.pem`, load failed: /);
});

test("isosync's https requests use the file bin/isosync moved aside", async () => {
  const file = join(dir, 'extra.pem');
  writeFileSync(file, CERT);
  (globalThis as Record<symbol, unknown>)[EXTRA_CA_KEY] = file;
  try {
    const got = await httpGet(url, 'a test file', { limit: 100 });
    assert.equal(Buffer.from(got.body).toString(), 'trusted');
  } finally {
    delete (globalThis as Record<symbol, unknown>)[EXTRA_CA_KEY];
  }
});

test('bin/isosync run as a command: Node does not read NODE_EXTRA_CA_CERTS at start; run by node, it does', () => {
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'missing.pem') };
  const direct = spawnSync(BIN, ['--version'], { env, encoding: 'utf8' });
  assert.equal(direct.status, 0);
  assert.doesNotMatch(direct.stderr, /extra certs/);
  const byNode = spawnSync(process.execPath, [BIN, '--version'], { env, encoding: 'utf8' });
  assert.equal(byNode.status, 0);
  assert.match(byNode.stderr, /Ignoring extra certs/);
});
