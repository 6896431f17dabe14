/**
 * Test helpers: run the system ffmpeg/ffprobe (argv arrays, no shell), synthesize tiny inputs, and
 * write fast test presets that `extends` the built-ins. Tests may start processes directly; the
 * product goes through src/ffmpeg/run.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const FFMPEG = '/usr/bin/ffmpeg';
export const FFPROBE = '/usr/bin/ffprobe';
export const haveFfmpeg = existsSync(FFMPEG) && existsSync(FFPROBE);
export const REPO = join(import.meta.dirname, '..', '..');
export const CLI = join(REPO, 'bin', 'streamkit.js');

export async function run(file: string, args: readonly string[], options: { encoding?: 'buffer' } = {}): Promise<{ stdout: string; stderr: string }> {
  const r = await execFileP(file, [...args], { maxBuffer: 256 * 1024 * 1024, encoding: options.encoding === 'buffer' ? 'latin1' : 'utf8' });
  return { stdout: String(r.stdout), stderr: String(r.stderr) };
}

export async function runBuffer(file: string, args: readonly string[]): Promise<Buffer> {
  const r = await execFileP(file, [...args], { maxBuffer: 256 * 1024 * 1024, encoding: 'buffer' });
  return r.stdout;
}

/** ffmpeg with -y and errors only; rejects with stderr on failure. */
export async function ffmpeg(args: readonly string[]): Promise<void> {
  await run(FFMPEG, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args]);
}

export async function ffprobeJson<T>(args: readonly string[]): Promise<T> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-of', 'json', ...args]);
  return JSON.parse(stdout) as T;
}

/** The node CLI, as a user runs it: `node bin/streamkit.js ...argv`. Never rejects; returns the exit code. */
export async function cli(argv: readonly string[], options: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...argv], { cwd: options.cwd ?? REPO, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, CI: '1', NO_COLOR: '1' } }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
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
  audio.forEach((_, i) => args.push('-f', 'lavfi', '-i', `sine=frequency=${440 + 220 * i}:sample_rate=48000`));
  args.push('-t', String(duration), '-map', '0:v');
  audio.forEach((_, i) => args.push('-map', `${i + 1}:a`));
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

export type Codec = 'h264' | 'hevc' | 'av1';

export interface FastPresetSpec {
  codec: Codec;
  /** rung heights, tallest first (keep them <= the source) */
  rungs?: number[];
  segmentDuration?: number;
  keyframeInterval?: number;
  maxFrameRate?: number;
  /** extra YAML lines appended to the preset */
  extraYaml?: string;
  /** encoder options (allowlisted per encoder) */
  options?: Record<string, string | number>;
}

const fastEncoder: Record<Codec, string> = {
  h264: '{ name: libx264, preset: ultrafast',
  hevc: '{ name: libx265, preset: ultrafast',
  av1: '{ name: libsvtav1, preset: 12',
};

/** A preset file that extends the built-in ladder of `codec` with the fastest speed and small rungs. */
export async function writeFastPreset(dir: string, name: string, spec: FastPresetSpec): Promise<string> {
  const rungs = spec.rungs ?? [180, 120];
  const bitrate = (h: number): string => `${Math.round((h * h * 16) / 9 / 180)}k`;
  const options = spec.options ? `, options: { ${Object.entries(spec.options).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')} }` : '';
  const yaml = [
    `extends: ${spec.codec}-ladder`,
    `name: ${name}`,
    'video:',
    '  encoder:',
    `    cpu: ${fastEncoder[spec.codec]}${options} }`,
    `  keyframeInterval: ${spec.keyframeInterval ?? 1}`,
    ...(spec.maxFrameRate ? [`  maxFrameRate: ${spec.maxFrameRate}`] : []),
    '  rungs:',
    ...rungs.map((h) => `    - { name: ${h}p, height: ${h}, bitrate: ${bitrate(h)} }`),
    'packaging:',
    `  hls: { segmentDuration: ${spec.segmentDuration ?? 2} }`,
    spec.extraYaml ?? '',
  ].join('\n');
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, yaml);
  return file;
}
