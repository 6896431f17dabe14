import type { Job, Queue } from 'bullmq';
import type { QueueJobData, QueueJobProgress, QueueJobResult } from './job.js';

/** What `streamkit queue status` reports: the counts BullMQ keeps, and the jobs worth looking at. */

export interface QueueCounts {
  /** waiting to be taken (includes jobs of a paused queue) */
  waiting: number;
  active: number;
  /** waiting for their retry backoff to pass */
  delayed: number;
  completed: number;
  failed: number;
}

export interface JobSummary {
  id: string;
  input: string | null;
  output: string | null;
  preset: string | null;
  attemptsMade: number;
  attempts: number;
}

export interface ActiveJob extends JobSummary {
  startedAt: string | null;
  progress: QueueJobProgress | null;
}

export interface FailedJob extends JobSummary {
  /** the error code ("INPUT_NOT_MEDIA") when the reason starts with one */
  code: string | null;
  reason: string;
  finishedAt: string | null;
}

export interface DelayedJob extends JobSummary {
  /** when the next attempt may start */
  retryAt: string | null;
  /** why the last attempt failed */
  reason: string | null;
}

export interface CompletedJob extends JobSummary {
  finishedAt: string | null;
  result: QueueJobResult | null;
}

export interface QueueStatus {
  queue: string;
  paused: boolean;
  counts: QueueCounts;
  active: ActiveJob[];
  failed: FailedJob[];
  delayed: DelayedJob[];
  waiting: JobSummary[];
  completed: CompletedJob[];
}

function iso(ms: number | undefined | null): string | null {
  return ms ? new Date(ms).toISOString() : null;
}

function summary(job: Job): JobSummary {
  const d = (job.data ?? {}) as Partial<QueueJobData>;
  return {
    id: String(job.id),
    input: typeof d.input === 'string' ? d.input : null,
    output: typeof d.output === 'string' ? d.output : null,
    preset: typeof d.preset?.name === 'string' ? d.preset.name : null,
    attemptsMade: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
  };
}

export function splitReason(reason: string): { code: string | null; message: string } {
  const m = /^([A-Z][A-Z_]+): ([\s\S]*)$/.exec(reason);
  return m ? { code: m[1]!, message: m[2]! } : { code: null, message: reason };
}

function progressOf(job: Job): QueueJobProgress | null {
  const p = job.progress;
  return p && typeof p === 'object' && 'stage' in p ? (p as unknown as QueueJobProgress) : null;
}

/** BullMQ scores delayed jobs by (time to run) x 4096 + a counter. */
async function delayedUntil(queue: Queue, id: string): Promise<string | null> {
  const client = await queue.client;
  const score = await client.zscore(queue.keys['delayed']!, id);
  return score === null ? null : iso(Math.floor(Number(score) / 0x1000));
}

/** Counts and up to `limit` jobs of each interesting kind (newest first for finished ones). */
export async function queueStatus(queue: Queue, limit = 20): Promise<QueueStatus> {
  const end = Math.max(0, limit - 1);
  const [raw, paused, active, failed, delayed, waiting, completed] = await Promise.all([
    queue.getJobCounts('wait', 'paused', 'prioritized', 'active', 'delayed', 'completed', 'failed'),
    queue.isPaused(),
    queue.getActive(0, end),
    queue.getFailed(0, end),
    queue.getDelayed(0, end),
    queue.getWaiting(0, end),
    queue.getCompleted(0, end),
  ]);
  const n = (k: string): number => raw[k] ?? 0;
  const live = <T>(jobs: (T | undefined | null)[]): T[] => jobs.filter((j): j is T => j !== undefined && j !== null);
  return {
    queue: queue.name,
    paused,
    counts: { waiting: n('wait') + n('paused') + n('prioritized'), active: n('active'), delayed: n('delayed'), completed: n('completed'), failed: n('failed') },
    active: live(active as Job[]).map((j) => ({ ...summary(j), startedAt: iso(j.processedOn), progress: progressOf(j) })),
    failed: live(failed as Job[]).map((j) => {
      const reason = j.failedReason ?? '';
      return { ...summary(j), code: splitReason(reason).code, reason, finishedAt: iso(j.finishedOn) };
    }),
    delayed: await Promise.all(live(delayed as Job[]).map(async (j) => ({ ...summary(j), retryAt: await delayedUntil(queue, String(j.id)), reason: j.failedReason || null }))),
    waiting: live(waiting as Job[]).map(summary),
    completed: live(completed as Job[]).map((j) => ({ ...summary(j), finishedAt: iso(j.finishedOn), result: (j.returnvalue as QueueJobResult | null) ?? null })),
  };
}
