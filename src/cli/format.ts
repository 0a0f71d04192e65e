/** Human-readable numbers for reports: bytes in binary units (src/human/units.ts), ratios, durations. */
export { formatBytes, formatRate } from '../human/units.js';

export function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '0%';
}

export function formatSeconds(s: number): string {
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}
