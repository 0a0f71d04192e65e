import { matrixColumn } from './matrix.js';

// python3-libtorrent 2.0: v1, hybrid and v2-only both ways.
matrixColumn({ client: 'libtorrent', tools: ['libtorrent'], magnet: true });
