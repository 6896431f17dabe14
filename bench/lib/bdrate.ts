// Bjøntegaard delta rate (BD-rate): the average bitrate difference of a test curve against a reference
// curve at equal quality. Each curve is a few (bitrate, quality) points, here a ladder's rungs as
// (video bitrate, VMAF at the source size). With only 2-6 points per curve, log10(rate) is interpolated
// as a function of quality with a monotone piecewise-cubic Hermite interpolant (PCHIP, Fritsch-Carlson
// slopes, as in JVET's BD-rate tools) instead of the original cubic polynomial fit, and integrated
// exactly over the overlapping quality range. Benchmark code only.

export interface RatePoint {
  /** bits per second */
  rate: number;
  quality: number;
}

/**
 * The points a curve is made of: sorted by quality, keeping only points that are better in quality
 * for more bits (a point that costs more and scores no better is dominated and dropped, so that
 * log-rate is a strictly increasing function of quality). Returns the kept points and how many were dropped.
 */
function efficientPoints(points: readonly RatePoint[]): { kept: RatePoint[]; dropped: number } {
  const valid = points.filter((p) => p.rate > 0 && Number.isFinite(p.rate) && Number.isFinite(p.quality));
  const byRate = [...valid].sort((a, b) => a.rate - b.rate || b.quality - a.quality);
  const kept: RatePoint[] = [];
  for (const p of byRate) if (kept.length === 0 || p.quality > kept[kept.length - 1]!.quality) kept.push(p);
  return { kept, dropped: points.length - kept.length };
}

/** Fritsch-Carlson slopes of a monotone cubic Hermite interpolant through (x[i], y[i]), x increasing. */
function pchipSlopes(x: readonly number[], y: readonly number[]): number[] {
  const n = x.length;
  const h = x.slice(1).map((xi, i) => xi - x[i]!);
  const delta = h.map((hi, i) => (y[i + 1]! - y[i]!) / hi);
  if (n === 2) return [delta[0]!, delta[0]!];
  const d = new Array<number>(n).fill(0);
  for (let i = 1; i < n - 1; i++) {
    const a = delta[i - 1]!;
    const b = delta[i]!;
    if (a * b <= 0) d[i] = 0;
    else {
      const w1 = 2 * h[i]! + h[i - 1]!;
      const w2 = h[i]! + 2 * h[i - 1]!;
      d[i] = (w1 + w2) / (w1 / a + w2 / b);
    }
  }
  // one-sided three-point ends, kept shape-preserving
  const end = (h0: number, h1: number, d0: number, d1: number): number => {
    let s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1);
    if (Math.sign(s) !== Math.sign(d0)) s = 0;
    else if (Math.sign(d0) !== Math.sign(d1) && Math.abs(s) > Math.abs(3 * d0)) s = 3 * d0;
    return s;
  };
  d[0] = end(h[0]!, h[1]!, delta[0]!, delta[1]!);
  d[n - 1] = end(h[n - 2]!, h[n - 3]!, delta[n - 2]!, delta[n - 3]!);
  return d;
}

/** The integral of the PCHIP interpolant through (x, y) from a to b (x[0] <= a <= b <= x[n-1]). */
function pchipIntegral(x: readonly number[], y: readonly number[], a: number, b: number): number {
  const d = pchipSlopes(x, y);
  let total = 0;
  for (let i = 0; i < x.length - 1; i++) {
    const x0 = x[i]!;
    const x1 = x[i + 1]!;
    const lo = Math.max(a, x0);
    const hi = Math.min(b, x1);
    if (hi <= lo) continue;
    const h = x1 - x0;
    // the Hermite cubic on [x0, x1] in t = (x - x0) / h, integrated in t from t0 to t1 (times h)
    const y0 = y[i]!;
    const y1 = y[i + 1]!;
    const m0 = d[i]! * h;
    const m1 = d[i + 1]! * h;
    const F = (t: number): number => {
      const t2 = t * t;
      const t3 = t2 * t;
      const t4 = t3 * t;
      const h00 = t4 / 2 - t3 + t;
      const h10 = t4 / 4 - (2 * t3) / 3 + t2 / 2;
      const h01 = -t4 / 2 + t3;
      const h11 = t4 / 4 - t3 / 3;
      return h00 * y0 + h10 * m0 + h01 * y1 + h11 * m1;
    };
    total += h * (F((hi - x0) / h) - F((lo - x0) / h));
  }
  return total;
}

export interface BdRate {
  /** test against reference at equal quality: -0.25 is 25% fewer bits; null when it cannot be computed */
  bdRate: number | null;
  /** the overlapping quality range */
  range: [number, number] | null;
  /** why it is null, or what was dropped */
  note: string | null;
}

/** BD-rate of `test` against `reference` (see the module comment); needs 2+ efficient points on each curve and an overlap. */
export function bdRate(reference: readonly RatePoint[], test: readonly RatePoint[]): BdRate {
  const r = efficientPoints(reference);
  const t = efficientPoints(test);
  const dropped = r.dropped + t.dropped > 0 ? `dropped ${r.dropped} reference and ${t.dropped} test point(s) that cost more for no better VMAF` : null;
  if (r.kept.length < 2 || t.kept.length < 2) return { bdRate: null, range: null, note: `fewer than 2 points on a curve (${r.kept.length} reference, ${t.kept.length} test)` };
  const lo = Math.max(r.kept[0]!.quality, t.kept[0]!.quality);
  const hi = Math.min(r.kept[r.kept.length - 1]!.quality, t.kept[t.kept.length - 1]!.quality);
  if (!(hi > lo)) return { bdRate: null, range: null, note: 'the curves do not overlap in VMAF' };
  const avg = (pts: RatePoint[]): number =>
    pchipIntegral(
      pts.map((p) => p.quality),
      pts.map((p) => Math.log10(p.rate)),
      lo,
      hi,
    ) /
    (hi - lo);
  return { bdRate: 10 ** (avg(t.kept) - avg(r.kept)) - 1, range: [lo, hi], note: dropped };
}
