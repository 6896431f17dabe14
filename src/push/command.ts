import { encoderProfiles } from '../encoder/profiles.js';
import { forStream, rungEncodeSettings } from '../args/command.js';
import { protocolOptions } from '../media/probe.js';
import { formatRational } from '../media/rational.js';
import type { TranscodePlan } from '../plan.js';
import { formatBitrate } from '../preset/units.js';
import type { PublishTarget } from './url.js';

/**
 * Pure argv building for `streamkit push`: one ffmpeg process that reads the input at its own pace
 * (-re), encodes the preset's top rung and publishes FLV over RTMP. No I/O here.
 */

export interface PushArgsOptions {
  target: Pick<PublishTarget, 'url' | 'scheme'>;
  /** -stream_loop -1 */
  loop: boolean;
  /** input position to start from (seconds; after a reconnect, where the last connection stopped) */
  startSeconds: number;
  /** seconds to publish in this run (the rest of --duration); null: until the input ends (or forever with loop) */
  durationSeconds: number | null;
  /** ffmpeg >= 5.1 spells the frame-rate mode option -fps_mode; older ones -vsync */
  fpsModeOption: '-fps_mode' | '-vsync';
  /** socket read/write timeout: a server that stops answering fails the run instead of hanging it */
  ioTimeoutSeconds?: number;
}

export function buildPushArgs(plan: TranscodePlan, o: PushArgsOptions): string[] {
  const { media } = plan;
  const rung = plan.ladder.rungs[0]!;
  const profile = encoderProfiles[plan.encoder];
  const args: string[] = ['-loglevel', 'warning', '-re'];
  if (o.loop) args.push('-stream_loop', '-1');
  if (o.startSeconds > 0) args.push('-ss', o.startSeconds.toFixed(3));
  args.push(...protocolOptions(media.remote), ...media.inputOptions, '-i', media.url);
  // a source without audio still gets an AAC track (silence): many ingests refuse or mistime video-only streams
  const silent = plan.audio !== null && media.audio.length === 0;
  if (silent) args.push('-f', 'lavfi', '-i', `anullsrc=channel_layout=${plan.audio!.channels >= 2 ? 'stereo' : 'mono'}:sample_rate=${plan.audio!.sampleRate}`);

  const v = media.video;
  const pixelFormat = profile.pixelFormat;
  const needsScale = rung.width !== v.displayWidth || rung.height !== v.displayHeight || v.sar.num !== v.sar.den;
  const chain: string[] = [];
  if (needsScale) chain.push(`scale=${rung.width}:${rung.height}`);
  if (v.pixelFormat !== pixelFormat || needsScale) chain.push(`format=${pixelFormat}`);
  chain.push('setsar=1');
  args.push('-filter_complex', `[0:${v.index}]${chain.join(',')}[v]`);
  // constant frame rate set by the output (not a filter), so ffmpeg counts the frames it duplicates or drops
  args.push('-map', '[v]', '-r', formatRational(plan.ladder.frameRate), o.fpsModeOption, 'cfr');
  // encoder options aimed at the video stream only (an unqualified -profile would also hit the AAC encoder)
  args.push('-c:v', profile.name, ...forStream(profile.args(rungEncodeSettings(plan, rung)), 'v:0'));
  if (plan.audio) {
    const a = plan.audioRenditions[0];
    // biome-ignore format: ffmpeg flag/value pairs, one pair per line
    args.push(
      '-map', silent ? '1:a:0' : `0:a:${a?.sourceOrder ?? 0}`,
      '-c:a', 'aac',
      '-b:a', formatBitrate(plan.audio.bitrate),
      '-ac', String(a?.channels ?? Math.min(2, plan.audio.channels)),
      '-ar', String(plan.audio.sampleRate),
    );
    if (silent && !o.loop) args.push('-shortest');
  }
  if (o.durationSeconds !== null) args.push('-t', o.durationSeconds.toFixed(3));
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  args.push(
    '-map_metadata', '-1', '-map_chapters', '-1',
    // a live FLV stream cannot seek back to patch its header
    '-flvflags', 'no_duration_filesize',
    '-rw_timeout', String(Math.round((o.ioTimeoutSeconds ?? 10) * 1e6)),
    // the output may only be the RTMP(S) connection itself
    '-protocol_whitelist', o.target.scheme === 'rtmps' ? 'rtmps,tls,tcp' : 'rtmp,tcp',
    '-f', 'flv', o.target.url,
  );
  return args;
}
