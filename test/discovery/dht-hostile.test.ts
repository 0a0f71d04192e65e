/**
 * A hostile DHT packet: bittorrent-dht's k-rpc-socket decodes every incoming
 * UDP packet with the `bencode` package 2.0.3, which loops forever on a
 * negative string length. One packet like the one below hung a node. The
 * node runs in a child process (a hang there cannot freeze this test), gets
 * the packet, and must still answer a ping.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { join } from 'node:path';
import { test } from 'node:test';
import { wellFormedPacket } from '../../src/discovery/guarded-udp.js';
import { ROOT } from '../helpers/env.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const ID = 'abcdefghij0123456789';
const HOSTILE = b(`d1:ad2:id20:${ID}e1:q4:ping1:t2:aa1:y1:q-3:xe`);
const ping = (t: string): Buffer => b(`d1:ad2:id20:${ID}e1:q4:ping1:t2:${t}1:y1:qe`);

test('the packet filter passes one well-shaped bencoded value and nothing else', () => {
  assert.equal(wellFormedPacket(ping('aa')), true);
  assert.equal(wellFormedPacket(HOSTILE), false, 'a negative string length');
  assert.equal(wellFormedPacket(Buffer.concat([ping('aa'), b('x')])), false, 'bytes after the value');
  assert.equal(wellFormedPacket(b('d1:a')), false, 'cut short');
  assert.equal(wellFormedPacket(b('')), false, 'empty');
});

test('an isosync DHT node that gets "-3:" in a packet keeps answering pings', async (t) => {
  const script = `
    const { Dht } = await import(${JSON.stringify(join(ROOT, 'dist', 'src', 'discovery', 'dht.js'))});
    const d = await Dht.start({ port: 0, bindHost: '127.0.0.1', bootstrap: [] });
    process.stdout.write(d.port + '\\n');
    process.stdin.on('end', () => d.close().then(() => process.exit(0)));
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.on('exit', (code) => reject(new Error(`the DHT node exited (${code})`)));
  });
  const udp = dgram.createSocket('udp4');
  t.after(() => udp.close());
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const replies: Buffer[] = [];
  udp.on('message', (m) => replies.push(m));
  const answered = async (tid: string): Promise<boolean> => {
    for (let i = 0; i < 50; i++) {
      if (replies.some((m) => m.includes(b(`1:t2:${tid}`)) && m.includes(b('1:y1:r')))) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };
  udp.send(ping('p1'), port, '127.0.0.1');
  assert.ok(await answered('p1'), 'the node answers a ping before');
  udp.send(HOSTILE, port, '127.0.0.1');
  udp.send(ping('p2'), port, '127.0.0.1');
  assert.ok(await answered('p2'), 'the node still answers a ping after the hostile packet');
  child.stdin.end();
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 0, 'the node closed normally');
});
