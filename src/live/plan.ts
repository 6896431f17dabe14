import { StreamkitError } from '../errors.js';
import type { RungEncodeSettings } from '../encoder/profiles.js';
import { buildLadder, type LadderRung } from '../media/ladder.js';
import { rational, toNumber } from '../media/rational.js';
import type { ResolvedPreset } from '../preset/load.js';

/**
 * A live ladder, fixed before any publisher connects (one pure value, like plan.ts's TranscodePlan):
 * every publisher session is encoded to the same rungs, so players keep the same variants across a
 * reconnect. The source is not known in advance, so the ladder is the preset's at 16:9 and the
 * preset's maxFrameRate: each rung is WxH (W = H x 16/9, even), a publisher of another shape is
 * letterboxed or pillarboxed into it, and frames are dropped or repeated to the fixed rate. What a
 * publisher actually sends is reported (live.ts) when it differs.
 */
export interface LivePlan {
  preset: string;
  encoder: 'libx264';
  rungs: LadderRung[];
  /** output frames per second (constant) */
  fps: number;
  gopFrames: number;
  keyframeInterval: number;
  segmentDuration: number;
  audio: { bitrate: number; channels: number; sampleRate: number } | null;
  /** per rung, the encoder's options (profiles.ts) */
  encodeSettings: RungEncodeSettings[];
}

export const DEFAULT_LIVE_LADDER = 'live-ladder';

export function planLive(resolved: ResolvedPreset): LivePlan {
  const p = resolved.preset;
  const refuse = (message: string, hint: string): StreamkitError => new StreamkitError('USAGE', message, { hint, details: { preset: resolved.name } });
  if (!p.live)
    throw refuse(`Preset ${resolved.name} is not a live preset; streamkit live needs one (live: true).`, `Use --preset ${DEFAULT_LIVE_LADDER}, or a preset with "live: true".`);
  if (!p.packaging.hls)
    throw refuse(`Preset ${resolved.name} has no packaging.hls; streamkit live writes HLS.`, `Use --preset ${DEFAULT_LIVE_LADDER}, or add packaging.hls with a segment duration.`);
  if (p.video.codec !== 'h264' || p.video.encoder.cpu?.name !== 'libx264') {
    throw refuse(
      `Preset ${resolved.name} is ${p.video.codec} (${p.video.encoder.cpu?.name ?? 'no CPU encoder'}); streamkit live encodes H.264 with libx264 for now.`,
      'Use an H.264 preset with a libx264 CPU encoder.',
    );
  }
  if (p.packaging.hls.container === 'fmp4')
    throw refuse(`Preset ${resolved.name} asks for fMP4 segments; streamkit live writes MPEG-TS segments for now.`, 'Set packaging.hls.container: ts.');
  const top = Math.max(...p.video.rungs.map((r) => r.height));
  const fps = rational(Math.round(p.video.maxFrameRate * 1000), 1000);
  // the planned source: 16:9 at the top rung's height, square pixels, at the preset's frame rate
  const ladder = buildLadder(p, {
    video: {
      index: 0,
      codec: 'h264',
      width: Math.round((top * 16) / 9 / 2) * 2,
      height: top,
      sar: rational(1, 1),
      rotation: 0,
      displayWidth: Math.round((top * 16) / 9 / 2) * 2,
      displayHeight: top,
      frameRate: fps,
      variableFrameRate: false,
      pixelFormat: 'yuv420p',
      bitDepth: 8,
    },
  });
  const cpu = p.video.encoder.cpu;
  const encodeSettings = ladder.rungs.map(
    (r): RungEncodeSettings => ({
      mode: p.video.rateControl.mode,
      bitrate: r.bitrate,
      maxrate: r.maxrate,
      bufsize: r.bufsize,
      crf: r.crf,
      gopFrames: ladder.gopFrames,
      speed: cpu.preset,
      tune: cpu.tune,
      options: cpu.options ?? {},
    }),
  );
  const audio = p.audio === false ? null : { bitrate: p.audio.bitrate, channels: Math.min(2, p.audio.channels), sampleRate: p.audio.sampleRate };
  return {
    preset: resolved.name,
    encoder: 'libx264',
    rungs: ladder.rungs,
    fps: toNumber(ladder.frameRate),
    gopFrames: ladder.gopFrames,
    keyframeInterval: ladder.keyframeInterval,
    segmentDuration: p.packaging.hls.segmentDuration,
    audio,
    encodeSettings,
  };
}
