import { forStream } from '../args/command.js';
import { encoderProfiles } from '../encoder/profiles.js';
import { formatBitrate } from '../preset/units.js';
import type { LivePlan } from './plan.js';

/**
 * Pure argv building for one publisher session of `streamkit live`: ffmpeg listens for the stream
 * (RTMP on streamkit's internal loopback port behind the publish gate, or SRT on the user's port
 * with the passphrase), decodes it once, fixes the frame rate once, splits the frames to every rung
 * (scaled into the rung's box, letterboxed when the shape differs), encodes every rung with libx264
 * (closed 2 s GOPs of exactly gopFrames frames: IDRs at the same frames in every rung) and the audio
 * once (AAC), and writes HLS segments per rendition into the session folder. streamkit then renames
 * the segments into the package's continuous numbering and writes every playlist itself
 * (live/packager.ts); ffmpeg's own playlists there are only read, to learn which segments are done.
 * No I/O here.
 */

/** `options`: the protocol's options, before -i (secret for SRT: the passphrase) */
export type LiveInput = { kind: 'rtmp' | 'srt'; url: string; options: string[] };

export interface LiveArgsOptions {
  input: LiveInput;
  /** the session folder, relative to ffmpeg's working folder (the package folder); no `%` in it */
  sessionDir: string;
  /** a read that waits longer than this fails: a stalled publisher ends the session */
  ioTimeoutSeconds: number;
}

/** The rendition folder names of a plan: one per rung, then `audio` when there is audio. */
export function liveRenditions(plan: LivePlan): { name: string; kind: 'video' | 'audio' }[] {
  return [...plan.rungs.map((r) => ({ name: r.name, kind: 'video' as const })), ...(plan.audio ? [{ name: 'audio', kind: 'audio' as const }] : [])];
}

export function buildLiveArgs(plan: LivePlan, o: LiveArgsOptions): string[] {
  if (o.sessionDir.includes('%')) throw new Error('the session folder must not contain %');
  const timeout = String(Math.round(o.ioTimeoutSeconds * 1e6));
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  const args: string[] = [
    '-loglevel', 'info',
    // a short probe: what ffmpeg reads while probing is encoded only afterwards, and an encoder that
    // runs barely faster than real time carries that delay for a long time (FLV has onMetaData anyway)
    '-analyzeduration', '500000',
    '-rw_timeout', timeout,
  ];
  if (o.input.kind === 'rtmp') args.push('-protocol_whitelist', 'rtmp,tcp', '-listen', '1', ...o.input.options, '-f', 'flv', '-i', o.input.url);
  else args.push('-protocol_whitelist', 'srt', ...o.input.options, '-f', 'mpegts', '-i', o.input.url);

  const n = plan.rungs.length;
  const box = (w: number, h: number): string => `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p`;
  const head = `[0:v:0]fps=${plan.fps}`;
  const graph =
    n === 1
      ? `${head},${box(plan.rungs[0]!.width, plan.rungs[0]!.height)}[v0]`
      : [`${head},split=${n}${plan.rungs.map((_, i) => `[s${i}]`).join('')}`, ...plan.rungs.map((r, i) => `[s${i}]${box(r.width, r.height)}[v${i}]`)].join(';');
  args.push('-filter_complex', graph);
  const profile = encoderProfiles[plan.encoder];
  plan.rungs.forEach((_, i) => {
    args.push('-map', `[v${i}]`, `-c:v:${i}`, profile.name, ...forStream(profile.args(plan.encodeSettings[i]!), `v:${i}`));
  });
  const streams = plan.rungs.map((r, i) => `v:${i},${plan.audio ? 'agroup:audio,' : ''}name:${r.name}`);
  if (plan.audio) {
    // biome-ignore format: ffmpeg flag/value pairs, one pair per line
    args.push(
      '-map', '0:a:0',
      // gaps in the publisher's audio are filled with silence, so audio stays in step with video
      '-af', 'aresample=async=1',
      '-c:a', 'aac',
      '-b:a', formatBitrate(plan.audio.bitrate),
      '-ac', String(plan.audio.channels),
      '-ar', String(plan.audio.sampleRate),
    );
    streams.push('a:0,agroup:audio,name:audio');
  }
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  args.push(
    '-map_metadata', '-1', '-map_chapters', '-1',
    '-f', 'hls',
    '-hls_time', String(plan.segmentDuration),
    '-hls_list_size', '0',
    // each segment is written as NAME.tmp and renamed when complete: a segment file that exists is whole
    '-hls_flags', 'temp_file+independent_segments',
    '-hls_segment_type', 'mpegts',
    '-hls_segment_filename', `${o.sessionDir}/%v/seg_%05d.ts`,
    '-var_stream_map', streams.join(' '),
    `${o.sessionDir}/%v/index.m3u8`,
  );
  return args;
}

/** ffmpeg's input for an SRT listener: libsrt's options (secret: the passphrase), idle timeout in seconds. */
export function srtListenerInput(t: { host: string; port: number; passphrase: string; pbkeylen: number; latencyMs: number | null }, idleTimeoutSeconds: number): LiveInput {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  const options = [
    '-mode', 'listener',
    '-passphrase', t.passphrase,
    '-pbkeylen', String(t.pbkeylen),
    // a caller without the passphrase is refused, not let in unencrypted
    '-enforced_encryption', '1',
    // a read that waits this long ends the session (a stalled or vanished caller)
    '-timeout', String(Math.round(idleTimeoutSeconds * 1e6)),
    ...(t.latencyMs !== null ? ['-latency', String(t.latencyMs * 1000)] : []),
  ];
  return { kind: 'srt', url: `srt://${host}:${t.port}`, options };
}
