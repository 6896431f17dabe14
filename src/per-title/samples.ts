/**
 * Which parts of a title the per-title analysis encodes: pure, from the duration, the keyframe
 * interval and the scene cuts `scdet` found (per-title/scenes.ts).
 *
 * A short title is analysed whole. A longer one gets evenly spread samples (about a tenth of the
 * title, 3 to 20 of them, each a whole number of GOPs and about 2 s long), each moved to start at the
 * scene cut nearest its slot when there is one within the slot, so that a sample shows scenes as the
 * viewer sees them, not the seconds either side of a cut.
 */

export interface Sample {
  /** seconds from the start of the title */
  start: number;
  /** seconds */
  duration: number;
}

/** Titles up to this long are analysed whole. */
export const WHOLE_TITLE_MAX_SECONDS = 12;
/** Share of a longer title that is sampled (before the bounds on the count). */
const SAMPLED_SHARE = 0.1;
const SAMPLE_SECONDS = 2;
const MIN_SAMPLES = 3;
const MAX_SAMPLES = 20;

/** Sample length: a whole number of keyframe intervals, at least one GOP, about SAMPLE_SECONDS. */
export function sampleSeconds(keyframeInterval: number): number {
  const gops = Math.max(1, Math.round(SAMPLE_SECONDS / keyframeInterval));
  return gops * keyframeInterval;
}

export function pickSamples(duration: number, keyframeInterval: number, sceneCuts: readonly number[]): Sample[] {
  if (!(duration > 0)) throw new Error(`expected a positive duration, got ${duration}`);
  const length = sampleSeconds(keyframeInterval);
  if (duration <= Math.max(WHOLE_TITLE_MAX_SECONDS, length * MIN_SAMPLES)) return [{ start: 0, duration }];
  const count = Math.min(MAX_SAMPLES, Math.max(MIN_SAMPLES, Math.round((duration * SAMPLED_SHARE) / length)));
  const slot = duration / count;
  const samples: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const from = i * slot;
    const to = Math.min(duration, from + slot) - length;
    const centred = from + (slot - length) / 2;
    // the scene cut nearest the slot's centre that leaves the whole sample inside the slot
    const cuts = sceneCuts.filter((t) => t >= from && t <= to);
    const nearest = cuts.sort((a, b) => Math.abs(a - centred) - Math.abs(b - centred))[0];
    const start = Math.max(0, Math.min(duration - length, nearest ?? centred));
    samples.push({ start: round3(start), duration: length });
  }
  return samples;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Seconds of the title the samples cover. */
export function sampledSeconds(samples: readonly Sample[]): number {
  return samples.reduce((a, s) => a + s.duration, 0);
}
