import { join } from 'node:path';
import { encoderProfiles, type RungEncodeSettings } from '../encoder/profiles.js';
import type { LadderRung } from '../media/ladder.js';
import { protocolOptions } from '../media/probe.js';
import { formatRational } from '../media/rational.js';
import { formatBitrate } from '../preset/units.js';
import { rungDir, segmentExtension, type TranscodePlan } from '../plan.js';

/**
 * Pure command building: TranscodePlan -> ffmpeg argv. No I/O, no process, tested without ffmpeg.
 *
 * One process per job: the source is decoded once; the frame rate is fixed once (constant frame
 * rate out of any input); each rung is scaled from the next larger rung rather than from the source
 * (cheaper, same quality for downscales); the pixel format is converted once, in the first scaler;
 * audio is encoded once per rendition, not once per rung.
 */

/**
 * `%` in the HLS muxer's file names: ffmpeg 5.1 replaces `%d` / `%0Nd` (segment number) and `%v`
 * (variant) anywhere in the path, and has NO escape for them (`%%` stays `%%` on disk, so escaping
 * would break a plain `100%` folder). Any other `%` is written as is. So folders are passed
 * unchanged, and a path the muxer would rewrite is refused up front (see hlsPathProblem).
 */
export function escapePattern(path: string): string {
  return path;
}

/** Why ffmpeg's HLS muxer would not write where `path` says (null when it would). */
export function hlsPathProblem(path: string): string | null {
  const m = /%(?:\d*d|v)/.exec(path);
  return m ? `ffmpeg's HLS muxer reads "${m[0]}" in a path as a numbering pattern and cannot escape it` : null;
}

export function videoFilterGraph(plan: TranscodePlan): { graph: string; outputs: string[] } {
  const { ladder, media } = plan;
  const rungs = ladder.rungs;
  const pixelFormat = encoderProfiles[plan.encoder].pixelFormat;
  const head: string[] = [`fps=${formatRational(ladder.frameRate)}`];
  const parts: string[] = [];
  const outputs = rungs.map((_, i) => `v${i}`);
  const v = media.video;
  const top = rungs[0]!;
  const needsScale = top.width !== v.displayWidth || top.height !== v.displayHeight || v.sar.num !== v.sar.den;
  const chain = [...head];
  if (needsScale) chain.push(`scale=${top.width}:${top.height}`);
  if (v.pixelFormat !== pixelFormat || needsScale) chain.push(`format=${pixelFormat}`);
  chain.push('setsar=1');
  // rung i feeds both its own output and the scaler of rung i+1
  let source = `[0:${v.index}]`;
  rungs.forEach((rung, i) => {
    const filters = i === 0 ? chain : [`scale=${rung.width}:${rung.height}`, 'setsar=1'];
    const last = i === rungs.length - 1;
    if (last) {
      parts.push(`${source}${filters.join(',')}[${outputs[i]}]`);
    } else {
      parts.push(`${source}${filters.join(',')},split=2[${outputs[i]}][c${i}]`);
      source = `[c${i}]`;
    }
  });
  return { graph: parts.join(';'), outputs };
}

export function rungEncodeSettings(plan: TranscodePlan, rung: LadderRung): RungEncodeSettings {
  return {
    mode: plan.preset.video.rateControl.mode,
    bitrate: rung.bitrate,
    maxrate: rung.maxrate,
    bufsize: rung.bufsize,
    crf: rung.crf,
    gopFrames: plan.ladder.gopFrames,
    speed: plan.speed,
    tune: plan.tune,
    options: plan.encoderOptions,
  };
}

function hlsOutputArgs(plan: TranscodePlan, dir: string): string[] {
  const hls = plan.hls!;
  const ext = segmentExtension(hls.container);
  return [
    '-f', 'hls',
    '-hls_time', hls.hlsTime.toFixed(6),
    '-hls_playlist_type', 'vod',
    '-hls_list_size', '0',
    '-hls_segment_type', hls.container === 'ts' ? 'mpegts' : 'fmp4',
    ...(hls.container === 'fmp4' ? ['-hls_fmp4_init_filename', 'init.mp4'] : []),
    '-hls_flags', 'independent_segments',
    '-hls_segment_filename', join(escapePattern(dir), `seg_%05d.${ext}`),
    join(dir, 'index.m3u8'),
  ];
}

/** The whole ffmpeg argv (without the binary, without -progress: ffmpeg/run.ts adds that). */
export function buildTranscodeArgs(plan: TranscodePlan): string[] {
  const { media } = plan;
  const profile = encoderProfiles[plan.encoder];
  const args: string[] = ['-loglevel', 'warning', '-y', ...protocolOptions(media.remote), ...media.inputOptions, '-i', media.url];
  const { graph, outputs } = videoFilterGraph(plan);
  args.push('-filter_complex', graph);
  plan.ladder.rungs.forEach((rung, i) => {
    args.push('-map', `[${outputs[i]}]`, '-c:v', profile.name, ...profile.args(rungEncodeSettings(plan, rung)));
    args.push('-map_metadata', '-1', '-map_chapters', '-1');
    if (plan.hls) args.push(...hlsOutputArgs(plan, join(plan.workDir, rungDir(rung.name))));
  });
  if (plan.audio) {
    for (const a of plan.audioRenditions) {
      args.push(
        '-map', `0:a:${a.sourceOrder}`,
        '-c:a', 'aac',
        '-b:a', formatBitrate(plan.audio.bitrate),
        '-ac', String(a.channels),
        '-ar', String(plan.audio.sampleRate),
        '-map_metadata', '-1', '-map_chapters', '-1',
      );
      if (plan.hls) args.push(...hlsOutputArgs(plan, join(plan.workDir, a.dir)));
    }
  }
  return args;
}

/** Decode several files in one ffmpeg process, discarding the frames; -xerror makes any decode error fatal. */
export function buildDecodeCheckArgs(files: readonly string[]): string[] {
  const args = ['-loglevel', 'error', '-xerror', '-protocol_whitelist', 'file'];
  for (const f of files) args.push('-i', `file:${f}`);
  files.forEach((_, i) => args.push('-map', `${i}`, '-f', 'null', '-'));
  return args;
}

/** One tiny frame through an encoder: does it really work here (GPU present, driver, sessions)? */
export function buildTrialEncodeArgs(encoder: string): string[] {
  return ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=black:size=256x144:rate=1', '-frames:v', '1', '-c:v', encoder, '-f', 'null', '-'];
}
