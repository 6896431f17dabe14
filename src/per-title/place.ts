import type { PerTitleSpec } from '../preset/schema.js';
import { atCrf, bitrateAt, crfAt, qualityAt, type Curve } from './curves.js';

/**
 * Rung placement on the measured curves: pure.
 *
 * - The top rung at the target quality, at the resolution that needs the fewest bits for it.
 * - Lower rungs every `spacing` below it, each at the resolution that needs the fewest bits for its
 *   quality (the convex hull), until `maxRungs`, or until the bitrate reaches the fixed ladder's
 *   lowest, or the curves give nothing cheaper.
 * - A rung never gets more bits than the fixed ladder gives its resolution (the ceiling); a title that
 *   cannot reach the target under the ceiling gets its best quality at it, and says so. A rung at its
 *   ceiling is encoded as the fixed ladder encodes it (its VBR settings, crf null): between two
 *   candidates a CRF can sit on a rate cliff (film grain, noise) where no interpolation holds, and
 *   capped CRF would then run at the cap, above the fixed ladder's average.
 * - At most as many rungs as the fixed ladder has (fitted to the source), so per-title never stores
 *   more renditions than the fixed ladder would; minRungs and maxRungs are bounded by it too.
 * - Fewer than `minRungs`: placed again with half the spacing. A rung closer than half the spacing to
 *   the one above it (in quality), or not at least 10% cheaper than it, is merged into it.
 * - The last rung is near the fixed ladder's lowest bitrate when the curves reach it (in place of the
 *   last spaced rung when there is no room), so the slowest connections keep a rung.
 * - Never upscale: the curves only hold resolutions up to the source's.
 */

/** The fixed ladder's rung at one resolution: the most a per-title rung there may use. */
export interface Ceiling {
  width: number;
  height: number;
  bitrate: number;
  maxrate: number;
  bufsize: number;
  /** how the fixed ladder encodes this rung (a rung held at the ceiling is encoded the same way); absent: vbr */
  mode?: 'crf' | 'vbr' | 'cbr';
  crf?: number | null;
}

export interface PlacedRung {
  name: string;
  width: number;
  height: number;
  /** the encoder's quality setting; null: held at the ceiling, encoded as the fixed rung is (its mode and settings) */
  crf: number | null;
  /** predicted average bits/s (from the samples) */
  bitrate: number;
  maxrate: number;
  bufsize: number;
  /** predicted quality (VMAF scale) on the samples */
  quality: number;
  /** held at the fixed ladder's bitrate for its resolution */
  atCeiling: boolean;
}

export interface PlacementInput {
  curves: readonly Curve[];
  /** one per candidate resolution */
  ceilings: readonly Ceiling[];
  spec: PerTitleSpec;
  /** the encoder's crf step: 1 for integer scales (SVT-AV1), 0.1 otherwise */
  crfStep: number;
  /** the encoder's crf range */
  crfRange: readonly [number, number];
  /** the fixed ladder's bufsize / maxrate */
  bufsizeRatio: number;
}

export interface Placement {
  rungs: PlacedRung[];
  notes: string[];
}

/** maxrate = this x the predicted average (at most the fixed ladder's maxrate): peaks capped, BANDWIDTH honest. */
export const PEAK_RATIO = 2;

interface Choice {
  curve: Curve;
  bitrate: number;
  quality: number;
  crf: number;
  atCeiling: boolean;
}

function ceilingOf(input: PlacementInput, curve: Curve): Ceiling {
  const c = input.ceilings.find((x) => x.height === curve.height);
  if (!c) throw new Error(`no ceiling for ${curve.height}p`);
  return c;
}

/** The cheapest way to reach `quality` under the ceilings; a curve whose cheapest point is already better counts with that point. */
function cheapestFor(input: PlacementInput, quality: number): Choice | null {
  let best: Choice | null = null;
  for (const curve of input.curves) {
    const pts = curve.points;
    if (pts.length === 0) continue;
    const lowest = pts[0]!;
    const choice: Choice | null =
      quality <= lowest.quality
        ? { curve, bitrate: lowest.bitrate, quality: lowest.quality, crf: lowest.crf, atCeiling: false }
        : (() => {
            const b = bitrateAt(curve, quality);
            return b === null ? null : { curve, bitrate: b, quality, crf: crfAt(curve, b)!, atCeiling: false };
          })();
    if (!choice || choice.bitrate > ceilingOf(input, curve).bitrate * 1.0001) continue;
    if (!best || choice.bitrate < best.bitrate) best = choice;
  }
  return best;
}

/** The best quality any resolution gives at its ceiling (a title too hard for the target). */
function bestAtCeiling(input: PlacementInput): Choice | null {
  let best: Choice | null = null;
  for (const curve of input.curves) {
    const pts = curve.points;
    if (pts.length === 0) continue;
    const ceiling = ceilingOf(input, curve).bitrate;
    const top = pts[pts.length - 1]!;
    let choice: Choice | null;
    if (top.bitrate <= ceiling) choice = { curve, bitrate: top.bitrate, quality: top.quality, crf: top.crf, atCeiling: false };
    else {
      const q = qualityAt(curve, ceiling);
      choice = q === null ? null : { curve, bitrate: ceiling, quality: q, crf: crfAt(curve, ceiling)!, atCeiling: true };
    }
    if (choice && (!best || choice.quality > best.quality)) best = choice;
  }
  return best;
}

/** The best quality any resolution gives at `bitrate` (the floor rung). */
function bestAtBitrate(input: PlacementInput, bitrate: number): Choice | null {
  let best: Choice | null = null;
  for (const curve of input.curves) {
    const q = qualityAt(curve, bitrate);
    if (q === null) continue;
    if (!best || q > best.quality) best = { curve, bitrate, quality: q, crf: crfAt(curve, bitrate)!, atCeiling: false };
  }
  return best;
}

