import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { HardwareRequest } from '../encoder/select.js';
import { isStreamkitError, StreamkitError } from '../errors.js';
import { presetHash } from '../package/manifest.js';
import { loadPreset, type ResolvedPreset } from '../preset/load.js';
import { resolveToolchain, type Toolchain } from '../transcode.js';
import { runJob, type JobEvent, type JobResult } from '../job/run.js';
import { DEFAULT_OUTPUT_TEMPLATE, outputFor, validateTemplate } from '../job/template.js';
import type { BatchEvent, BatchEventSink, BatchJobResult, BatchSummary, JobError } from './events.js';
import { expandInputs } from './inputs.js';
import { loadJobsFile, type JobSpec } from './jobs-file.js';

/**
 * The batch runner: many inputs -> many packages, a few at a time. Each job is one runJob()
 * (job/run.ts): idempotent (a destination whose streamkit.json matches the job is skipped), safe to
 * overlap (one lock per destination), atomic (staging folder, rename on success), retried by the
 * one retry policy (job/retry.ts).
 */

export interface BatchOptions {
  /** files, folders (searched recursively for media files) and globs, relative to `cwd` */
  inputs?: readonly string[] | undefined;
  /** a YAML/JSON jobs file (see jobs-file.ts); its relative paths are relative to its folder */
  jobsFile?: string | undefined;
  /** jobs given directly (as in a jobs file; relative paths relative to `cwd`) */
  jobs?: readonly JobSpec[] | undefined;
  /** preset for inputs and for jobs without their own */
  preset?: string | undefined;
  /** output template (see job/template.ts); default `{dir}/{stem}-{preset}` */
  output?: string | undefined;
  /** jobs at once; default defaultConcurrency() */
  concurrency?: number | undefined;
  /** redo every job, even current ones, and replace destinations that are not streamkit packages */
  force?: boolean | undefined;
  /** stop at the first failed job (running jobs are cancelled, their staging removed) */
  failFast?: boolean | undefined;
  /** retry a failed job this many times, at once (job/retry.ts says which failures are retried) */
  retries?: number | undefined;
  /** defaults for every job (jobs-file overrides win) */
  frameRate?: string | undefined;
  hw?: HardwareRequest | undefined;
  ffmpeg?: string | undefined;
  ffprobe?: string | undefined;
  toolchain?: Toolchain | undefined;
  /** abort = interrupt: running jobs stop and leave nothing behind, the rest are cancelled */
  signal?: AbortSignal | undefined;
  cwd?: string | undefined;
}

export interface BatchJob {
  /** 1-based position */
  id: number;
  input: string;
  output: string;
  preset: ResolvedPreset;
  presetHash: string;
  frameRate: string | undefined;
  hw: HardwareRequest;
}

export interface BatchPlan {
  jobs: BatchJob[];
  /** folders and globs that matched no file */
  empty: string[];
}

/**
 * Encoders are multi-threaded (x264/x265/SVT-AV1 each use every core), so running more jobs than
 * there are cores only adds memory and context switches. Two or more jobs on bigger machines still
 * help: every job has single-threaded phases (probing, packaging, checksums, the decode check) and
 * encoders scale less than linearly. Hence half the cores, at least one.
 */
export function defaultConcurrency(cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}

function looksLikePath(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || /\.(ya?ml|json)$/i.test(ref);
}

