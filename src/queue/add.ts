import type { Queue } from 'bullmq';
import { buildJobs, DEFAULT_RETRY, JOB_NAME, jobAddOptions, type BuildJobOptions, type QueueJobData, type RetryPolicy } from './job.js';

/**
 * `streamkit queue add`: one job per input. The job id is derived from the job key and the
 * destination, so adding the same work twice is one job. What happens to a duplicate:
 * - waiting, delayed or active: left as it is (reported as a duplicate);
 * - completed or failed (BullMQ keeps finished jobs for a while, see KEEP_COMPLETED/KEEP_FAILED):
 *   left as it is unless `force`, which removes the old record and enqueues the job again, to be
 *   re-encoded even if its package is current. Without `force`, once the old record has expired,
 *   adding it again creates a job that a worker completes at once (its package is current).
 */

export type AddOutcome = 'added' | 'duplicate' | 'replaced';

export interface AddedJob {
  id: string;
  input: string;
  output: string;
  outcome: AddOutcome;
  /** state of the job that was already there (duplicates, replaced) */
  previousState: string | null;
}

export async function addJobs(queue: Queue<QueueJobData>, inputs: readonly string[], options: BuildJobOptions & { retry?: Partial<RetryPolicy> }): Promise<AddedJob[]> {
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const jobs = await buildJobs(inputs, options);
  const out: AddedJob[] = [];
  for (const job of jobs) {
    const state = await queue.getJobState(job.id);
    const base = { id: job.id, input: job.data.input, output: job.data.output };
    if (state !== 'unknown' && !(options.force && (state === 'completed' || state === 'failed'))) {
      out.push({ ...base, outcome: 'duplicate', previousState: state });
      continue;
    }
    if (state !== 'unknown') await queue.remove(job.id);
    await queue.add(JOB_NAME, job.data, jobAddOptions(job.id, retry));
    out.push({ ...base, outcome: state === 'unknown' ? 'added' : 'replaced', previousState: state === 'unknown' ? null : state });
  }
  return out;
}
