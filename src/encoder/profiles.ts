import type { Codec, HardwareKind } from '../preset/schema.js';
import { formatBitrate } from '../preset/units.js';

/**
 * One profile per encoder. The table is typed as Record<EncoderName, EncoderProfile>, so adding an
 * encoder name without its profile (or a profile without its name) does not compile.
 */

export const encoderNames = ['libx264', 'libx265', 'libsvtav1', 'h264_nvenc', 'hevc_nvenc', 'av1_nvenc'] as const;
export type EncoderName = (typeof encoderNames)[number];

export type RateControlMode = 'crf' | 'vbr' | 'cbr';

/** Everything an encoder needs to produce one rung. Bitrates in bit/s. */
export interface RungEncodeSettings {
  mode: RateControlMode;
  bitrate: number;
  maxrate: number;
  bufsize: number;
  crf: number | undefined;
  /** frames between IDRs (keyframe interval x output frame rate, rounded) */
  gopFrames: number;
  speed: string | number | undefined;
  tune: string | undefined;
  /** extra options from the preset, already checked against `allowedOptions` */
  options: Record<string, string | number | boolean>;
}

export interface EncoderProfile {
  name: EncoderName;
  codec: Codec;
  hardware: HardwareKind;
  /** the pixel format frames are handed to the encoder in (8-bit 4:2:0 for every ladder today) */
  pixelFormat: 'yuv420p' | 'nv12';
  rateControlModes: readonly RateControlMode[];
  /** valid values for the speed preset; numbers as strings */
  speedPresets: readonly string[];
  defaultSpeed: string;
  /** [min, max] of the encoder's quality scale for crf mode */
  crfRange: readonly [number, number];
  /** extra options a preset may set; everything the builder owns (GOP, rate control, maps) is excluded */
  allowedOptions: readonly string[];
  /** the options this encoder's builder owns: a preset setting them gets a hint instead */
  ownedOptions: readonly string[];
  /** ffmpeg output arguments for one video stream (without -c:v and stream specifiers) */
  args(s: RungEncodeSettings): string[];
}

const x26xSpeeds = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow', 'placebo'] as const;
const nvencSpeeds = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'] as const;
const svtSpeeds = Array.from({ length: 14 }, (_, i) => String(i));

const commonOwned = ['b', 'b:v', 'maxrate', 'bufsize', 'crf', 'qp', 'g', 'keyint_min', 'sc_threshold', 'force_key_frames', 'map', 'c', 'c:v', 'codec', 'f', 'pix_fmt', 'vf', 'filter', 'filter_complex', 'i', 'y', 'preset', 'tune', 'r'];

function rateArgs(s: RungEncodeSettings, crfFlag: string): string[] {
  const cap = ['-maxrate', formatBitrate(s.maxrate), '-bufsize', formatBitrate(s.bufsize)];
  switch (s.mode) {
    case 'crf':
      return [crfFlag, String(s.crf), ...cap];
    case 'vbr':
      return ['-b:v', formatBitrate(s.bitrate), ...cap];
    case 'cbr':
      return ['-b:v', formatBitrate(s.bitrate), '-minrate', formatBitrate(s.bitrate), '-maxrate', formatBitrate(s.bitrate), '-bufsize', formatBitrate(s.bufsize)];
  }
}

function extra(s: RungEncodeSettings): string[] {
  return Object.entries(s.options).flatMap(([k, v]) => [`-${k}`, typeof v === 'boolean' ? (v ? '1' : '0') : String(v)]);
}

function nvencProfile(name: 'h264_nvenc' | 'hevc_nvenc' | 'av1_nvenc', codec: Codec): EncoderProfile {
  return {
    name,
    codec,
    hardware: 'nvenc',
    pixelFormat: 'yuv420p',
    rateControlModes: ['crf', 'vbr', 'cbr'],
    speedPresets: nvencSpeeds,
    defaultSpeed: 'p5',
    crfRange: [0, 51],
    allowedOptions: ['multipass', 'spatial-aq', 'temporal-aq', 'aq-strength', 'rc-lookahead', 'bf', 'refs', 'profile', 'level', 'surfaces'],
    ownedOptions: [...commonOwned, 'rc', 'cq', 'forced-idr', 'no-scenecut', 'strict_gop', 'b_ref_mode', 'gpu'],
    args: (s) => [
      '-preset', String(s.speed ?? 'p5'),
      ...(s.tune ? ['-tune', s.tune] : []),
      ...(s.mode === 'crf'
        ? ['-rc', 'vbr', '-cq', String(s.crf), '-b:v', '0', '-maxrate', formatBitrate(s.maxrate), '-bufsize', formatBitrate(s.bufsize)]
        : s.mode === 'vbr'
          ? ['-rc', 'vbr', '-b:v', formatBitrate(s.bitrate), '-maxrate', formatBitrate(s.maxrate), '-bufsize', formatBitrate(s.bufsize)]
          : ['-rc', 'cbr', '-b:v', formatBitrate(s.bitrate), '-maxrate', formatBitrate(s.bitrate), '-bufsize', formatBitrate(s.bufsize)]),
      // fixed GOP, IDR at every forced keyframe, no scene-cut keyframes: rungs stay aligned
      '-g', String(s.gopFrames), '-forced-idr', '1', '-no-scenecut', '1', '-strict_gop', '1',
      ...(codec === 'av1' ? [] : ['-b_ref_mode', 'middle']),
      ...(codec === 'hevc' ? ['-tag:v', 'hvc1'] : []),
      ...extra(s),
    ],
  };
}

