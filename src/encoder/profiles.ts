import type { Codec, HardwareKind } from '../preset/schema.js';
import { colourTagArgs, svtAv1Hdr10Params, x265Hdr10Params, type ColourDescription, type ColourPlan } from '../media/colour.js';
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
  /** NVENC only: use B-frames as references (set only where a trial encode showed the GPU supports it) */
  bFrameRefs?: boolean;
  /** the colour description to write into the stream (media/colour.ts ColourPlan.tags) */
  colour?: ColourDescription;
  /** HDR10 static metadata to write into the bitstream (HEVC SEI, AV1 metadata OBUs) */
  hdr10?: NonNullable<ColourPlan['hdr10']>;
  /** frames arrive in 10 bits per sample (an HDR plan): Main 10 */
  tenBit?: boolean;
}

/** The colour options every encoder takes from its codec context (libx264, libx265, libsvtav1, NVENC). */
function colourArgs(s: RungEncodeSettings): string[] {
  return colourTagArgs(s.colour ?? null);
}

export interface EncoderProfile {
  name: EncoderName;
  codec: Codec;
  hardware: HardwareKind;
  /** the pixel format frames are handed to the encoder in: 8-bit 4:2:0 (its 10-bit form for HDR: args/command.ts encoderPixelFormat) */
  pixelFormat: 'yuv420p' | 'nv12';
  rateControlModes: readonly RateControlMode[];
  /** valid values for the speed preset; numbers as strings */
  speedPresets: readonly string[];
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

const commonOwned = [
  'b',
  'b:v',
  'maxrate',
  'bufsize',
  'crf',
  'qp',
  'g',
  'keyint_min',
  'sc_threshold',
  'force_key_frames',
  'map',
  'c',
  'c:v',
  'codec',
  'f',
  'pix_fmt',
  'vf',
  'filter',
  'filter_complex',
  'i',
  'y',
  'preset',
  'tune',
  'r',
];

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

/** Preset extra options, scoped to the video stream (`-profile` alone is ambiguous to ffmpeg: audio encoders have one too). */
function extra(s: RungEncodeSettings): string[] {
  return Object.entries(s.options).flatMap(([k, v]) => [`-${k}:v`, typeof v === 'boolean' ? (v ? '1' : '0') : String(v)]);
}

/**
 * NVENC (h264_nvenc, hevc_nvenc; av1_nvenc from ffmpeg 6.0). Every flag below exists in ffmpeg 5.1's
 * h264_nvenc/hevc_nvenc and 6.0's av1_nvenc (`ffmpeg -h encoder=...`):
 * - `-preset p1..p7` + `-tune` (hq, ll, ull, lossless): the SDK 10+ presets.
 * - crf mode is NVENC's constant quality: `-rc vbr -cq N -b:v 0`, capped by `-maxrate`. `-cq 0` means
 *   "automatic", not lossless, so the scale is 1..51 (av1_nvenc accepts 0..51 in 6.0, 0..63 later: 51 is
 *   the safe top). ffmpeg drops the VBV size in CQ mode and keeps only maxrate; -bufsize is passed anyway.
 * - vbr: `-rc vbr -b:v -maxrate -bufsize`; cbr: `-rc cbr -b:v -maxrate(=b:v) -bufsize`.
 * - GOP: `-g N` sets NVENC's gopLength and idrPeriod to N frames, so every GOP starts with an IDR
 *   (closed GOP) at the same frame number in every rung, as x264's -g/-keyint_min do on the CPU.
 *   `-no-scenecut 1` stops lookahead (set by -rc-lookahead, or by p6/p7 on their own) from adding
 *   scene-cut I-frames; `-forced-idr 1` makes any forced keyframe an IDR. `-strict_gop` is a rate
 *   control setting (less bitrate variation between GOPs), not a GOP structure one: a preset may set it.
 * - `-b_ref_mode middle` (B-frames as references) only where a trial encode showed this GPU supports it
 *   (NV_ENC_CAPS_SUPPORT_BFRAME_REF_MODE; not every GPU/codec has it, and ffmpeg then refuses to open
 *   the encoder): `bFrameRefs`.
 * - `-tag:v hvc1` for HEVC (Apple wants parameter sets out of band in fMP4), as for libx265.
 * - `-profile:v high` for H.264 unless the preset sets a profile: NVENC's default is Main (no 8x8
 *   transform), x264's is High.
 */
const nvencCommonAllowed = [
  'multipass',
  'spatial-aq',
  'temporal-aq',
  'aq-strength',
  'rc-lookahead',
  'b_adapt',
  'strict_gop',
  'weighted_pred',
  'bf',
  'refs',
  'dpb_size',
  'level',
  'surfaces',
] as const;
const nvencAllowed: Record<Codec, readonly string[]> = {
  h264: [...nvencCommonAllowed, 'profile', 'coder'],
  hevc: [...nvencCommonAllowed, 'profile', 'tier'],
  av1: [...nvencCommonAllowed, 'tier', 'tile-rows', 'tile-columns'],
};

function nvencRateArgs(s: RungEncodeSettings): string[] {
  switch (s.mode) {
    case 'crf':
      return ['-rc', 'vbr', '-cq', String(s.crf), '-b:v', '0', '-maxrate', formatBitrate(s.maxrate), '-bufsize', formatBitrate(s.bufsize)];
    case 'vbr':
      return ['-rc', 'vbr', '-b:v', formatBitrate(s.bitrate), '-maxrate', formatBitrate(s.maxrate), '-bufsize', formatBitrate(s.bufsize)];
    case 'cbr':
      return ['-rc', 'cbr', '-b:v', formatBitrate(s.bitrate), '-maxrate', formatBitrate(s.bitrate), '-bufsize', formatBitrate(s.bufsize)];
  }
}

function nvencProfile(name: 'h264_nvenc' | 'hevc_nvenc' | 'av1_nvenc', codec: Codec): EncoderProfile {
  return {
    name,
    codec,
    hardware: 'nvenc',
    // NVENC's native input layout; scale_cuda/scale_npp write it on the GPU, format=nv12 on the CPU path
    pixelFormat: 'nv12',
    rateControlModes: ['crf', 'vbr', 'cbr'],
    speedPresets: nvencSpeeds,
    crfRange: [1, 51],
    allowedOptions: nvencAllowed[codec],
    ownedOptions: [...commonOwned, 'rc', 'cq', 'cbr', '2pass', 'forced-idr', 'no-scenecut', 'b_ref_mode', 'gpu', 'tag:v', 'intra-refresh'],
    // biome-ignore format: ffmpeg flag/value pairs, one pair per line
    args: (s) => [
      '-preset', String(s.speed ?? 'p5'),
      ...(s.tune ? ['-tune', s.tune] : []),
      ...(codec === 'h264' && !('profile' in s.options) ? ['-profile:v', 'high'] : []),
      ...(codec === 'hevc' && s.tenBit && !('profile' in s.options) ? ['-profile:v', 'main10'] : []),
      ...nvencRateArgs(s),
      // fixed GOP of gopFrames frames, each starting with an IDR, no scene-cut keyframes: rungs stay aligned
      '-g', String(s.gopFrames), '-forced-idr', '1', '-no-scenecut', '1',
      ...(s.bFrameRefs ? ['-b_ref_mode', 'middle'] : []),
      ...(codec === 'hevc' ? ['-tag:v', 'hvc1'] : []),
      ...colourArgs(s),
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
    crfRange: [0, 51],
    allowedOptions: ['profile', 'level', 'refs', 'bf', 'aq-mode', 'aq-strength', 'psy', 'psy-rd', 'rc-lookahead', 'me_method', 'subq', 'trellis', 'threads', 'coder', 'weightp'],
    ownedOptions: [...commonOwned, 'x264-params', 'x264opts', 'nal-hrd'],
    // biome-ignore format: ffmpeg flag/value pairs, one pair per line
    args: (s) => [
      '-preset', String(s.speed ?? 'medium'),
      ...(s.tune ? ['-tune', s.tune] : []),
      ...rateArgs(s, '-crf'),
      ...(s.mode === 'cbr' ? ['-nal-hrd', 'cbr'] : []),
      // closed GOP of exactly gopFrames frames, no scene-cut keyframes: IDRs at the same timestamps in every rung
      '-g', String(s.gopFrames), '-keyint_min', String(s.gopFrames), '-sc_threshold', '0',
      '-x264-params', 'open-gop=0',
      ...colourArgs(s),
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
    crfRange: [0, 51],
    allowedOptions: ['profile', 'level-idc', 'bf', 'refs', 'aq-mode', 'aq-strength', 'psy-rd', 'rc-lookahead', 'threads'],
    ownedOptions: [...commonOwned, 'x265-params', 'tag:v'],
    args: (s) => {
      const params = [`keyint=${s.gopFrames}`, `min-keyint=${s.gopFrames}`, 'scenecut=0', 'open-gop=0', 'log-level=error'];
      if (s.mode === 'cbr') params.push('strict-cbr=1');
      // HDR10: mastering display and content light level SEI (libx265 takes the colour tags from the codec context)
      if (s.hdr10) params.push(...x265Hdr10Params(s.hdr10));
      // biome-ignore format: ffmpeg flag/value pairs, one pair per line
      return [
        '-preset', String(s.speed ?? 'medium'),
        ...(s.tune ? ['-tune', s.tune] : []),
        ...rateArgs(s, '-crf'),
        '-x265-params', params.join(':'),
        // Apple requires the hvc1 sample entry (parameter sets out of band) for HEVC in fMP4
        '-tag:v', 'hvc1',
        ...colourArgs(s),
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
    crfRange: [1, 63],
    allowedOptions: ['tile_columns', 'tile_rows', 'la_depth'],
    ownedOptions: [...commonOwned, 'svtav1-params'],
    // biome-ignore format: ffmpeg flag/value pairs, one pair per line
    args: (s) => [
      '-preset', String(s.speed ?? 8),
      ...(s.mode === 'crf' ? ['-crf', String(s.crf), '-maxrate', formatBitrate(s.maxrate), '-bufsize', formatBitrate(s.bufsize)] : ['-b:v', formatBitrate(s.bitrate), '-maxrate', formatBitrate(s.maxrate), '-bufsize', formatBitrate(s.bufsize)]),
      // fixed GOP, no scene-change keyframes (SVT's keyframes are closed-GOP key frames by default)
      '-g', String(s.gopFrames),
      '-svtav1-params', ['scd=0', ...(s.tune ? [`tune=${s.tune}`] : []), ...(s.hdr10 ? svtAv1Hdr10Params(s.hdr10) : [])].join(':'),
      ...colourArgs(s),
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
