import assert from 'node:assert/strict';
import { createDiffieHellman } from 'node:crypto';
import { test } from 'node:test';
import { MSE_PRIME, mseGroupMade, mseKeyPair } from '../../src/swarm/mse-keys.js';
import { SafeWire } from '../../src/swarm/safe-wire.js';

test('an accepted connection gets a key pair, but the group (its prime checked, ~20 ms of CPU) is made only when a handshake uses it', () => {
  const wire = new SafeWire('tcpIncoming', 4);
  const k = mseKeyPair();
  assert.equal(mseGroupMade(), false, 'a plaintext peer never needs it');
  k.generateKeys();
  assert.equal(mseGroupMade(), true);
  wire.destroy();
});

test('MSE/PE key pairs made from one shared group agree with each other and with a DiffieHellman of their own', () => {
  const a = mseKeyPair();
  const b = mseKeyPair();
  const ya = a.generateKeys();
  const yb = b.generateKeys();
  assert.equal(ya.length, 96);
  assert.notDeepEqual(ya, yb);
  assert.deepEqual(a.computeSecret(yb), b.computeSecret(ya));
  // What bittorrent-protocol would have made: a DiffieHellman of the same prime and generator, checked on its own.
  const ref = createDiffieHellman(MSE_PRIME, 'hex', 2);
  const yr = ref.generateKeys();
  assert.deepEqual(a.computeSecret(yr), ref.computeSecret(ya));
  // Interleaved handshakes keep their own keys.
  assert.deepEqual(b.generateKeys(), yb);
  assert.deepEqual(b.computeSecret(yr), ref.computeSecret(yb));
});
