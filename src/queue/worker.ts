import { hostname } from 'node:os';
import { join } from 'node:path';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { HardwareRequest } from '../encoder/select.js';
import { isStreamkitError, StreamkitError } from '../errors.js';
import { formatError } from '../format/error-text.js';
import { isPermanent, isRetryable } from '../job/retry.js';
import { runJob } from '../job/run.js';
import { parsePresetObject } from '../preset/load.js';
import { resolveToolchain, type Toolchain } from '../transcode.js';
import { openQueue, redactRedisUrl, redisConnection, type QueueTarget } from './connection.js';
import { parseJobData, QUEUE_INPUT_HINT, type QueueJobData, type QueueJobProgress, type QueueJobResult } from './job.js';
import { DEFAULT_GRACE_MS, DEFAULT_LOCK_DURATION_MS, DEFAULT_STALLED_INTERVAL_MS } from './defaults.js';

/**
 * `streamkit worker`: takes jobs from the queue and runs each with runJob() (job/run.ts), the job
 * life `streamkit batch` uses too.
 *
 * - Idempotent: a job whose destination already holds a current package (streamkit.json with the
 *   same job key, every file at its recorded size) completes at once without encoding.
 * - Atomic: transcode() writes into a staging folder beside the destination and renames it into
 *   place, so a job that is run again after a crash, or by two workers, ends in one whole package.
 * - Failures: the retry policy of job/retry.ts. Permanent ones (exit codes 2 and 3: input, preset,
 *   usage, a destination that is not streamkit's) fail the job at once (BullMQ
 *   UnrecoverableError); the others (exit codes 1 and 4) are retried with exponential backoff up to
 *   the job's `attempts`. The reason kept is "CODE: message"; the full error (ffmpeg command, stderr
 *   tail) goes to the job's log.
 * - Crash: a worker that dies stops renewing its job lock; after `lockDuration` another worker's
 *   stalled-job check puts the job back and it runs again from scratch.
 * - Shutdown (SIGTERM/SIGINT): stop taking jobs; running jobs get `graceMs` to finish, then they
 *   are aborted (ffmpeg stopped, staging removed) and handed back to the front of the queue without
 *   using up an attempt. A job that fails with a retryable error while stopping (its ffmpeg got the
 *   terminal's Ctrl-C too) is handed back the same way. Resolves when done (the CLI exits 0).
 * - A worker that loses a job's lock (Redis unreachable for longer than lockDuration) aborts that
 *   job: another worker owns it now.
 */

export interface WorkerOptions {
  target: QueueTarget;
  concurrency?: number;
  /** hardware for jobs enqueued with --hw auto (jobs naming cpu or nvenc get that) */
  hw?: HardwareRequest;
  /** how long running jobs may take to finish after a shutdown request */
  graceMs?: number;
  /** BullMQ job lock: renewed every lockDuration/2; a dead worker's job is taken over after it expires */
  lockDurationMs?: number;
  /** how often this worker looks for stalled jobs (of dead workers) */
  stalledIntervalMs?: number;
  ffmpeg?: string | undefined;
  ffprobe?: string | undefined;
  /** aborted = shut down */
  signal: AbortSignal;
  /** worker and job events for the CLI reporter */
  log: (event: { type: string; [key: string]: unknown }) => void;
  /** how often progress is written to Redis at most */
  progressIntervalMs?: number;
}

export interface WorkerSummary {
  completed: number;
  skipped: number;
  failed: number;
  handedBack: number;
}

