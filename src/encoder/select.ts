import { StreamkitError } from '../errors.js';
import { hasEncoder, recallBinaryFact, rememberBinaryFact, type Capabilities } from '../ffmpeg/capabilities.js';
import { runCapture } from '../ffmpeg/run.js';
import { videoLadders, type HardwareKind, type Preset } from '../preset/schema.js';
import { canRememberNoDriver, driverFingerprint, noDriverFact } from './nvenc-memo.js';
import { buildEncoderTrialArgs, classifyNvencFailure, describeNvencFailure, gpuRequirement, missingNvencReason, type NvencFailure } from './nvenc.js';

export type HardwareRequest = 'auto' | HardwareKind;

export interface HardwareChoice {
  hardware: HardwareKind;
  encoder: string;
  /** why, in words (shown in start events, `doctor`) */
  reason: string;
}

export interface TrialResult {
  ok: boolean;
  /** what happened, in words; for failures the encoder's own line and what it means */
  message: string;
  /** for failures: the classified cause (no driver, no device, no session left...) */
  failure?: NvencFailure;
}

const trials = new Map<string, Promise<TrialResult>>();

/** Said after a failure remembered from an earlier trial (nvenc-memo.ts). */
const REMEMBERED = ' (remembered from an earlier trial with this ffmpeg and driver setup)';

async function runTrial(caps: Capabilities, encoder: string): Promise<TrialResult> {
  try {
    const r = await runCapture(caps.path, buildEncoderTrialArgs(encoder), { timeoutMs: 20_000 });
    if (r.exitCode === 0) return { ok: true, message: 'one-frame trial encode succeeded' };
    const failure = classifyNvencFailure(r.stderr, r.exitCode);
    return { ok: false, message: describeNvencFailure(encoder, failure), failure };
  } catch (e) {
    return { ok: false, message: (e as Error).message, failure: { kind: 'other', line: (e as Error).message, meaning: 'the trial encode could not run' } };
  }
}

/**
 * An encoder listed by `ffmpeg -encoders` may still fail (no GPU, no driver, no session left):
 * encode one tiny frame to find out. Cached per binary and encoder for the life of the process
 * (`fresh` runs it again, e.g. after a real encode failed at its start, and for `doctor`). A trial
 * that failed for want of a driver (`no-driver`: ffmpeg could not load libcuda.so.1) is also
 * remembered on disk (Linux), with the ffmpeg binary and a fingerprint of what decides it
 * (nvenc-memo.ts), so that every job on a machine without an NVIDIA driver does not start ffmpeg once
 * more to learn it again (0.16-0.22 s of CPU each, bench/RESULTS.md); any other outcome is asked anew
 * by every process, and clears what was kept.
 */
export function trialEncode(caps: Capabilities, encoder: string, options: { fresh?: boolean } = {}): Promise<TrialResult> {
  const key = `${caps.path}|${encoder}`;
  let t = options.fresh ? undefined : trials.get(key);
  if (!t) {
    t = (async (): Promise<TrialResult> => {
      if (!canRememberNoDriver()) return runTrial(caps, encoder);
      const fact = noDriverFact(encoder);
      const fingerprint = driverFingerprint();
      const kept = await recallBinaryFact<{ fingerprint: string; result: TrialResult }>(caps.path, fact);
      if (!options.fresh && kept?.fingerprint === fingerprint && kept.result.failure?.kind === 'no-driver') {
        return { ...kept.result, message: `${kept.result.message}${REMEMBERED}` };
      }
      const r = await runTrial(caps, encoder);
      // a failure for want of a driver replaces what was kept; any other outcome (doctor found NVENC working, say) clears it
      if (r.failure?.kind === 'no-driver') await rememberBinaryFact(caps.path, fact, { fingerprint, result: r });
      else if (kept) await rememberBinaryFact(caps.path, fact, null);
      return r;
    })();
    trials.set(key, t);
  }
  return t;
}

