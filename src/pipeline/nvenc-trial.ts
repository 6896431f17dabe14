import { StreamkitError } from '../errors.js';
import type { Capabilities } from '../ffmpeg/capabilities.js';
import { buildNvencPipelineTrialArgs, rungEncodeSettings } from '../args/command.js';
import { pipelineCandidates } from '../args/gpu-graph.js';
import { runCapture } from '../ffmpeg/run.js';
import type { NvencPipeline, TranscodePlan } from '../plan.js';
import { buildEncoderTrialArgs, classifyNvencFailure, describeNvencFailure, isBFrameRefFailure, isDeviceLevelFailure, type NvencFailure } from '../encoder/nvenc.js';
import { encoderProfiles } from '../encoder/profiles.js';

/**
 * Choosing where NVENC's frames come from, by trial runs (the only signal trusted about a GPU):
 * 1. the preset's real encoder arguments on one synthetic frame, with B-frame references; again
 *    without them if this GPU refuses them (so they are used exactly where supported);
 * 2. the real input through each pipeline mode, best first (gpu: NVDEC + GPU scaling, upload: CPU
 *    decode + GPU scaling, cpu: CPU decode and scaling), all rungs at once for TRIAL_FRAMES frames.
 * A failure no other mode can avoid (no driver, no session left, codec unsupported) stops at once.
 */

export const TRIAL_FRAMES = 48;

export type PipelineResult = { ok: true; pipeline: NvencPipeline; tried: string[] } | { ok: false; failure: NvencFailure; summary: string; tried: string[] };

export type TrialRunner = (args: string[], options: { timeoutMs: number; signal?: AbortSignal | undefined }) => Promise<{ exitCode: number; stderr: string }>;

const defaultRunner =
  (bin: string): TrialRunner =>
  async (args, options) => {
    try {
      const r = await runCapture(bin, args, { timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
      return { exitCode: r.exitCode, stderr: r.stderr };
    } catch (error) {
      // a trial that hangs past its time limit is a failed trial; an interruption stays an interruption
      if (error instanceof StreamkitError && error.code === 'INTERRUPTED') throw error;
      return { exitCode: -1, stderr: (error as Error).message };
    }
  };

const encoderTrials = new Map<string, Promise<{ exitCode: number; stderr: string }>>();

export async function chooseNvencPipeline(
  caps: Capabilities,
  plan: TranscodePlan,
  options: { signal?: AbortSignal | undefined; fresh?: boolean; run?: TrialRunner } = {},
): Promise<PipelineResult> {
  const run = options.run ?? defaultRunner(caps.path);
  const encoder = plan.encoder;
  const profile = encoderProfiles[encoder];
  const tried: string[] = [];
  const fail = (failure: NvencFailure, what: string): PipelineResult => ({ ok: false, failure, summary: `${what}: ${describeNvencFailure(encoder, failure)}`, tried });

  // 1. the encoder with the preset's options (first rung), B-frame references first
  const encoderTrial = async (bFrameRefs: boolean): Promise<{ exitCode: number; stderr: string }> => {
    const args = buildEncoderTrialArgs(encoder, profile.args({ ...rungEncodeSettings(plan, plan.ladder.rungs[0]!), bFrameRefs }));
    const key = `${caps.path}|${args.join('\u0000')}`;
    let t = options.fresh ? undefined : encoderTrials.get(key);
    if (!t) {
      t = run(args, { timeoutMs: 30_000, signal: options.signal });
      encoderTrials.set(key, t);
    }
    return t;
  };
  let bFrameRefs = true;
  let r = await encoderTrial(true);
  tried.push(`${encoder} with the preset's options and B-frame references: ${r.exitCode === 0 ? 'ok' : 'failed'}`);
  if (r.exitCode !== 0 && isBFrameRefFailure(r.stderr)) {
    bFrameRefs = false;
    r = await encoderTrial(false);
    tried.push(`${encoder} without B-frame references: ${r.exitCode === 0 ? 'ok' : 'failed'}`);
  }
  if (r.exitCode !== 0) return fail(classifyNvencFailure(r.stderr, r.exitCode), `${encoder} refuses the preset's settings`);

  // 2. the real input, best pipeline first
  let last: NvencFailure | null = null;
  let lastWhat = '';
  for (const c of pipelineCandidates(plan.media.video, caps)) {
    if (!c.possible) {
      tried.push(`${c.mode}: skipped (${c.reason})`);
      continue;
    }
    const pipeline: NvencPipeline = { mode: c.mode, scaler: c.scaler, bFrameRefs, reason: c.reason };
    const t = await run(buildNvencPipelineTrialArgs({ ...plan, nvenc: pipeline }, TRIAL_FRAMES), { timeoutMs: 120_000, signal: options.signal });
    if (t.exitCode === 0) {
      tried.push(`${c.mode}: ok`);
      return { ok: true, pipeline: { ...pipeline, reason: `${c.reason}${bFrameRefs ? '' : '; B-frames not used as references (this GPU refuses them)'}` }, tried };
    }
    const f = classifyNvencFailure(t.stderr, t.exitCode);
    tried.push(`${c.mode}: failed (${f.line})`);
    last = f;
    lastWhat = `the ${plan.ladder.rungs.length}-rung ladder failed on this input (${c.mode} pipeline)`;
    if (isDeviceLevelFailure(f)) break;
  }
  return fail(last ?? { kind: 'other', line: 'no pipeline could be tried', meaning: 'no pipeline could be tried' }, lastWhat || 'no NVENC pipeline');
}

/** After the real encode failed at its start: is NVENC still usable? (a fresh trial, never cached) */
export function retrialNvenc(caps: Capabilities, plan: TranscodePlan, signal?: AbortSignal): Promise<PipelineResult> {
  return chooseNvencPipeline(caps, plan, { signal, fresh: true });
}
