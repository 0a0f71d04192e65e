import { matrixColumn } from './matrix.js';

// qbittorrent-nox 4.5 through its Web API: v1 and hybrid both ways; isosync does not yet sync or seed v2-only torrents.
matrixColumn({ client: 'qbittorrent', tools: ['qbittorrent-nox'], v2: 'isosync', magnet: true });