/** The hint for a failed NVENC trial: what to check, by cause. */
export function nvencHint(encoder: string, failure: NvencFailure | undefined): string {
  switch (failure?.kind) {
    case 'no-driver':
    case 'no-device':
      return 'Check the GPU and driver with nvidia-smi (in a container: run it with the NVIDIA runtime, e.g. docker --gpus all), or use --hw cpu / --hw auto.';
    case 'no-nvenc-library':
      return 'In a container, expose the video capability (NVIDIA_DRIVER_CAPABILITIES=compute,video,utility); else reinstall the NVIDIA driver. Or use --hw cpu / --hw auto.';
    case 'driver-too-old':
      return 'Update the NVIDIA driver, or use an ffmpeg built with an older NVENC SDK; or use --hw cpu / --hw auto.';
    case 'sessions':
      return 'Other processes hold NVENC sessions (nvidia-smi lists them), or the ladder has more rungs than this GeForce driver allows sessions: wait, use fewer rungs, or use --hw cpu / --hw auto.';
    case 'codec-unsupported':
    case 'no-capable-device':
      return `${gpuRequirement(encoder) || 'This GPU cannot run this encoder'}; use another codec's NVENC preset, or --hw cpu / --hw auto.`;
    case 'feature-unsupported':
      return 'Remove the option this GPU lacks from video.encoder.nvenc.options (see the quoted ffmpeg line), or use --hw cpu / --hw auto.';
    default:
      return 'Check the NVIDIA driver and GPU (nvidia-smi), or use --hw cpu / --hw auto.';
  }
}

/** The error for `--hw nvenc` without a working NVENC (exit code 4). */
export function nvencUnavailable(encoder: string, what: string, failure: NvencFailure | undefined, details: Record<string, unknown> = {}): StreamkitError {
  return new StreamkitError('FEATURE_UNAVAILABLE', `NVENC does not work here: ${what}.`, {
    hint: nvencHint(encoder, failure),
    details: { encoder, ...(failure ? { cause: failure.kind, ffmpegSaid: failure.line } : {}), ...details },
  });
}

const codecPatterns = { h264: /H\.264|AVC/i, hevc: /HEVC|H\.265/i, av1: /\bAV1\b/i } as const;

export function encodersForCodec(caps: Capabilities, codec: Preset['video']['codec']): string[] {
  return caps.encoders.filter((e) => e.type === 'video' && codecPatterns[codec].test(`${e.name} ${e.description}`)).map((e) => e.name);
}

function missingEncoder(caps: Capabilities, codec: Preset['video']['codec'], encoder: string): StreamkitError {
  const have = encodersForCodec(caps, codec);
  return new StreamkitError(
    'ENCODER_UNAVAILABLE',
    `${caps.path} (ffmpeg ${caps.version.raw || 'unknown version'}) has no ${encoder} encoder, which the preset wants for ${codec}.`,
    {
      hint:
        have.length > 0
          ? `Its ${codec} encoders: ${have.join(', ')}. Use a preset with one of them, or an ffmpeg build with ${encoder}.`
          : `It has no ${codec} encoder at all; install an ffmpeg build with ${encoder}.`,
      details: { binary: caps.path, version: caps.version.raw, wanted: encoder, available: have },
    },
  );
}

/**
 * A preset with several video ladders (one per codec) runs on the CPU encoders: --hw nvenc is refused,
 * --hw auto says why it chose the CPU. The GPU graph (args/gpu-graph.ts) and the NVENC trials are
 * built for one encoder; several NVENC codecs at once would also need a session per rung per codec,
 * more than consumer drivers allow.
 */
