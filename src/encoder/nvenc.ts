import type { Capabilities } from '../ffmpeg/capabilities.js';
import { versionAtLeast } from '../ffmpeg/capabilities.js';

/**
 * Pure helpers for NVENC: what a failed trial encode means, and what each NVENC encoder needs.
 *
 * The only signal streamkit trusts about NVENC is a real trial encode (ffmpeg -encoders lists
 * h264_nvenc in every Debian/Ubuntu build, GPU or not). When a trial fails, ffmpeg's own log says why;
 * these patterns come from libavcodec/nvenc.c and the nv-codec-headers loader:
 * - "Cannot load libcuda.so.1" / "Could not dynamically load CUDA": no NVIDIA driver visible
 * - "Cannot load libnvidia-encode.so.1": driver without its NVENC library (containers without the
 *   `video` driver capability)
 * - "Driver does not support the required nvenc API version": driver older than the ffmpeg build
 * - "No CUDA capable devices found", CUDA_ERROR_NO_DEVICE: no GPU
 * - "OpenEncodeSessionEx failed: out of memory (10)" / "incompatible client key (21)": no encode
 *   session left (consumer GeForce drivers cap simultaneous sessions; older drivers report the cap as
 *   "incompatible client key"), or no GPU memory left
 * - "Codec not supported": this GPU cannot encode the codec (e.g. av1_nvenc before Ada)
 * - "... not supported" / "... exceed(s) ...": a feature or size this GPU lacks (B-frame references,
 *   lookahead, temporal AQ, width/height limits)
 * - "No capable devices found": every GPU refused (one of the above was logged just before it, at
 *   warning level, which is why trials run at -loglevel warning)
 */

export type NvencFailureKind =
  | 'no-driver'
  | 'no-nvenc-library'
  | 'driver-too-old'
  | 'no-device'
  | 'sessions'
  | 'codec-unsupported'
  | 'feature-unsupported'
  | 'no-capable-device'
  | 'other';

export interface NvencFailure {
  kind: NvencFailureKind;
  /** ffmpeg's own line (the `[h264_nvenc @ 0x...]` prefix removed) */
  line: string;
  /** what it means, in words */
  meaning: string;
}

/** `[h264_nvenc @ 0x55d0c0ffee00] Cannot load libcuda.so.1` -> `Cannot load libcuda.so.1` */
export function stripLogPrefix(line: string): string {
  return line.replace(/^(\[[^\]]*@ ?(0x)?[0-9a-f]+\]\s*)+/i, '').trim();
}

const rules: { kind: NvencFailureKind; pattern: RegExp; meaning: string }[] = [
  {
    kind: 'no-driver',
    pattern: /Cannot load (libcuda\.so[.\d]*|nvcuda\.dll)|Could not dynamically load CUDA/i,
    meaning: 'no NVIDIA driver is visible to this process (its CUDA library cannot be loaded)',
  },
  {
    kind: 'no-nvenc-library',
    pattern: /Cannot load (libnvidia-encode\.so[.\d]*|nvEncodeAPI(64)?\.dll)/i,
    meaning: 'the NVIDIA driver has no NVENC library here (in a container, the NVIDIA runtime must expose the "video" driver capability)',
  },
  {
    kind: 'driver-too-old',
    pattern: /Driver does not support the required nvenc API version|minimum required Nvidia driver/i,
    meaning: 'the NVIDIA driver is older than the NVENC API this ffmpeg was built against',
  },
  { kind: 'no-device', pattern: /No CUDA capable devices found|CUDA_ERROR_NO_DEVICE|no CUDA-capable device/i, meaning: 'no NVIDIA GPU is visible' },
  {
    kind: 'sessions',
    pattern: /OpenEncodeSessionEx failed: (out of memory|incompatible client key)|incompatible client key \(21\)/i,
    meaning: 'no NVENC encode session is left (consumer GeForce drivers cap simultaneous sessions per system; streamkit needs one per rung at once), or the GPU is out of memory',
  },
  { kind: 'codec-unsupported', pattern: /Codec not supported/i, meaning: 'this GPU cannot encode this codec with NVENC' },
  {
    kind: 'feature-unsupported',
    pattern: /\bnot supported\b|\bexceeds? \d+|is not supported by the device/i,
    meaning: 'this GPU lacks an NVENC feature or size the preset asks for',
  },
  { kind: 'no-capable-device', pattern: /No capable devices found/i, meaning: 'no GPU here accepted the encoder (too old for NVENC, or every encode session is in use)' },
];

