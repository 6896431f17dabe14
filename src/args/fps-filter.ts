import { deinterlaceFilter } from '../media/interlace.js';
import { formatRational } from '../media/rational.js';
import type { TranscodePlan } from '../plan.js';

/**
 * The time base of the video frames when the source's video starts after its input does: fine
 * enough (MPEG-TS's 90 kHz) to keep that start exactly, where the frame rate's own 1/fps would round
 * it by up to half a frame.
 */
const SHIFTED_TIME_BASE = '1/90000';

/**
 * The frame-rate filter at the head of every video graph: constant frame rate at the ladder's rate.
 * Its grid of 1/fps steps starts where the source's video starts (plan.timeline.videoStart), so a
 * video that starts after its audio (0.5213 s, say, in an MPEG-TS capture) keeps that start exactly:
 * the frames are moved to start at zero, put on the grid, and moved back in a 90 kHz time base
 * (the encoders then take that time base: encoderTimeBaseArgs). Frames missing at the start (a
 * capture cut before a keyframe, whose first frames cannot be decoded) are filled with the first
 * decoded one (start_time=0, also when the video is the input's first stream), so the video starts
 * where its container says and every later frame stays at its source time. Each output takes the frames as timed here (`-fps_mode
 * passthrough` in command.ts), never moved to start at zero.
 */
export function fpsFilter(plan: Pick<TranscodePlan, 'ladder' | 'timeline' | 'deinterlace'>): string {
  // deinterlacing comes first: bwdif needs the source's fields, at the source's rate
  const deint = plan.deinterlace ? [deinterlaceFilter(plan.deinterlace)] : [];
  const fps = `fps=${formatRational(plan.ladder.frameRate)}:start_time=0`;
  const start = plan.timeline.videoStart;
  if (start <= 0) return [...deint, fps].join(',');
  return [...deint, `setpts=PTS-${start}/TB`, fps, `settb=${SHIFTED_TIME_BASE}`, `setpts=PTS+${start}/TB`].join(',');
}

/** `-enc_time_base` for the video encoders when fpsFilter moved the grid (their default, 1/fps, would round it back). */
export function encoderTimeBaseArgs(plan: Pick<TranscodePlan, 'timeline'>, stream: string): string[] {
  return plan.timeline.videoStart > 0 ? [`-enc_time_base:${stream}`, SHIFTED_TIME_BASE.replace('/', ':')] : [];
}
