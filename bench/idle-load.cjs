// How loaded the machine is, as a bench prints it beside its figures: the 1-minute load average, and the
// share of a core that a thread spinning for ARGV[2] ms (default 300) actually got (1.00: a core was free
// for it; 0.50: it waited half the time). The load average trails the last minute; the share is now.
// CommonJS and nothing to import, so it starts in a few milliseconds: `node bench/idle-load.cjs [ms]`.
'use strict';
const { loadavg } = require('node:os');

const ms = Number(process.argv[2] ?? 300);
const c0 = process.cpuUsage();
const t0 = performance.now();
let x = 0;
while (performance.now() - t0 < ms) x = (x + 1) | 0;
const wall = performance.now() - t0;
const c = process.cpuUsage(c0);
const share = (c.user + c.system) / 1000 / wall;
process.stdout.write(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; a spinning thread got ${share.toFixed(2)} of a core\n`);
