import { matrixColumn } from './matrix.js';

// rtorrent 0.9.8 through XML-RPC: v1 and hybrid both ways; it refuses v2-only torrents.
matrixColumn({ client: 'rtorrent', tools: ['rtorrent'], v2: 'counterpart' });
