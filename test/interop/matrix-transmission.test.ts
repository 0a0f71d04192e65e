import { matrixColumn } from './matrix.js';

// transmission-daemon 3.00 (with transmission-remote): it cannot open hybrid or v2-only torrents.
matrixColumn({ client: 'transmission', tools: ['transmission-daemon', 'transmission-remote', 'transmission-show'], hybrid: 'counterpart', v2: 'counterpart' });
