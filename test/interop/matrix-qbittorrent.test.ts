import { matrixColumn } from './matrix.js';

// qbittorrent-nox 4.5 through its Web API: v1, hybrid and v2-only both ways.
matrixColumn({ client: 'qbittorrent', tools: ['qbittorrent-nox'], magnet: true });