function selectMultiCodec(caps: Capabilities, preset: Preset, request: HardwareRequest): HardwareChoice {
  const ladders = videoLadders(preset);
  const codecList = ladders.map((l) => l.codec).join(' + ');
  if (request === 'nvenc') {
    throw new StreamkitError('USAGE', `--hw nvenc cannot encode a multi-codec preset (${codecList}): presets with several video ladders run on the CPU encoders.`, {
      hint: 'Use --hw cpu or --hw auto, or one single-codec preset per NVENC run (e.g. --preset h264-ladder --hw nvenc).',
      details: { codecs: ladders.map((l) => l.codec) },
    });
  }
  for (const [k, l] of ladders.entries()) {
    if (!l.encoder.cpu)
      throw new StreamkitError('USAGE', `The preset's ladder video[${k}] (${l.codec}) names no CPU encoder (video[${k}].encoder.cpu); a multi-codec preset runs on the CPU.`, {
        hint: `Add video[${k}].encoder.cpu to the preset.`,
      });
    if (!hasEncoder(caps, l.encoder.cpu.name)) throw missingEncoder(caps, l.codec, l.encoder.cpu.name);
  }
  const why = request === 'cpu' ? '--hw cpu' : `auto: CPU (a multi-codec preset, ${codecList}, runs on the CPU encoders; NVENC was not tried)`;
  return { hardware: 'cpu', encoder: ladders[0]!.encoder.cpu!.name, reason: why };
}

/** Decide cpu or nvenc. `auto` uses NVENC when a real trial encode works, the CPU encoder otherwise. */
export async function selectHardware(caps: Capabilities, preset: Preset, request: HardwareRequest): Promise<HardwareChoice> {
  if (videoLadders(preset).length > 1) return selectMultiCodec(caps, preset, request);
  const { cpu, nvenc } = preset.video.encoder;
  if (request === 'cpu') {
    if (!cpu)
      throw new StreamkitError('USAGE', 'The preset names no CPU encoder (video.encoder.cpu), but --hw cpu was asked for.', {
        hint: 'Use --hw auto or nvenc, or add video.encoder.cpu to the preset.',
      });
    if (!hasEncoder(caps, cpu.name)) throw missingEncoder(caps, preset.video.codec, cpu.name);
    return { hardware: 'cpu', encoder: cpu.name, reason: '--hw cpu' };
  }
  if (request === 'nvenc') {
    if (!nvenc)
      throw new StreamkitError('USAGE', 'The preset names no NVENC encoder (video.encoder.nvenc), but --hw nvenc was asked for.', {
        hint: 'Use --hw cpu, or add video.encoder.nvenc to the preset.',
      });
    if (!hasEncoder(caps, nvenc.name)) {
      throw new StreamkitError('ENCODER_UNAVAILABLE', `${missingNvencReason(caps, nvenc.name)}, but --hw nvenc was asked for.`, {
        hint:
          nvenc.name === 'av1_nvenc'
            ? 'Use ffmpeg 6.0 or newer built with NVENC (and an Ada or newer GPU), or --hw cpu / --hw auto.'
            : `Use an ffmpeg built with ${nvenc.name}, or --hw cpu / --hw auto.`,
        details: { binary: caps.path, version: caps.version.raw, wanted: nvenc.name },
      });
    }
    const t = await trialEncode(caps, nvenc.name);
    if (!t.ok) throw nvencUnavailable(nvenc.name, `a one-frame ${nvenc.name} trial encode failed: ${t.message}`, t.failure);
    return { hardware: 'nvenc', encoder: nvenc.name, reason: `--hw nvenc (${nvenc.name} ${t.message})` };
  }
  // auto
  let why = 'the preset names no NVENC encoder';
  if (nvenc) {
    if (!hasEncoder(caps, nvenc.name)) {
      why = missingNvencReason(caps, nvenc.name);
    } else {
      const t = await trialEncode(caps, nvenc.name);
      if (t.ok) return { hardware: 'nvenc', encoder: nvenc.name, reason: `auto: ${nvenc.name} ${t.message}` };
      why = `${nvenc.name} trial encode failed: ${t.message}`;
    }
  }
  if (!cpu) throw new StreamkitError('FEATURE_UNAVAILABLE', `No usable encoder: ${why}, and the preset names no CPU encoder.`, { hint: 'Add video.encoder.cpu to the preset.' });
  if (!hasEncoder(caps, cpu.name)) throw missingEncoder(caps, preset.video.codec, cpu.name);
  return { hardware: 'cpu', encoder: cpu.name, reason: `auto: CPU (${why})` };
}
