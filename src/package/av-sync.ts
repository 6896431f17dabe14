import { StreamkitError } from '../errors.js';
import type { Timeline } from '../plan.js';

/**
 * A/V sync of a package, from the timestamps packaging measured: every rendition must place the same
 * source instant at the same PTS. Where a rendition starts is compared with where the source's own
 * start times put it: ffmpeg moves the input's start to zero, the frame-rate filter keeps the video's
 * start (plan.timeline.videoStart), audio starts with its first decoded sample, the package adds
 * one offset to everything (plan.ts Timeline), and the MPEG-TS muxer adds its own mux delay on top;
 * so relative to the first audio rendition (audio is sample-exact: nothing is dropped or rounded):
 *
 *   audio: first PTS + priming samples / sample rate   at  origin + (audio start - source start)
 *   video: first PTS of each rung                      at  origin + (video start - source start)
 *
 * each within a millisecond. More means a muxer or encoder moved one rendition against the others,
 * and players would show it out of sync. Without audio only the rungs are compared with each other
 * (checkAlignment already does so segment by segment).
 */

export interface RenditionStart {
  dir: string;
  /** PTS in seconds of the rendition's first frame, as measured in its first segment */
  firstPts: number | null;
}

export interface AudioRenditionStart extends RenditionStart {
  sampleRate: number;
  /** this rendition's encoder delay in samples (plan.ts audioPrimingSamples); absent: timeline.audioPrimingSamples (AAC) */
  primingSamples?: number;
  /** when the source's first decoded sample of this stream plays, seconds (media/probe.ts probeAudioStarts); null: at the input's start */
  sourceStart: number | null;
}

export interface SyncInput {
  timeline: Timeline;
  videos: readonly RenditionStart[];
  audios: readonly AudioRenditionStart[];
}

export interface RenditionSync {
  dir: string;
  kind: 'video' | 'audio';
  /** where the rendition's first source sample or frame is on the package timeline, seconds */
  start: number;
  /** where the source's start times put it, seconds */
  expected: number;
  /** start - expected, in milliseconds (positive: later than the source) */
  errorMs: number;
}

/** What the check found: one entry per rendition, and the largest audio-against-video offset. */
export interface SyncReport {
  renditions: RenditionSync[];
  /** the worst audio rendition against the first video rung, in ms, positive when audio is late (0 without audio) */
  audioVideoOffsetMs: number;
  toleranceMs: number;
}

/** How far a rendition may be from where the source puts it: timestamps are exact to well under this. */
const TOLERANCE_S = 0.001;

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Measure every rendition's start against the source's start times; throws VERIFY_FAILED with the numbers when one is off. */
export function checkAvSync(input: SyncInput): SyncReport {
  const relative = (t: number | null): number => (t ?? input.timeline.inputStart) - input.timeline.inputStart;
  // the frame-rate filter keeps the video's start exactly (args/fps-filter.ts), on the grid when it is zero
  const videoAt = input.timeline.videoStart;
  const audios = input.audios
    .filter((a) => a.firstPts !== null)
    .map((a) => ({ dir: a.dir, start: a.firstPts! + (a.primingSamples ?? input.timeline.audioPrimingSamples) / a.sampleRate, at: relative(a.sourceStart) }));
  const videos = input.videos.filter((v) => v.firstPts !== null).map((v) => ({ dir: v.dir, start: v.firstPts!, at: videoAt }));
  // the origin of the package's timeline: from the first audio rendition, else from the first rung
  const anchor = audios[0] ?? videos[0];
  if (!anchor) return { renditions: [], audioVideoOffsetMs: 0, toleranceMs: TOLERANCE_S * 1000 };
  const origin = anchor.start - anchor.at;
  const renditions: RenditionSync[] = [
    ...videos.map((v) => ({ dir: v.dir, kind: 'video' as const, start: v.start, expected: origin + v.at, errorMs: round3((v.start - origin - v.at) * 1000) })),
    ...audios.map((a) => ({ dir: a.dir, kind: 'audio' as const, start: a.start, expected: origin + a.at, errorMs: round3((a.start - origin - a.at) * 1000) })),
  ];
  const off = renditions.filter((r) => Math.abs(r.errorMs) > TOLERANCE_S * 1000);
  if (off.length > 0) {
    const what = off.map(
      (r) =>
        `${r.dir} (${r.kind}) starts at ${r.start.toFixed(4)} s, ${r.errorMs > 0 ? 'later' : 'earlier'} by ${Math.abs(r.errorMs).toFixed(1)} ms than the source's start times put it (${r.expected.toFixed(4)} s)`,
    );
    throw new StreamkitError('VERIFY_FAILED', `Audio and video are out of sync: ${what.join('; ')}.`, {
      hint: 'Players would show this package out of sync. This is a bug or an ffmpeg problem; rerun with --verbose and report it with the ffmpeg version.',
      details: { renditions, toleranceMs: TOLERANCE_S * 1000 },
    });
  }
  const video = renditions.find((r) => r.kind === 'video');
  const offsets = video ? renditions.filter((r) => r.kind === 'audio').map((r) => r.errorMs - video.errorMs) : [];
  const worst = offsets.reduce((w, x) => (Math.abs(x) > Math.abs(w) ? x : w), 0);
  return { renditions, audioVideoOffsetMs: round3(worst), toleranceMs: TOLERANCE_S * 1000 };
}