/** Expand inputs and jobs into a checked list of jobs. Nothing is written; usage errors throw. */
export async function planBatch(options: BatchOptions): Promise<BatchPlan> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const specs: { spec: JobSpec; dir: string; from: string }[] = [];
  for (const input of options.inputs ?? []) specs.push({ spec: { input }, dir: cwd, from: 'the command line' });
  for (const spec of options.jobs ?? []) specs.push({ spec, dir: cwd, from: 'the jobs list' });
  if (options.jobsFile) {
    const file = resolve(cwd, options.jobsFile);
    for (const spec of await loadJobsFile(file)) specs.push({ spec, dir: dirname(file), from: file });
  }
  if (options.output !== undefined) validateTemplate(options.output);
  if (options.concurrency !== undefined && !(Number.isInteger(options.concurrency) && options.concurrency >= 1)) {
    throw new StreamkitError('USAGE', `Concurrency must be a whole number of at least 1, got ${options.concurrency}.`);
  }
  if (options.retries !== undefined && !(Number.isInteger(options.retries) && options.retries >= 0)) {
    throw new StreamkitError('USAGE', `Retries must be a whole number of at least 0, got ${options.retries}.`);
  }

  const presets = new Map<string, Promise<ResolvedPreset>>();
  const presetFor = (ref: string, dir: string): Promise<ResolvedPreset> => {
    const key = looksLikePath(ref) ? resolve(dir, ref) : ref;
    let p = presets.get(key);
    if (!p) {
      p = loadPreset(ref, dir);
      presets.set(key, p);
    }
    return p;
  };

  const jobs: BatchJob[] = [];
  const empty: string[] = [];
  const byOutput = new Map<string, BatchJob>();
  for (const { spec, dir, from } of specs) {
    const presetRef = spec.preset ?? options.preset;
    if (!presetRef) {
      throw new StreamkitError('USAGE', `No preset for ${spec.input} (from ${from}).`, { hint: 'Give --preset NAME, or a preset for each job in the jobs file.' });
    }
    // a preset named in a jobs file is relative to that file; --preset is relative to the current folder
    const preset = await presetFor(presetRef, spec.preset ? dir : cwd);
    const template = spec.output ?? options.output ?? DEFAULT_OUTPUT_TEMPLATE;
    const templateDir = spec.output ? dir : cwd;
    const expanded = await expandInputs([spec.input], dir);
    empty.push(...expanded.empty);
    for (const { input, base } of expanded.inputs) {
      // a URL's {dir} is the current folder
      const output = outputFor({ template, input, presetName: preset.name, base, relativeTo: templateDir, urlDir: process.cwd() });
      const job: BatchJob = {
        id: 0,
        input,
        output,
        preset,
        presetHash: presetHash(preset.preset),
        frameRate: spec.overrides?.frameRate ?? options.frameRate,
        hw: spec.overrides?.hw ?? options.hw ?? 'auto',
      };
      const other = byOutput.get(output);
      if (other) {
        if (other.input === input && other.presetHash === job.presetHash && other.frameRate === job.frameRate && other.hw === job.hw) continue; // named twice
        throw new StreamkitError('USAGE', `Two jobs would write the same output ${output}: ${other.input} and ${input}.`, {
          hint: 'Put {stem}, {reldir} or {preset} in the output template (-o) so that every job gets its own folder.',
          details: { output, inputs: [other.input, input] },
        });
      }
      byOutput.set(output, job);
      jobs.push(job);
    }
  }
  jobs.forEach((j, i) => {
    j.id = i + 1;
  });
  return { jobs, empty };
}

function toJobError(error: unknown): JobError {
  if (isStreamkitError(error)) {
    const tail = error.details['stderrTail'];
    return { code: error.code, message: error.message, hint: error.hint, ...(Array.isArray(tail) && tail.length > 0 ? { stderrTail: tail as string[] } : {}) };
  }
  return { code: 'INTERNAL', message: (error as Error)?.message ?? String(error) };
}

/** A job's events, in the batch's terms. */
function batchEvents(job: BatchJob, e: JobEvent): BatchEvent[] {
  const id = job.id;
  switch (e.type) {
    case 'cleanup':
      return e.removed.map((d) => ({ type: 'job-warning', id, message: `removed ${d}, left by a run that died` }));
    case 'retry':
      return [{ type: 'job-retry', id, attempt: e.attempt, error: toJobError(e.error) }];
    case 'start':
      return [{ type: 'job-start', id, input: job.input, output: job.output, preset: job.preset.name, why: e.why }];
    case 'transcode': {
      const t = e.event;
      if (t.type === 'progress')
        return [
          {
            type: 'job-progress',
            id,
            percent: t.percent,
            outTimeSeconds: t.outTimeSeconds,
            durationSeconds: t.durationSeconds,
            fps: t.fps,
            speed: t.speed,
            etaSeconds: t.etaSeconds,
          },
        ];
      if (t.type === 'stage') return [{ type: 'job-stage', id, stage: t.stage, status: t.status }];
      if (t.type === 'warning') return [{ type: 'job-warning', id, message: t.message }];
      return [];
    }
  }
}

