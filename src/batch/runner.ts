import { isStreamkitError } from '../errors.js';
import { resolveToolchain } from '../transcode.js';
import { runJob, type JobEvent, type JobResult } from '../job/run.js';
import type { BatchEvent, BatchEventSink, BatchJobResult, BatchSummary, JobError } from './events.js';
import { defaultConcurrency, planBatch, type BatchJob, type BatchOptions } from './plan.js';

/**
 * The batch runner: many inputs -> many packages, a few at a time (the jobs come from plan.ts). Each
 * job is one runJob() (job/run.ts): idempotent (a destination whose streamkit.json matches the job is
 * skipped), safe to overlap (one lock per destination), atomic (staging folder, rename on success),
 * retried by the one retry policy (job/retry.ts).
 */

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
        { input: job.input, output: job.output, preset: job.preset, frameRate: job.frameRate, hw: job.hw, perTitle: job.perTitle, vmaf: options.vmaf, force },
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