export async function runWorker(options: WorkerOptions): Promise<WorkerSummary> {
  const { target, log } = options;
  const me = { host: hostname(), pid: process.pid };
  const workerHw = options.hw ?? 'auto';
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const progressEvery = options.progressIntervalMs ?? 1000;
  const summary: WorkerSummary = { completed: 0, skipped: 0, failed: 0, handedBack: 0 };

  // fail fast (exit 4) when ffmpeg or Redis is missing, before taking any job
  const toolchain: Toolchain = await resolveToolchain({ ffmpeg: options.ffmpeg, ffprobe: options.ffprobe });
  const probe = await openQueue(target);
  await probe.close();
  if (options.signal.aborted) return summary;

  /** why a job's signal was aborted: shutting down (hand it back) or lock lost (someone else has it) */
  const abortReasons = new Map<string, 'shutdown' | 'lock-lost'>();
  const active = new Set<string>();
  let shuttingDown = false;

  const processor = async (job: Job, token?: string, signal?: AbortSignal): Promise<QueueJobResult> => {
    const id = String(job.id);
    const started = performance.now();
    active.add(id);
    let lastProgressAt = 0;
    const progress = (p: Omit<QueueJobProgress, 'worker'>, always: boolean): void => {
      const now = Date.now();
      if (!always && now - lastProgressAt < progressEvery) return;
      lastProgressAt = now;
      job.updateProgress({ ...p, worker: me } satisfies QueueJobProgress).catch(() => undefined);
    };
    let data: QueueJobData | null = null;
    try {
      data = parseJobData(job.data);
      const d = data;
      log({ type: 'job', status: 'start', id, input: d.input, output: d.output, preset: d.preset.name, attempt: job.attemptsMade + 1, attempts: job.opts.attempts ?? 1 });
      progress({ stage: 'check', percent: null, fps: null, speed: null, etaSeconds: null }, true);
      const preset = parsePresetObject(d.preset.resolved, `(job ${id}) preset ${d.preset.name}`);
      const hw: HardwareRequest = d.options.hw === 'auto' ? workerHw : d.options.hw;
      const r = await runJob(
        {
          input: d.input,
          output: d.output,
          preset: { name: d.preset.name, file: `(job ${id})`, chain: [], preset },
          frameRate: d.options.frameRate ?? undefined,
          hw,
          ...(d.options.perTitle !== undefined ? { perTitle: d.options.perTitle } : {}),
          force: d.force,
        },
        {
          toolchain,
          signal,
          inputHint: QUEUE_INPUT_HINT,
          onEvent: (e) => {
            if (e.type === 'cleanup') {
              log({ type: 'job', status: 'cleanup', id, removed: e.removed, killed: e.killed });
              const note = `removed ${e.removed.length} staging folder(s) of dead workers${e.killed.length > 0 ? `, killed orphaned ffmpeg ${e.killed.join(', ')}` : ''}`;
              void job.log(note).catch(() => undefined);
            } else if (e.type === 'transcode') {
              const t = e.event;
              if (t.type === 'stage' && t.status === 'start')
                progress({ stage: t.stage, percent: t.stage === 'encode' ? 0 : null, fps: null, speed: null, etaSeconds: null }, true);
              else if (t.type === 'progress') progress({ stage: 'encode', percent: t.percent, fps: t.fps, speed: t.speed, etaSeconds: t.etaSeconds }, t.percent === 100);
              else if (t.type === 'start')
                void job.log(`${me.host}:${me.pid}: ${t.encoder} on ${t.hardware} (${t.hardwareReason}), ffmpeg ${t.ffmpeg.version}`).catch(() => undefined);
            }
          },
        },
      );
      if (r.status === 'failed' || r.status === 'cancelled') throw r.error ?? new StreamkitError('INTERRUPTED', 'Interrupted before the encode started.');
      if (r.status === 'skipped') {
        summary.skipped++;
        log({ type: 'job', status: 'skipped', id, output: d.output, reason: r.reason });
        return { output: d.output, master: join(d.output, 'master.m3u8'), skipped: true, reason: r.reason, elapsedSeconds: (performance.now() - started) / 1000, worker: me };
      }
      summary.completed++;
      const elapsedSeconds = (performance.now() - started) / 1000;
      log({ type: 'job', status: 'done', id, output: d.output, master: r.master, elapsedSeconds });
      return { output: d.output, master: r.master, skipped: false, elapsedSeconds, worker: me };
    } catch (error) {
      const why = abortReasons.get(id);
      // while stopping, a failure is most likely the stop itself (Ctrl-C in a terminal reaches
      // ffmpeg directly, as does systemd's default KillMode): hand the job back instead of failing it
      const stopping = (signal?.aborted && why === 'shutdown') || (shuttingDown && (isRetryable(error) || (isStreamkitError(error) && error.code === 'INTERRUPTED')));
      if (stopping && why !== 'lock-lost' && token) {
        // hand the job back: front of the waiting list, no attempt used up
        await job.moveToWait(token);
        summary.handedBack++;
        log({ type: 'job', status: 'handed-back', id, output: data?.output, reason: isStreamkitError(error) ? `${error.code}: ${error.message}` : String(error) });
        throw new WaitingError();
      }
      if (signal?.aborted && why === 'lock-lost') {
        log({ type: 'job', status: 'abandoned', id, output: data?.output, reason: 'lost the job lock; another worker has it now' });
        throw new Error('lost the job lock; another worker has it now');
      }
      const e = isStreamkitError(error) ? error : new StreamkitError('JOB_FAILED', `Job failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      const permanent = isPermanent(e);
      const attempts = job.opts.attempts ?? 1;
      const willRetry = !permanent && job.attemptsMade + 1 < attempts;
      summary.failed++;
      log({ type: 'job', status: willRetry ? 'retry' : 'failed', id, output: data?.output, code: e.code, message: e.message, attempt: job.attemptsMade + 1, attempts });
      await job
        .log(`${me.host}:${me.pid}: attempt ${job.attemptsMade + 1}/${attempts} failed (${e.code})${willRetry ? ', will retry' : ''}\n${formatError(e, false)}`)
        .catch(() => undefined);
      const reason = `${e.code}: ${e.message}`;
      throw permanent ? new UnrecoverableError(reason) : new Error(reason);
    } finally {
      active.delete(id);
      abortReasons.delete(id);
    }
  };

  const worker = new Worker(target.queueName, processor, {
    connection: redisConnection(target.redisUrl),
    concurrency: Math.max(1, options.concurrency ?? 1),
    lockDuration: options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
    stalledInterval: options.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
    maxStalledCount: 1,
    autorun: false,
    name: `${me.host}:${me.pid}`,
  });
  let lastErrorAt = 0;
  worker.on('error', (error) => {
    // connection trouble repeats every retry: say it at most every 10 s
    const now = Date.now();
    if (now - lastErrorAt < 10_000) return;
    lastErrorAt = now;
    log({ type: 'worker', status: 'error', message: (error as Error).message });
  });
  worker.on('lockRenewalFailed', (ids: string[]) => {
    for (const id of ids) {
      if (!active.has(id)) continue;
      abortReasons.set(id, 'lock-lost');
      worker.cancelJob(id, 'lock lost');
    }
  });

  const running = worker.run();
  await worker.waitUntilReady();
  log({
    type: 'worker',
    status: 'ready',
    queue: target.queueName,
    redis: redactRedisUrl(target.redisUrl),
    concurrency: worker.concurrency,
    hw: workerHw,
    host: me.host,
    pid: me.pid,
  });

  let graceTimer: NodeJS.Timeout | undefined;
  const shutdown = (): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    log({ type: 'worker', status: 'stopping', active: active.size, graceSeconds: graceMs / 1000 });
    graceTimer = setTimeout(() => {
      for (const id of active) {
        abortReasons.set(id, 'shutdown');
        worker.cancelJob(id, 'shutdown');
      }
    }, graceMs);
    void worker.close();
  };
  if (options.signal.aborted) shutdown();
  else options.signal.addEventListener('abort', shutdown, { once: true });

  try {
    await running;
    await worker.close();
  } finally {
    options.signal.removeEventListener('abort', shutdown);
    if (graceTimer) clearTimeout(graceTimer);
  }
  log({ type: 'worker', status: 'stopped', ...summary });
  return summary;
}