/** Run a batch. Never throws for a failed job (see the summary); throws for usage errors found while planning. */
export async function runBatch(options: BatchOptions, onEvent: BatchEventSink = () => undefined): Promise<BatchSummary> {
  const startedAt = new Date();
  const t0 = performance.now();
  const plan = await planBatch(options);
  const concurrency = options.concurrency ?? defaultConcurrency();
  const retries = options.retries ?? 0;
  const force = options.force ?? false;
  const emit = (e: BatchEvent): void => {
    try {
      onEvent(e);
    } catch {
      /* a broken listener must not break the batch */
    }
  };

  const controller = new AbortController();
  let stopped: BatchSummary['stopped'] = null;
  const onOuterAbort = (): void => {
    stopped = 'interrupted';
    controller.abort(options.signal?.reason);
  };
  if (options.signal?.aborted) onOuterAbort();
  options.signal?.addEventListener('abort', onOuterAbort);

  emit({ type: 'batch-start', jobs: plan.jobs.length, concurrency, force, retries, empty: plan.empty });
  const toolchain = options.toolchain ?? (plan.jobs.length > 0 && !controller.signal.aborted ? await resolveToolchain(options) : undefined);

  const results: BatchJobResult[] = new Array<BatchJobResult>(plan.jobs.length);
  const base = (job: BatchJob): BatchJobResult => ({
    id: job.id,
    input: job.input,
    output: job.output,
    preset: job.preset.name,
    status: 'cancelled',
    reason: null,
    attempts: 0,
    elapsedSeconds: null,
    durationSeconds: null,
    speed: null,
    sizeBytes: null,
  });
  const finish = (r: BatchJobResult): BatchJobResult => {
    const type = r.status === 'done' ? 'job-done' : r.status === 'skipped' ? 'job-skipped' : r.status === 'failed' ? 'job-failed' : 'job-cancelled';
    emit({ type, ...r });
    return r;
  };
  const cancelled = (job: BatchJob, extra: Partial<BatchJobResult> = {}): BatchJobResult =>
    finish({ ...base(job), ...extra, status: 'cancelled', reason: stopped === 'fail-fast' ? 'cancelled: an earlier job failed (--fail-fast)' : 'interrupted' });

  const result = (job: BatchJob, r: JobResult): BatchJobResult => {
    const common = { ...base(job), attempts: r.attempts };
    switch (r.status) {
      case 'done':
        return finish({ ...common, status: 'done', elapsedSeconds: r.elapsedSeconds, durationSeconds: r.durationSeconds, speed: r.speed, sizeBytes: r.sizeBytes });
      case 'skipped':
        return finish({ ...common, status: 'skipped', skip: r.skip, reason: r.reason, sizeBytes: r.sizeBytes });
      case 'failed': {
        const error = toJobError(r.error);
        return finish({ ...common, status: 'failed', reason: error.message, error, elapsedSeconds: r.elapsedSeconds });
      }
      case 'cancelled':
        return cancelled(job, r.attempts > 0 ? { attempts: r.attempts, elapsedSeconds: r.elapsedSeconds } : {});
    }
  };
  const run = async (job: BatchJob): Promise<BatchJobResult> =>
    result(
      job,
      await runJob(
        { input: job.input, output: job.output, preset: job.preset, frameRate: job.frameRate, hw: job.hw, force },
        {
          toolchain,
          signal: controller.signal,
          retries,
          lock: { what: `streamkit batch: ${job.input}` },
          onEvent: (e) => batchEvents(job, e).forEach(emit),
        },
      ),
    );

  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const job = plan.jobs[i];
      if (!job) return;
      if (controller.signal.aborted) {
        results[i] = cancelled(job);
        continue;
      }
      const r = await run(job);
      results[i] = r;
      if (r.status === 'failed' && options.failFast && !controller.signal.aborted) {
        stopped = 'fail-fast';
        controller.abort('fail-fast');
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(plan.jobs.length, 1)) }, worker));
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
  }

  const count = (s: BatchJobResult['status']): number => results.filter((r) => r.status === s).length;
  const summary: BatchSummary = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    elapsedSeconds: (performance.now() - t0) / 1000,
    concurrency,
    counts: { total: results.length, done: count('done'), skipped: count('skipped'), failed: count('failed'), cancelled: count('cancelled') },
    stopped,
    jobs: results,
  };
  emit({ type: 'summary', ...summary });
  return summary;
}
