import { presetRungName, videoLadders, type Preset, type VideoLadderSpec } from '../preset/schema.js';
import type { MediaInfo } from './probe.js';
import { divide, rational, toNumber, type Rational } from './rational.js';

/**
 * The source-aware ladder: the preset's rungs fitted to one input.
 *
 * - Never upscale: rungs taller than the source are dropped. When the source sits between two rungs
 *   (say 900p between 720p and 1080p), a rung at the source's own height is added in place of the
 *   dropped one above it, its bitrates scaled by the pixel ratio, so the best picture the source has
 *   is not thrown away. It is not added when the source is within 10% of the highest kept rung
 *   (a 740p source just gets the 720p rung). A source smaller than every rung yields one rung at
 *   source size, scaled from the smallest rung.
 * - "height" means the shorter side: a portrait (e.g. rotated phone) source's 720 rung is 720 wide.
 * - The display aspect ratio (sample aspect ratio and rotation applied) is kept; every dimension is
 *   even (4:2:0 chroma); output pixels are square.
 * - Frame rate: the source's exact rate unless above the cap, then divided by the smallest whole
 *   number that brings it under (59.94 -> 29.97 with a 30 cap, 50 -> 25), so frames are dropped
 *   evenly and motion stays smooth. Output is constant frame rate, also from variable-rate sources.
 */

export interface LadderRung {
  name: string;
  width: number;
  height: number;
  bitrate: number;
  maxrate: number;
  bufsize: number;
  crf: number | undefined;
  /** this rung's rate control where the preset gives it one (else the ladder's rateControl.mode) */
  mode?: 'crf' | 'vbr' | 'cbr';
  /** true when this rung was made at the source's size in place of a taller preset rung */
  fromSource: boolean;
  /** an SDR copy of an HDR ladder's rung (video.hdr: both): tone-mapped, 8-bit, BT.709 */
  sdr?: boolean;
  /** in a multi-codec plan: which of the preset's video ladders this rung belongs to (plan.ts TranscodePlan.encodings) */
  ladder?: number;
}

export interface Ladder {
  rungs: LadderRung[];
  frameRate: Rational;
  /** frames between keyframes */
  gopFrames: number;
  /** actual keyframe interval in seconds (gopFrames / frameRate) */
  keyframeInterval: number;
  /** what was dropped or added, in words */
  notes: string[];
}

export function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}

/** Frame rate after the cap, exact. */
export function cappedFrameRate(source: Rational, cap: number): Rational {
  if (toNumber(source) <= cap + 1e-9) return source;
  for (let k = 2; k < 1000; k++) {
    const r = divide(source, k);
    if (toNumber(r) <= cap + 1e-9) return r;
  }
  return rational(Math.round(cap * 1000), 1000);
}

/**
 * `spec`: which of the preset's video ladders (default: its only one); `multi`: the preset has several,
 * so rungs without a name are called CODEC-HEIGHTp.
 */
export function buildLadder(preset: Preset, media: Pick<MediaInfo, 'video'>, spec: VideoLadderSpec = preset.video, multi = false): Ladder {
  const { displayWidth: dw, displayHeight: dh } = media.video;
  const portrait = dh > dw;
  const shortSide = Math.min(dw, dh);
  const aspect = portrait ? dh / dw : dw / dh; // long / short
  const rc = spec.rateControl;
  const notes: string[] = [];

  const specs = [...spec.rungs].sort((a, b) => b.height - a.height);
  const make = (
    name: string,
    short: number,
    bitrate: number,
    maxrate: number | undefined,
    bufsize: number | undefined,
    crf: number | undefined,
    fromSource: boolean,
    mode?: 'crf' | 'vbr' | 'cbr',
  ): LadderRung => {
    const s = even(short);
    const l = even(s * aspect);
    const max = (mode ?? rc.mode) === 'cbr' ? bitrate : Math.round(maxrate ?? bitrate * rc.maxrateRatio);
    return {
      name,
      width: portrait ? s : l,
      height: portrait ? l : s,
      bitrate: Math.round(bitrate),
      maxrate: max,
      bufsize: Math.round(bufsize ?? max * rc.bufsizeRatio),
      crf: crf ?? rc.crf,
      ...(mode ? { mode } : {}),
      fromSource,
    };
  };

  const kept = specs.filter((r) => r.height <= shortSide);
  const dropped = specs.filter((r) => r.height > shortSide);
  const nameOf = (r: { name?: string | undefined; height: number }): string => presetRungName(r, spec.codec, multi);
  for (const d of dropped) notes.push(`dropped ${nameOf(d)}: taller than the source (${shortSide}p)`);
  const rungs = kept.map((r) => make(nameOf(r), r.height, r.bitrate, r.maxrate, r.bufsize, r.crf, false, r.mode));

  const above = dropped[dropped.length - 1]; // the smallest rung taller than the source
  const top = kept[0];
  const sourceShort = even(Math.floor(shortSide / 2) * 2);
  if (above && (!top || sourceShort > top.height * 1.1)) {
    const pixelRatio = (sourceShort / above.height) ** 2;
    const scale = (v: number | undefined): number | undefined => (v === undefined ? undefined : v * pixelRatio);
    const name = nameOf({ height: sourceShort });
    rungs.unshift(
      make(
        rungs.some((r) => r.name === name) ? `${name}-source` : name,
        sourceShort,
        above.bitrate * pixelRatio,
        scale(above.maxrate),
        scale(above.bufsize),
        above.crf,
        true,
        above.mode,
      ),
    );
    notes.push(`added ${name} at the source's height in place of ${nameOf(above)}, bitrate scaled by the pixel ratio (${pixelRatio.toFixed(2)})`);
  }

  const frameRate = cappedFrameRate(media.video.frameRate, spec.maxFrameRate);
  if (frameRate !== media.video.frameRate) notes.push(`frame rate capped from ${toNumber(media.video.frameRate).toFixed(3)} to ${toNumber(frameRate).toFixed(3)} fps`);
  const gopFrames = Math.max(1, Math.round(spec.keyframeInterval * toNumber(frameRate)));
  return { rungs, frameRate, gopFrames, keyframeInterval: gopFrames / toNumber(frameRate), notes };
}

/**
 * Every video ladder of the preset fitted to the source, as one ladder: a single-ladder preset's, or
 * the rungs of all of a multi-codec preset's ladders in order (each rung knows its ladder), sharing
 * the frame rate and GOP (the schema makes keyframeInterval and maxFrameRate equal).
 */
export function buildLadders(preset: Preset, media: Pick<MediaInfo, 'video'>): Ladder {
  const specs = videoLadders(preset);
  if (specs.length === 1) return buildLadder(preset, media);
  const fitted = specs.map((l) => buildLadder(preset, media, l, true));
  return { ...fitted[0]!, rungs: fitted.flatMap((f, k) => f.rungs.map((r) => ({ ...r, ladder: k }))), notes: [...new Set(fitted.flatMap((f) => f.notes))] };
}
