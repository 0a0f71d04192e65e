/**
 * Node built-ins that most runs never use, loaded on first use rather than
 * at start-up: each costs CPU to load (measured with process.cpuUsage around
 * a first require, median of 5: node:https with node:tls ~10 ms after
 * node:http, node:zlib ~4 ms). A sync from plain-http web seeds never loads
 * node:https; node:zlib loads for a gzip-compressed filesystem or once
 * received blocks are journaled (store/block-journal.ts).
 */
import { createRequire } from 'node:module';
import type https from 'node:https';
import type zlib from 'node:zlib';

const load = createRequire(import.meta.url);
let httpsModule: typeof https | undefined;
let zlibModule: typeof zlib | undefined;

/** node:https (TLS), for https URLs. */
export const lateHttps = (): typeof https => (httpsModule ??= load('node:https') as typeof https);

/** node:zlib (inflate of gzip-compressed filesystems, the resume journal's CRC-32). */
export const lateZlib = (): typeof zlib => (zlibModule ??= load('node:zlib') as typeof zlib);
