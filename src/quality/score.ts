import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildDistortedArgs,
  buildFilterScoreArgs,
  buildReferenceArgs,
  buildRenditionSampleArgs,
  buildVmafToolArgs,
  sampleFrames,
  type Distorted,
  type SampleWindow,
} from '../args/per-title.js';
import { StreamkitError } from '../errors.js';
import { runFfmpeg, runWithFifos } from '../ffmpeg/run.js';
import type { TranscodePlan } from '../plan.js';
import { vmafFromSsim, type Metric } from './metric.js';

/**
 * Scores of encoded video against the source's samples, on the VMAF scale (quality/metric.ts): the
 * candidates of the analysis (raw streams) and the rungs of the finished encode (their playlists).
 */

export interface ScoreContext {
  ffmpeg: string;
  /** a private folder for pipes and score logs */
  workDir: string;
  signal?: AbortSignal | undefined;
  threads: number;
  /** score every Nth frame (VMAF only) */
  subsample: number;
  /** 0..1 through the whole batch */
  onProgress?: ((fraction: number) => void) | undefined;
}

/**
 * VMAF tools run side by side on one decode of the reference (quality/score.ts): enough to share
 * that decode, few enough that their memory (a few 1080p frames each) stays modest.
 */
const VMAF_GROUP = 6;

/** Mean of ffmpeg's `ssim` filter stats file ("n:1 Y:0.98 U:0.99 V:0.99 All:0.985 (18.2)" per frame); null when it holds no frame. */
export function parseSsimStats(text: string): { mean: number; frames: number } | null {
  const values = [...text.matchAll(/\bAll:([0-9.]+)/g)].map((m) => Number(m[1]));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) return null;
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, frames: values.length };
}

/** The pooled VMAF mean of a libvmaf JSON log (tool or filter); null when absent. */
export function parseVmafLog(text: string): { mean: number; frames: number } | null {
  try {
    const log = JSON.parse(text) as { pooled_metrics?: { vmaf?: { mean?: unknown } }; frames?: unknown[] };
    const mean = log.pooled_metrics?.vmaf?.mean;
    return typeof mean === 'number' && Number.isFinite(mean) ? { mean, frames: Array.isArray(log.frames) ? log.frames.length : 0 } : null;
  } catch {
    return null;
  }
}

async function readLogs(files: readonly string[]): Promise<({ mean: number; frames: number } | null)[]> {
  return Promise.all(files.map(async (f) => parseVmafLog(await readFile(f, 'utf8').catch(() => ''))));
}

function scoreMissing(what: string, log: string): StreamkitError {
  return new StreamkitError('VERIFY_FAILED', `The quality metric wrote no score for ${what} (${log}).`, {
    hint: 'This looks like a bug in streamkit or a broken metric tool; run again with --verbose and report it.',
    details: { log },
  });
}

/** Score each distorted video against the samples; returns VMAF-scale means in the same order. */
export async function scoreAgainstSource(
  ctx: ScoreContext,
  metric: Metric,
  plan: TranscodePlan,
  samples: readonly SampleWindow[],
  distorted: readonly Distorted[],
): Promise<number[]> {
  if (distorted.length === 0) return [];
  const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const logs = distorted.map((_, i) => `score-${tag}-${i}.${metric.via === 'ffmpeg-ssim' ? 'log' : 'json'}`);
  const sampleSeconds = samples.reduce((a, s) => a + s.duration, 0);
  try {
    if (metric.via === 'vmaf-tool') {
      const out: number[] = [];
      const expectedScored = Math.floor(samples.reduce((a, s) => a + sampleFrames(plan, s), 0) / ctx.subsample);
      // groups of scorers share one decode of the reference: each group runs its VMAF tools side by side
      for (let from = 0; from < distorted.length; from += VMAF_GROUP) {
        const group = distorted.slice(from, from + VMAF_GROUP).map((d, k) => ({ d, log: join(ctx.workDir, logs[from + k]!) }));
        const n = group.length;
        const running = runWithFifos(
          ctx.workDir,
          2 * n,
          (fifos) => [
            { file: ctx.ffmpeg, args: ['-hide_banner', '-nostdin', ...buildReferenceArgs(plan, samples, fifos.slice(0, n))] },
            ...group.map(({ d }, k) => ({
              file: ctx.ffmpeg,
              args: ['-hide_banner', '-nostdin', ...('raw' in d ? buildDistortedArgs(plan, d.raw, fifos[n + k]!) : buildRenditionSampleArgs(plan, d, samples, fifos[n + k]!))],
            })),
            ...group.map(({ log }, k) => ({
              file: metric.tool,
              args: buildVmafToolArgs(fifos[k]!, fifos[n + k]!, log, { model: metric.model, subsample: ctx.subsample, threads: Math.max(1, Math.ceil(ctx.threads / n)) }),
            })),
          ],
          { signal: ctx.signal, what: 'scoring with VMAF' },
        );
        const scored = await running.then(
          () => readLogs(group.map((g) => g.log)),
          // a tool that has read every frame it scores exits, and a producer still writing a frame
          // more then fails on the closed pipe: the scores stand when every log is complete
          async (error: unknown) => {
            const read = await readLogs(group.map((g) => g.log));
            if (ctx.signal?.aborted || read.some((r) => r === null || r.frames < expectedScored * 0.9)) throw error;
            return read;
          },
        );
        for (const [k, parsed] of scored.entries()) {
          if (!parsed) throw scoreMissing(`video ${from + k + 1} of ${distorted.length}`, group[k]!.log);
          out.push(parsed.mean);
        }
        ctx.onProgress?.(out.length / distorted.length);
      }
      return out;
    }
    const filter = metric.via === 'ffmpeg-ssim' ? { filter: 'ssim' as const } : { filter: 'libvmaf' as const, model: metric.model, subsample: ctx.subsample, threads: ctx.threads };
    await runFfmpeg(ctx.ffmpeg, buildFilterScoreArgs(plan, samples, distorted, logs, filter), {
      cwd: ctx.workDir,
      what: `scoring with ${metric.name.toUpperCase()}`,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (p) => {
        if (p.outTimeSeconds !== null && sampleSeconds > 0) ctx.onProgress?.(Math.min(1, p.outTimeSeconds / sampleSeconds));
      },
    });
    const out: number[] = [];
    for (const [i, name] of logs.entries()) {
      const text = await readFile(join(ctx.workDir, name), 'utf8').catch(() => '');
      if (metric.via === 'ffmpeg-ssim') {
        const s = parseSsimStats(text);
        if (!s) throw scoreMissing(`video ${i + 1} of ${distorted.length}`, name);
        out.push(vmafFromSsim(s.mean));
      } else {
        const v = parseVmafLog(text);
        if (!v) throw scoreMissing(`video ${i + 1} of ${distorted.length}`, name);
        out.push(v.mean);
      }
    }
    ctx.onProgress?.(1);
    return out;
  } finally {
    for (const name of logs) await rm(join(ctx.workDir, name), { force: true });
  }
}
