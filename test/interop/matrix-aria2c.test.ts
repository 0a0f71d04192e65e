import { matrixColumn } from './matrix.js';

// aria2 1.36: hybrid torrents get another infohash, v2-only ones are refused ("Missing pieces").
matrixColumn({ client: 'aria2c', tools: ['aria2c'], hybrid: 'counterpart', v2: 'counterpart' });
