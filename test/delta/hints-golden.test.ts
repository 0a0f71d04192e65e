/**
 * The matcher's output is part of every torrent published with a previous
 * image (its hints, inside the info dictionary): making it faster must not
 * change one byte of it. These digests are what the build before the
 * matcher's speed-ups gave for the seeded pairs of delta-pairs.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { goldenDigests } from '../helpers/delta-golden.js';

const EXPECTED = [
  '1: from 7611bd791cf626f3 to 88461b441007f352 pieces 7f2a3ea6892ed31c hints 0861fdf66d1920df',
  '2: from 7c3242067a9d79f7 to 9508c606682399ea pieces c353ba2071c78545 hints 1c44d6c7fe9f77bb',
  '3: from eaf91c0b3d705f84 to 1ec284ea8c31e1e0 pieces 467ae6531bc3b9ba hints b5a9ff13eef3fc75',
  '4: from 72aa91859c693811 to 773fdbb6bfbd102b pieces 501023a38d1db3eb hints b24b7680859f2ea8',
  '5: from abc41d10d28b9228 to 5d612b33ee74ce54 pieces 76505d07334e693b hints 56e8f305cdff6375',
];

test('two-way match, pieces and hints of seeded pairs are byte-identical to the earlier build', async () => {
  assert.deepEqual(await goldenDigests(fileURLToPath(new URL('../../src', import.meta.url))), EXPECTED);
});
