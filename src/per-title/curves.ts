/**
 * Rate-quality curves: pure. Each candidate resolution's encodes at several quality settings give one
 * curve (bitrate -> quality on the samples, scored at the display size); across resolutions they give
 * the convex hull the rungs are placed on (per-title/place.ts).
 *
 * Quality is interpolated linearly in log(bitrate), the way rate-quality curves are close to straight;
 * nothing is extrapolated beyond what was measured.
 */

export interface Candidate {
  width: number;
  height: number;
  /** the encoder's quality setting (crf, or NVENC's cq) */
  crf: number;
  /** bits/s of the video over the samples */
  bitrate: number;
  /** mean score over the samples on the VMAF scale (ssim: mapped, see quality/metric.ts) */
  quality: number;
}

/** One resolution's candidates, cleaned to rise together: bitrate and quality both increasing. */
export interface Curve {
  width: number;
  height: number;
  points: Candidate[];
}

/**
 * Group by resolution and make each curve monotonic: sorted by bitrate; a point that costs more bits
 * than another of its resolution but scores no better is dropped (VMAF is not monotonic in CRF on
 * static content, and a cap that binds gives equal bitrates for different CRFs).
 */
export function buildCurves(candidates: readonly Candidate[]): Curve[] {
  const byHeight = new Map<number, Candidate[]>();
  for (const c of candidates) byHeight.set(c.height, [...(byHeight.get(c.height) ?? []), c]);
  const curves: Curve[] = [];
  for (const [height, list] of byHeight) {
    const sorted = [...list].sort((a, b) => a.bitrate - b.bitrate || b.quality - a.quality);
    const points: Candidate[] = [];
    for (const p of sorted) {
      const last = points[points.length - 1];
      if (last && p.quality <= last.quality) continue;
      // equal bits (within 0.5%): keep the better-scoring one
      if (last && p.bitrate <= last.bitrate * 1.005) points.pop();
      points.push(p);
    }
    curves.push({ width: list[0]!.width, height, points });
  }
  return curves.sort((a, b) => b.height - a.height);
}

const log = Math.log;

/** The bitrate at which this curve reaches `quality`; null outside the measured range. */
export function bitrateAt(curve: Curve, quality: number): number | null {
  const seg = segmentBy(curve.points, (p) => p.quality, quality);
  if (!seg) return null;
  const [a, b, f] = seg;
  return Math.exp(log(a.bitrate) + f * (log(b.bitrate) - log(a.bitrate)));
}

/** The quality this curve gives at `bitrate`; null outside the measured range. */
export function qualityAt(curve: Curve, bitrate: number): number | null {
  const seg = segmentBy(curve.points, (p) => log(p.bitrate), log(bitrate));
  if (!seg) return null;
  const [a, b, f] = seg;
  return a.quality + f * (b.quality - a.quality);
}

/** The quality setting that gives `bitrate` on this curve (linear in log bitrate); null outside the range. */
export function crfAt(curve: Curve, bitrate: number): number | null {
  const seg = segmentBy(curve.points, (p) => log(p.bitrate), log(bitrate));
  if (!seg) return null;
  const [a, b, f] = seg;
  return a.crf + f * (b.crf - a.crf);
}

/** The two neighbours of `x` on an increasing key, and where between them it lies (0..1). */
function segmentBy(points: readonly Candidate[], key: (p: Candidate) => number, x: number): [Candidate, Candidate, number] | null {
  if (points.length === 0) return null;
  const eps = 1e-9;
  if (points.length === 1) return Math.abs(key(points[0]!) - x) < eps ? [points[0]!, points[0]!, 0] : null;
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i]!;
    const b = points[i + 1]!;
    const ka = key(a);
    const kb = key(b);
    if (x >= ka - eps && x <= kb + eps) return [a, b, kb === ka ? 0 : Math.min(1, Math.max(0, (x - ka) / (kb - ka)))];
  }
  return null;
}

/**
 * The upper convex hull of every candidate in (log bitrate, quality): the best quality any
 * resolution gives at each bitrate, as the points that span it, lowest bitrate first.
 */
export function convexHull(curves: readonly Curve[]): Candidate[] {
  const pts = curves.flatMap((c) => c.points).sort((a, b) => a.bitrate - b.bitrate || b.quality - a.quality);
  const hull: Candidate[] = [];
  const cross = (o: Candidate, a: Candidate, b: Candidate): number =>
    (log(a.bitrate) - log(o.bitrate)) * (b.quality - o.quality) - (a.quality - o.quality) * (log(b.bitrate) - log(o.bitrate));
  for (const p of pts) {
    // keeping the quality rising: a point no better than the hull's best so far is under it
    if (hull.length > 0 && p.quality <= hull[hull.length - 1]!.quality) continue;
    while (hull.length >= 2 && cross(hull[hull.length - 2]!, hull[hull.length - 1]!, p) >= 0) hull.pop();
    hull.push(p);
  }
  return hull;
}

/** Bitrate and quality at a quality setting between two measured ones (linear in crf, log bitrate); null outside. */
export function atCrf(curve: Curve, crf: number): { bitrate: number; quality: number } | null {
  // points rise in bitrate, so their crf falls: look the setting up on the negated key
  const seg = segmentBy(curve.points, (p) => -p.crf, -crf);
  if (!seg) return null;
  const [a, b, f] = seg;
  return { bitrate: Math.exp(log(a.bitrate) + f * (log(b.bitrate) - log(a.bitrate))), quality: a.quality + f * (b.quality - a.quality) };
}
