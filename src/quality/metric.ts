import { isAbsolute, resolve } from 'node:path';
import { StreamkitError } from '../errors.js';
import type { Capabilities } from '../ffmpeg/capabilities.js';
import { onPath } from '../ffmpeg/locate.js';
import { runCapture } from '../ffmpeg/run.js';

/**
 * The quality metric of the per-title analysis, in this order of preference:
 *
 * 1. the libvmaf `vmaf` tool named by `--vmaf PATH` or `STREAMKIT_VMAF` (an explicit choice wins; one
 *    that does not run is an error, not a fallback);
 * 2. ffmpeg's `libvmaf` filter, when the ffmpeg in use has it (most static builds do);
 * 3. a `vmaf` tool on PATH (distributions ship libvmaf 3.x's tool);
 * 4. ffmpeg's `ssim` filter, mapped onto the VMAF scale (vmafFromSsim): the targets are then
 *    approximate, and every report says so.
 *
 * Scores are always taken at the source's display size, each candidate upscaled with bicubic.
 */
export type Metric =
  | { name: 'vmaf'; via: 'libvmaf'; model: string }
  | { name: 'vmaf'; via: 'vmaf-tool'; tool: string; version: string; model: string }
  | { name: 'ssim'; via: 'ffmpeg-ssim' };

/** Netflix's model for the display: the 4K model from 2160-line sources, else the 1080p one. */
export function vmafModelFor(displayHeight: number, displayWidth: number): string {
  return Math.min(displayHeight, displayWidth) >= 2000 ? 'vmaf_4k_v0.6.1' : 'vmaf_v0.6.1';
}

export function describeMetric(m: Metric): string {
  switch (m.via) {
    case 'libvmaf':
      return `VMAF (${m.model}, ffmpeg's libvmaf filter)`;
    case 'vmaf-tool':
      return `VMAF (${m.model}, ${m.tool} ${m.version})`;
    case 'ffmpeg-ssim':
      return "SSIM mapped onto the VMAF scale (ffmpeg's ssim filter; no VMAF here, so the targets are approximate)";
  }
}

/** The note every report carries when the metric is not VMAF itself. */
export const SSIM_NOTE =
  "no VMAF available (no libvmaf filter in this ffmpeg, no `vmaf` tool on PATH, none given by --vmaf or STREAMKIT_VMAF): qualities are ffmpeg's SSIM mapped onto the VMAF scale, so the targets are approximate";

/** The tool's version when it runs (`vmaf --version` prints it); null when it does not. */
async function toolVersion(tool: string, signal?: AbortSignal): Promise<string | null> {
  try {
    const r = await runCapture(tool, ['--version'], { timeoutMs: 10_000, ...(signal ? { signal } : {}) });
    const m = /(\d+\.\d+(?:\.\d+)?)/.exec(`${r.stdout} ${r.stderr}`);
    return r.exitCode === 0 && m ? m[1]! : null;
  } catch {
    return null;
  }
}

export interface MetricChoice {
  metric: Metric;
  /** set when the targets are approximate (SSIM) */
  note: string | null;
}

export async function chooseMetric(
  caps: Pick<Capabilities, 'filters'>,
  display: { width: number; height: number },
  options: { vmaf?: string | undefined; env?: NodeJS.ProcessEnv; signal?: AbortSignal | undefined } = {},
): Promise<MetricChoice> {
  const env = options.env ?? process.env;
  const model = vmafModelFor(display.height, display.width);
  const named = options.vmaf ?? (env['STREAMKIT_VMAF'] || undefined);
  if (named) {
    const tool = isAbsolute(named) || /[\\/]/.test(named) ? resolve(named) : ((await onPath(named, env)) ?? named);
    const version = await toolVersion(tool, options.signal);
    if (!version) {
      throw new StreamkitError('FEATURE_UNAVAILABLE', `The VMAF tool ${named} does not run (\`${tool} --version\` failed).`, {
        hint: `${options.vmaf ? '--vmaf' : 'STREAMKIT_VMAF'} must name libvmaf's \`vmaf\` command-line tool; leave it out to use ffmpeg's libvmaf filter, a \`vmaf\` on PATH, or SSIM.`,
        details: { vmaf: named },
      });
    }
    return { metric: { name: 'vmaf', via: 'vmaf-tool', tool, version, model }, note: null };
  }
  if (caps.filters.includes('libvmaf')) return { metric: { name: 'vmaf', via: 'libvmaf', model }, note: null };
  const found = await onPath('vmaf', env);
  const version = found ? await toolVersion(found, options.signal) : null;
  if (found && version) return { metric: { name: 'vmaf', via: 'vmaf-tool', tool: found, version, model }, note: null };
  return { metric: { name: 'ssim', via: 'ffmpeg-ssim' }, note: SSIM_NOTE };
}

/**
 * SSIM (ffmpeg's "All", 4:2:0) onto the VMAF scale, for the fallback: VMAF ~ 22.19 + 3.489 x SSIM dB
 * (dB = -10 log10(1 - SSIM)), clamped to 0..100. Fitted on this project's measurements
 * (docs/per-title.md): 93 x264 encodes of six real and generated clips, 234p to source size, CRF
 * 18-36, both metrics at the source size with bicubic upscaling. A rough stand-in: RMSE 12 VMAF
 * points (9 above VMAF 85), errors of 5-9 CRF steps either way at a target of 95, and no use at
 * all on strong film grain or noise, where SSIM collapses and VMAF does not.
 */
export function vmafFromSsim(ssim: number): number {
  const db = -10 * Math.log10(Math.max(1e-6, 1 - Math.min(ssim, 0.999999)));
  return Math.max(0, Math.min(100, SSIM_FIT.a + SSIM_FIT.b * db));
}

/** VMAF ~ a + b * SSIM dB (see vmafFromSsim). */
export const SSIM_FIT = { a: 22.19, b: 3.489 };
