import { availableParallelism } from 'node:os';
import { checkedHardware, type CheckedHardware } from '../encoder/preset-check.js';
import { chooseNvencPipeline, retrialNvenc } from './nvenc-trial.js';
import { nvencUnavailable, selectHardware } from '../encoder/select.js';
import { StreamkitError } from '../errors.js';
import type { TranscodePlan } from '../plan.js';
import { buildPlan } from './plan.js';
import type { Source } from './probe.js';

/** A plan and the encoder it runs on, with the reason in words. */
export interface PlannedHardware {
  plan: TranscodePlan;
  hardware: CheckedHardware;
}

/** The plan for `hardware` (and its NVENC pipeline, when there is one). */
function planFor(source: Source, hardware: CheckedHardware, nvenc?: TranscodePlan['nvenc']): TranscodePlan {
  return buildPlan({ preset: source.preset, media: source.media, caps: source.toolchain.caps, hardware, nvenc, cpus: availableParallelism(), sidecars: source.sidecars });
}

/** `--hw auto` after NVENC turned out unusable for this job: the same job on the preset's CPU encoder. */
async function cpuInstead(source: Source, why: string): Promise<PlannedHardware> {
  if (!source.preset.preset.video.encoder.cpu) {
    throw new StreamkitError('FEATURE_UNAVAILABLE', `No usable encoder: NVENC does not work here (${why}), and the preset names no CPU encoder.`, {
      hint: 'Add video.encoder.cpu to the preset.',
    });
  }
  const cpu = checkedHardware(source.preset, await selectHardware(source.toolchain.caps, source.preset.preset, 'cpu'));
  const hardware = { ...cpu, reason: `auto: CPU (${why})` };
  return { plan: planFor(source, hardware), hardware };
}

/**
 * Stage 3: the plan. On the CPU it is built once. With NVENC, the preset's settings are first tried on
 * this input, every rung at once (pipeline/nvenc-trial.ts), to choose where decoding and scaling
 * happen; when no way works, `--hw nvenc` fails and `--hw auto` plans for the CPU instead.
 */
export async function planHardware(source: Source, signal?: AbortSignal): Promise<PlannedHardware> {
  const hardware = source.hardware;
  if (hardware.hardware !== 'nvenc') return { plan: planFor(source, hardware), hardware };
  const chosen = await chooseNvencPipeline(source.toolchain.caps, planFor(source, hardware), { signal });
  if (chosen.ok) return { plan: planFor(source, hardware, chosen.pipeline), hardware: { ...hardware, reason: `${hardware.reason}; ${chosen.pipeline.reason}` } };
  if (source.request === 'nvenc') throw nvencUnavailable(hardware.encoder, chosen.summary, chosen.failure, { tried: chosen.tried });
  return cpuInstead(source, chosen.summary);
}

/**
 * After NVENC failed at the start of the encode: a fresh trial. When NVENC works again the failure was
 * something else (null: report it as it is); otherwise the CPU plan and why.
 */
export async function fallBackToCpu(source: Source, plan: TranscodePlan, signal?: AbortSignal): Promise<(PlannedHardware & { why: string }) | null> {
  const again = await retrialNvenc(source.toolchain.caps, plan, signal);
  if (again.ok) return null;
  const why = `NVENC failed at the start of the encode, and a new trial failed too: ${again.summary}`;
  return { ...(await cpuInstead(source, why)), why };
}