export const encoderProfiles: Record<EncoderName, EncoderProfile> = {
  libx264: {
    name: 'libx264',
    codec: 'h264',
    hardware: 'cpu',
    pixelFormat: 'yuv420p',
    rateControlModes: ['crf', 'vbr', 'cbr'],
    speedPresets: x26xSpeeds,
    defaultSpeed: 'medium',
    crfRange: [0, 51],
    allowedOptions: ['profile', 'level', 'refs', 'bf', 'aq-mode', 'aq-strength', 'psy', 'psy-rd', 'rc-lookahead', 'me_method', 'subq', 'trellis', 'threads', 'coder', 'weightp'],
    ownedOptions: [...commonOwned, 'x264-params', 'x264opts', 'nal-hrd'],
    args: (s) => [
      '-preset', String(s.speed ?? 'medium'),
      ...(s.tune ? ['-tune', s.tune] : []),
      ...rateArgs(s, '-crf'),
      ...(s.mode === 'cbr' ? ['-nal-hrd', 'cbr'] : []),
      // closed GOP of exactly gopFrames frames, no scene-cut keyframes: IDRs at the same timestamps in every rung
      '-g', String(s.gopFrames), '-keyint_min', String(s.gopFrames), '-sc_threshold', '0',
      '-x264-params', 'open-gop=0',
      ...extra(s),
    ],
  },
  libx265: {
    name: 'libx265',
    codec: 'hevc',
    hardware: 'cpu',
    pixelFormat: 'yuv420p',
    rateControlModes: ['crf', 'vbr', 'cbr'],
    speedPresets: x26xSpeeds,
    defaultSpeed: 'medium',
    crfRange: [0, 51],
    allowedOptions: ['profile', 'level-idc', 'bf', 'refs', 'aq-mode', 'aq-strength', 'psy-rd', 'rc-lookahead', 'threads'],
    ownedOptions: [...commonOwned, 'x265-params', 'tag:v'],
    args: (s) => {
      const params = [`keyint=${s.gopFrames}`, `min-keyint=${s.gopFrames}`, 'scenecut=0', 'open-gop=0', 'log-level=error'];
      if (s.mode === 'cbr') params.push('strict-cbr=1');
      return [
        '-preset', String(s.speed ?? 'medium'),
        ...(s.tune ? ['-tune', s.tune] : []),
        ...rateArgs(s, '-crf'),
        '-x265-params', params.join(':'),
        // Apple requires the hvc1 sample entry (parameter sets out of band) for HEVC in fMP4
        '-tag:v', 'hvc1',
        ...extra(s),
      ];
    },
  },
  libsvtav1: {
    name: 'libsvtav1',
    codec: 'av1',
    hardware: 'cpu',
    pixelFormat: 'yuv420p',
    // SVT-AV1 1.x has no CBR for random-access (VOD) encodes, and its VBR ignores maxrate
    rateControlModes: ['crf', 'vbr'],
    speedPresets: svtSpeeds,
    defaultSpeed: '8',
    crfRange: [1, 63],
    allowedOptions: ['tile_columns', 'tile_rows', 'la_depth'],
    ownedOptions: [...commonOwned, 'svtav1-params'],
    args: (s) => [
      '-preset', String(s.speed ?? 8),
      ...(s.mode === 'crf' ? ['-crf', String(s.crf), '-maxrate', formatBitrate(s.maxrate), '-bufsize', formatBitrate(s.bufsize)] : ['-b:v', formatBitrate(s.bitrate), '-maxrate', formatBitrate(s.maxrate), '-bufsize', formatBitrate(s.bufsize)]),
      // fixed GOP, no scene-change keyframes (SVT's keyframes are closed-GOP key frames by default)
      '-g', String(s.gopFrames),
      '-svtav1-params', ['scd=0', ...(s.tune ? [`tune=${s.tune}`] : [])].join(':'),
      ...extra(s),
    ],
  },
  h264_nvenc: nvencProfile('h264_nvenc', 'h264'),
  hevc_nvenc: nvencProfile('hevc_nvenc', 'hevc'),
  av1_nvenc: nvencProfile('av1_nvenc', 'av1'),
};

export function isEncoderName(name: string): name is EncoderName {
  return (encoderNames as readonly string[]).includes(name);
}

export function encoderProfile(name: EncoderName): EncoderProfile {
  return encoderProfiles[name];
}

/**
 * Valid `tune` values per encoder. A preset's tune reaches the encoder (libsvtav1: inside
 * -svtav1-params, where a free string could smuggle in other parameters), so it is allowlisted
 * like the extra options.
 */
export const encoderTunes: Record<EncoderName, readonly string[]> = {
  libx264: ['film', 'animation', 'grain', 'stillimage', 'fastdecode', 'zerolatency', 'psnr', 'ssim'],
  libx265: ['psnr', 'ssim', 'grain', 'zerolatency', 'fastdecode', 'animation'],
  libsvtav1: ['0', '1'],
  h264_nvenc: ['hq', 'll', 'ull', 'lossless'],
  hevc_nvenc: ['hq', 'll', 'ull', 'lossless'],
  av1_nvenc: ['hq', 'll', 'ull', 'lossless'],
};
