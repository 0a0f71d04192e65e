import { matrixColumn } from './matrix.js';

// python3-libtorrent 2.0: v1 and hybrid both ways; isosync does not yet sync or seed v2-only torrents.
matrixColumn({ client: 'libtorrent', tools: ['libtorrent'], v2: 'isosync', magnet: true });
