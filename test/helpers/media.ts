/**
 * Run the located ffmpeg/ffprobe (argv arrays, no shell) and synthesize tiny inputs. Tests may start
 * processes directly; the product goes through src/ffmpeg/run.ts.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type AudioInfo, inputUrl, type MediaInfo, type VideoInfo } from '../../src/media/probe.js';
import { rational } from '../../src/media/rational.js';
import { FFMPEG, FFPROBE } from './requirements.js';

const execFileP = promisify(execFile);

export async function run(file: string, args: readonly string[], options: { encoding?: 'buffer'; cwd?: string } = {}): Promise<{ stdout: string; stderr: string }> {
  const r = await execFileP(file, [...args], {
    maxBuffer: 256 * 1024 * 1024,
    encoding: options.encoding === 'buffer' ? 'latin1' : 'utf8',
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  return { stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** ffmpeg with -y and errors only; rejects with stderr on failure. */
export async function ffmpeg(args: readonly string[], options: { cwd?: string } = {}): Promise<void> {
  await run(FFMPEG, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], options);
}

/** ffprobe `-of json` with errors only, parsed. */
export async function ffprobeJson<T>(args: readonly string[]): Promise<T> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-of', 'json', ...args]);
  return JSON.parse(stdout) as T;
}

export interface ProbeSummary {
  format?: Record<string, string>;
  streams?: Record<string, unknown>[];
}

/** One file's format and streams (`-show_entries`), by default duration, format name and each stream's type, codec and size. */
export function probeFile(file: string, entries = 'format=duration,format_name:stream=codec_type,codec_name,width,height'): Promise<ProbeSummary> {
  return ffprobeJson<ProbeSummary>(['-show_entries', entries, file]);
}

export interface SourceSpec {
  size?: string;
  rate?: string;
  duration?: number;
  /** audio streams to add: one entry per stream, the language tag or null */
  audio?: (string | null)[];
  /** video encoder args (default: x264 ultrafast) */
  video?: string[];
  /** audio encoder args (default: aac) */
  audioCodec?: string[];
  /** extra video filters (e.g. setsar=64/45) */
  vf?: string;
  /** extra output args (container flags, -fps_mode vfr...) */
  extra?: string[];
}

/** Synthesize a test clip: testsrc2 video, sine audio streams with languages. */
export async function makeSource(out: string, spec: SourceSpec = {}): Promise<string> {
  const size = spec.size ?? '320x180';
  const rate = spec.rate ?? '30';
  const duration = spec.duration ?? 4;
  const audio = spec.audio ?? ['eng'];
  const args = ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}`];
  audio.forEach((_, i) => {
    args.push('-f', 'lavfi', '-i', `sine=frequency=${440 + 220 * i}:sample_rate=48000`);
  });
  args.push('-t', String(duration), '-map', '0:v');
  audio.forEach((_, i) => {
    args.push('-map', `${i + 1}:a`);
  });
  if (spec.vf) args.push('-vf', spec.vf);
  args.push(...(spec.video ?? ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']));
  if (audio.length > 0) args.push(...(spec.audioCodec ?? ['-c:a', 'aac', '-b:a', '96k']));
  audio.forEach((lang, i) => {
    if (lang) args.push(`-metadata:s:a:${i}`, `language=${lang}`);
  });
  args.push(...(spec.extra ?? []), out);
  await ffmpeg(args);
  return out;
}

/** A small real clip for the CLI tests: testsrc2 (320x180 unless `size`) + a sine, H.264 (1 s GOP) / AAC in MP4. */
export async function makeClip(file: string, seconds = 2, extra: readonly string[] = [], size = '320x180'): Promise<string> {
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  await ffmpeg([
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30',
    '-c:a', 'aac',
    '-shortest',
    ...extra,
    file,
  ]);
  return file;
}

/**
 * What probing would say of a plain source, for unit tests that plan without ffmpeg: `in.mp4`,
 * 60 s, H.264 1280x720 at 24 fps 8-bit, one AAC stereo stream. `video` fields override the video
 * stream's (display size follows width/height unless given).
 */
export function fakeMedia(o: { video?: Partial<VideoInfo>; audio?: AudioInfo[] } = {}): MediaInfo {
  const width = o.video?.width ?? 1280;
  const height = o.video?.height ?? 720;
  return {
    input: 'in.mp4',
    url: inputUrl('in.mp4'),
    remote: false,
    formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    duration: 60,
    sizeBytes: 1000,
    startTime: 0,
    video: {
      index: 0,
      codec: 'h264',
      sar: rational(1, 1),
      rotation: 0,
      displayWidth: width,
      displayHeight: height,
      frameRate: rational(24, 1),
      variableFrameRate: false,
      pixelFormat: 'yuv420p',
      bitDepth: 8,
      startTime: 0,
      ...o.video,
      width,
      height,
    },
    audio: o.audio ?? [{ index: 1, codec: 'aac', channels: 2, sampleRate: 48000, language: 'eng', title: null, startTime: 0 }],
    inputOptions: [],
  } as MediaInfo;
}
