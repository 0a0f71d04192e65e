/**
 * BEP 12 announce-list tiers: the order in which an announce tries trackers.
 *
 *   - Within a tier the order is shuffled once, when the list is made.
 *   - A tracker that answers moves to the front of its tier.
 *   - An announce goes to the first tracker of the first tier that answers;
 *     a failure moves on to the next tracker, then the next tier.
 *
 * `preferred` trackers (e.g. one on the host that served the torrent:
 * tracker localization) form a tier of their own tried before all
 * others, and are removed from the later tiers. Duplicate URLs and
 * unsupported schemes are dropped (the latter reported once by the caller).
 *
 * Pure: randomness comes in as an argument.
 */

export type TrackerScheme = 'http' | 'udp';

export function schemeOf(url: string): TrackerScheme | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  const s = m?.[1]?.toLowerCase();
  if (s === 'http' || s === 'https') return 'http';
  if (s === 'udp') return 'udp';
  return undefined;
}

export class TierList {
  private readonly tiers: string[][];
  /** URLs left out because their scheme is not supported (wss, dht ...). */
  readonly unsupported: string[] = [];

  constructor(tiers: readonly (readonly string[])[], preferred: readonly string[] = [], random: () => number = Math.random) {
    const seen = new Set<string>();
    const keep = (tier: readonly string[]): string[] => {
      const out: string[] = [];
      for (const raw of tier) {
        const url = raw.trim();
        if (url === '' || seen.has(url)) continue;
        seen.add(url);
        if (schemeOf(url) === undefined) this.unsupported.push(url);
        else out.push(url);
      }
      return out;
    };
    const first = keep(preferred);
    const rest = tiers.map((t) => shuffle(keep(t), random)).filter((t) => t.length > 0);
    this.tiers = first.length > 0 ? [first, ...rest] : rest;
  }

  /** Every tracker in the order an announce tries them. */
  order(): string[] {
    return this.tiers.flat();
  }

  /** Every tier, as copies. */
  snapshot(): string[][] {
    return this.tiers.map((t) => [...t]);
  }

  /** BEP 12: the tracker that answered moves to the front of its tier. */
  promote(url: string): void {
    for (const t of this.tiers) {
      const i = t.indexOf(url);
      if (i > 0) {
        t.splice(i, 1);
        t.unshift(url);
      }
      if (i >= 0) return;
    }
  }

  get size(): number {
    return this.tiers.reduce((n, t) => n + t.length, 0);
  }
}

function shuffle<T>(a: T[], random: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