/** Round the quality setting to what the encoder takes, and re-read bits and quality there. */
function settle(input: PlacementInput, c: Choice): Choice {
  const step = input.crfStep;
  const [lo, hi] = input.crfRange;
  // round towards better quality (lower crf) so the prediction is not optimistic
  const crf = Math.min(hi, Math.max(lo, Math.floor(c.crf / step + 1e-9) * step));
  const rounded = Math.round(crf * 1000) / 1000;
  const at = atCrf(c.curve, rounded);
  if (!at) return { ...c, crf: rounded };
  const ceiling = ceilingOf(input, c.curve).bitrate;
  return { ...c, crf: rounded, bitrate: Math.min(at.bitrate, ceiling), quality: at.quality };
}

function place(input: PlacementInput, spacing: number, notes: string[]): Choice[] {
  const spec = bounded(input);
  const floor = Math.min(...input.ceilings.map((c) => c.bitrate));
  let top = cheapestFor(input, spec.target);
  if (!top) {
    top = bestAtCeiling(input);
    if (!top) return [];
    notes.push(
      `the target (VMAF ${spec.target}) is out of reach within the fixed ladder's bitrates: the top rung gets the best measured (${top.quality.toFixed(1)} at ${top.curve.height}p)`,
    );
  }
  const chosen: Choice[] = [settle(input, top)];
  for (let k = 1; chosen.length < spec.maxRungs; k++) {
    const last = chosen[chosen.length - 1]!;
    if (last.bitrate <= floor * 1.0001) break;
    const next = cheapestFor(input, chosen[0]!.quality - k * spacing);
    if (!next || next.bitrate >= last.bitrate * 0.9) break;
    chosen.push(settle(input, next));
  }
  // keep the fixed ladder's reach: a last rung near its lowest bitrate, for the slowest connections
  // (in place of the last spaced rung when the ladder is full)
  const last = chosen[chosen.length - 1]!;
  if (last.bitrate > floor * 1.5) {
    const f = bestAtBitrate(input, floor) ?? lowestPoint(input);
    if (f && f.bitrate < last.bitrate * 0.9) {
      if (chosen.length >= spec.maxRungs && chosen.length > 1) chosen.pop();
      chosen.push(settle(input, f));
    }
  }
  return merge(chosen, spacing);
}

function lowestPoint(input: PlacementInput): Choice | null {
  let best: Choice | null = null;
  for (const curve of input.curves) {
    const p = curve.points[0];
    if (p && (!best || p.bitrate < best.bitrate)) best = { curve, bitrate: p.bitrate, quality: p.quality, crf: p.crf, atCeiling: false };
  }
  return best;
}

/** Drop rungs within half a spacing (quality) of the one above, or not 10% cheaper than it. */
function merge(chosen: Choice[], spacing: number): Choice[] {
  const out: Choice[] = [];
  for (const c of chosen) {
    const prev = out[out.length - 1];
    if (prev && (prev.quality - c.quality < spacing / 2 || c.bitrate > prev.bitrate * 0.9)) continue;
    out.push(c);
  }
  return out;
}

/** minRungs and maxRungs, at most the fixed ladder's rung count. */
function bounded(input: PlacementInput): PerTitleSpec {
  const n = input.ceilings.length;
  return { ...input.spec, maxRungs: Math.min(input.spec.maxRungs, n), minRungs: Math.min(input.spec.minRungs, n) };
}

export function placeRungs(input: PlacementInput): Placement {
  const notes: string[] = [];
  const spec = bounded(input);
  let spacing = input.spec.spacing;
  let chosen = place(input, spacing, notes);
  while (chosen.length < spec.minRungs && spacing / 2 >= 0.5) {
    spacing /= 2;
    const again = place(input, spacing, []);
    if (again.length <= chosen.length) break;
    chosen = again;
  }
  if (chosen.length < spec.minRungs)
    notes.push(
      `only ${chosen.length} rung(s): the measured curves do not span ${spec.minRungs} rungs at least ${spacing.toFixed(1)} VMAF apart${chosen.length > 0 ? ` (nothing cheaper than the last rung, at ${Math.min(...chosen.map((c) => c.quality)).toFixed(1)})` : ''}`,
    );
  else if (spacing !== input.spec.spacing) notes.push(`rungs ${spacing.toFixed(1)} VMAF apart (not ${input.spec.spacing}) to make minRungs (${spec.minRungs})`);
  if (spec.maxRungs < input.spec.maxRungs) notes.push(`at most ${spec.maxRungs} rungs: the fixed ladder has ${spec.maxRungs} for this source`);
  const names = new Set<string>();
  const rungs = chosen.map((c) => {
    const ceiling = ceilingOf(input, c.curve);
    const atCeiling = c.atCeiling || Math.round(c.bitrate) >= ceiling.bitrate;
    const bitrate = atCeiling ? ceiling.bitrate : Math.round(c.bitrate);
    const maxrate = atCeiling ? ceiling.maxrate : Math.max(bitrate, Math.min(ceiling.maxrate, Math.round(bitrate * PEAK_RATIO)));
    let name = `${c.curve.height}p`;
    if (names.has(name)) name = `${c.curve.height}p-${Math.round(bitrate / 1000)}k`;
    names.add(name);
    return {
      name,
      width: c.curve.width,
      height: c.curve.height,
      crf: atCeiling ? null : c.crf,
      bitrate,
      maxrate,
      bufsize: atCeiling ? ceiling.bufsize : Math.min(ceiling.bufsize, Math.round(maxrate * input.bufsizeRatio)),
      quality: Math.round(c.quality * 100) / 100,
      atCeiling,
    } satisfies PlacedRung;
  });
  return { rungs, notes };
}
