/**
 * Orders release labels the way people read them: runs of digits compare as
 * numbers, everything else as text, so "1.9" < "1.10" < "2.0" and
 * "12.0-rc1" < "12.0-rc2". Used to find "the previous release" of a product
 * and to list releases newest first. (Package versions have their own, exact
 * algorithms in src/packages; release labels of an image are freer text.)
 *
 * Pure: no I/O.
 */

export function compareReleases(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    let c: number;
    if (dx && dy) {
      const nx = x.replace(/^0+(?=\d)/, '');
      const ny = y.replace(/^0+(?=\d)/, '');
      c = nx.length - ny.length || (nx < ny ? -1 : nx > ny ? 1 : 0);
    } else {
      c = x < y ? -1 : x > y ? 1 : 0;
    }
    if (c !== 0) return Math.sign(c);
  }
  return Math.sign(ra.length - rb.length) || (a < b ? -1 : a > b ? 1 : 0);
}