/** Classify a failed NVENC trial from ffmpeg's stderr (pure). */
export function classifyNvencFailure(stderr: string, exitCode: number | null = null): NvencFailure {
  const lines = stderr
    .split(/\r?\n/)
    .map(stripLogPrefix)
    .filter((l) => l !== '');
  for (const rule of rules) {
    const line = lines.find((l) => rule.pattern.test(l));
    if (line) return { kind: rule.kind, line, meaning: rule.meaning };
  }
  const telling =
    lines.find((l) => /nvenc|cuda|cuvid|nvdec|hwaccel|hwupload|scale_npp|hardware|not within range|device|driver|not found|Impossible to convert|Error/i.test(l)) ??
    lines[lines.length - 1] ??
    `exit code ${exitCode ?? 'unknown'}`;
  return { kind: 'other', line: telling, meaning: 'the trial encode failed' };
}

/** One sentence: `h264_nvenc: no NVIDIA driver is visible ... ("Cannot load libcuda.so.1")`. */
export function describeNvencFailure(encoder: string, f: NvencFailure): string {
  const extra = f.kind === 'codec-unsupported' || f.kind === 'no-capable-device' ? gpuRequirement(encoder) : '';
  return `${f.meaning}${extra ? `; ${extra}` : ''} ("${f.line}")`;
}

/** Failures that no other pipeline (decode/scale placement) can avoid: stop trying alternatives. */
export function isDeviceLevelFailure(f: NvencFailure): boolean {
  return (
    f.kind === 'no-driver' || f.kind === 'no-nvenc-library' || f.kind === 'driver-too-old' || f.kind === 'no-device' || f.kind === 'sessions' || f.kind === 'codec-unsupported'
  );
}

/** Is this the B-frames-as-references capability check refusing the encoder? */
export function isBFrameRefFailure(stderr: string): boolean {
  return /B frames? as references? (are|is) not supported|Each B frame as reference is not supported/i.test(stderr);
}

/** What GPU an NVENC encoder needs, in words (empty for unknown names). */
export function gpuRequirement(encoder: string): string {
  switch (encoder) {
    case 'av1_nvenc':
      return 'av1_nvenc needs an Ada Lovelace (RTX 40, L4, L40) or newer GPU';
    case 'hevc_nvenc':
      return 'hevc_nvenc needs a second-generation Maxwell (GTX 900 series) or newer GPU';
    case 'h264_nvenc':
      return 'h264_nvenc needs a Kepler or newer GPU with NVENC (some low-end models have none)';
    default:
      return '';
  }
}

/** Why an NVENC encoder is missing from this ffmpeg build, in words. */
export function missingNvencReason(caps: Capabilities, encoder: string): string {
  if (encoder === 'av1_nvenc' && !versionAtLeast(caps, 6, 0)) {
    return `av1_nvenc is not in this ffmpeg build: it needs ffmpeg 6.0 or newer (built with NVENC SDK 12), this is ffmpeg ${caps.version.raw || 'of unknown version'}`;
  }
  return `${encoder} is not in this ffmpeg build (ffmpeg ${caps.version.raw || 'of unknown version'} was built without NVENC)`;
}

/**
 * A one-frame trial encode (argv without the binary). -loglevel warning: the explaining lines
 * ("Codec not supported", "B frames as references are not supported") are warnings.
 * `encoderArgs` lets the trial carry the preset's real options (preset, rate control, b_ref_mode...).
 */
export function buildEncoderTrialArgs(encoder: string, encoderArgs: readonly string[] = []): string[] {
  // biome-ignore format: ffmpeg flag/value pairs, one pair per line
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel', 'warning',
    '-f', 'lavfi',
    '-i', 'color=black:size=256x144:rate=30',
    '-frames:v', '1',
    '-an',
    '-c:v', encoder,
    ...encoderArgs,
    '-f', 'null',
    '-',
  ];
}
