import { existsSync } from 'node:fs';
import { StreamkitError } from '../errors.js';
import { hasEncoder, type Capabilities } from '../ffmpeg/capabilities.js';
import { buildTrialEncodeArgs } from '../ffmpeg/command.js';
import { runCapture } from '../ffmpeg/run.js';
import type { HardwareKind, Preset } from '../preset/schema.js';

export type HardwareRequest = 'auto' | HardwareKind;

export interface HardwareChoice {
  hardware: HardwareKind;
  encoder: string;
  /** why, in words (shown in start events, `doctor`) */
  reason: string;
}

export interface TrialResult {
  ok: boolean;
  /** the encoder's own words when it failed (no device, no driver, out of sessions...) */
  message: string;
}

const trials = new Map<string, Promise<TrialResult>>();

/**
 * An encoder listed by `ffmpeg -encoders` may still fail (no GPU, no driver, no session left):
 * encode one tiny frame to find out. Cached per binary and encoder for the life of the process.
 */
export function trialEncode(caps: Capabilities, encoder: string): Promise<TrialResult> {
  const key = `${caps.path}|${encoder}`;
  let t = trials.get(key);
  if (!t) {
    t = runCapture(caps.path, buildTrialEncodeArgs(encoder), { timeoutMs: 20_000 }).then(
      (r) => {
        if (r.exitCode === 0) return { ok: true, message: 'one-frame trial encode succeeded' };
        const lines = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
        const telling = lines.find((l) => /cuda|nvenc|device|driver|session|capable|libnvidia/i.test(l)) ?? lines[lines.length - 1] ?? `exit code ${r.exitCode}`;
        return { ok: false, message: telling };
      },
      (e: unknown) => ({ ok: false, message: (e as Error).message }),
    );
    trials.set(key, t);
  }
  return t;
}

/**
 * Can an NVIDIA GPU be reached at all? On Linux the driver's control node (/dev/nvidiactl, also what
 * the NVIDIA container runtime mounts) or, under WSL2, /dev/dxg must exist; without either, every NVENC
 * trial encode fails. Elsewhere we cannot tell cheaply: assume yes and let the trial decide.
 */
export function nvidiaDeviceVisible(platform: NodeJS.Platform = process.platform, exists: (path: string) => boolean = existsSync): boolean {
  if (platform !== 'linux') return true;
  return exists('/dev/nvidiactl') || exists('/dev/dxg');
}

const codecPatterns = { h264: /H\.264|AVC/i, hevc: /HEVC|H\.265/i, av1: /\bAV1\b/i } as const;

export function encodersForCodec(caps: Capabilities, codec: Preset['video']['codec']): string[] {
  return caps.encoders.filter((e) => e.type === 'video' && codecPatterns[codec].test(`${e.name} ${e.description}`)).map((e) => e.name);
}

function missingEncoder(caps: Capabilities, preset: Preset, encoder: string): StreamkitError {
  const have = encodersForCodec(caps, preset.video.codec);
  return new StreamkitError('ENCODER_UNAVAILABLE', `${caps.path} (ffmpeg ${caps.version.raw || 'unknown version'}) has no ${encoder} encoder, which the preset wants for ${preset.video.codec}.`, {
    hint: have.length > 0 ? `Its ${preset.video.codec} encoders: ${have.join(', ')}. Use a preset with one of them, or an ffmpeg build with ${encoder}.` : `It has no ${preset.video.codec} encoder at all; install an ffmpeg build with ${encoder}.`,
    details: { binary: caps.path, version: caps.version.raw, wanted: encoder, available: have },
  });
}

/** Decide cpu or nvenc. `auto` uses NVENC when a real trial encode works, the CPU encoder otherwise. */
export async function selectHardware(caps: Capabilities, preset: Preset, request: HardwareRequest): Promise<HardwareChoice> {
  const { cpu, nvenc } = preset.video.encoder;
  if (request === 'cpu') {
    if (!cpu) throw new StreamkitError('USAGE', 'The preset names no CPU encoder (video.encoder.cpu), but --hw cpu was asked for.', { hint: 'Use --hw auto or nvenc, or add video.encoder.cpu to the preset.' });
    if (!hasEncoder(caps, cpu.name)) throw missingEncoder(caps, preset, cpu.name);
    return { hardware: 'cpu', encoder: cpu.name, reason: '--hw cpu' };
  }
  if (request === 'nvenc') {
    if (!nvenc) throw new StreamkitError('USAGE', 'The preset names no NVENC encoder (video.encoder.nvenc), but --hw nvenc was asked for.', { hint: 'Use --hw cpu, or add video.encoder.nvenc to the preset.' });
    if (!hasEncoder(caps, nvenc.name)) throw missingEncoder(caps, preset, nvenc.name);
    const t = await trialEncode(caps, nvenc.name);
    if (!t.ok) {
      throw new StreamkitError('FEATURE_UNAVAILABLE', `NVENC does not work here: a one-frame ${nvenc.name} trial encode failed (${t.message}).`, {
        hint: 'Check the NVIDIA driver and GPU (nvidia-smi), free NVENC sessions, or use --hw cpu / --hw auto.',
        details: { encoder: nvenc.name, trial: t.message },
      });
    }
    return { hardware: 'nvenc', encoder: nvenc.name, reason: `--hw nvenc (${t.message})` };
  }
  // auto
  let why = 'the preset names no NVENC encoder';
  if (nvenc) {
    if (!hasEncoder(caps, nvenc.name)) {
      why = `${nvenc.name} is not in this ffmpeg build`;
    } else if (!nvidiaDeviceVisible()) {
      // skip the trial (one ffmpeg start, ~0.1 s of CPU on every run) when it cannot succeed
      why = `${nvenc.name} not tried: no NVIDIA device (/dev/nvidiactl absent)`;
    } else {
      const t = await trialEncode(caps, nvenc.name);
      if (t.ok) return { hardware: 'nvenc', encoder: nvenc.name, reason: `auto: ${nvenc.name} ${t.message}` };
      why = `${nvenc.name} trial encode failed: ${t.message}`;
    }
  }
  if (!cpu) throw new StreamkitError('FEATURE_UNAVAILABLE', `No usable encoder: ${why}, and the preset names no CPU encoder.`, { hint: 'Add video.encoder.cpu to the preset.' });
  if (!hasEncoder(caps, cpu.name)) throw missingEncoder(caps, preset, cpu.name);
  return { hardware: 'cpu', encoder: cpu.name, reason: `auto: CPU (${why})` };
}
