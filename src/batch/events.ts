import type { StageName } from '../events.js';
/**
 * What `runBatch` reports, in order of a job's life. The CLI renders them (progress bar and running
 * jobs in a terminal, lines in CI, NDJSON with --json); library users get them through `onEvent`.
 * `id` is the job's 1-based position in the batch.
 */

export type JobStatus = 'done' | 'skipped' | 'failed' | 'cancelled';

export interface JobError {
  code: string;
  message: string;
  hint?: string | undefined;
  /** the last lines ffmpeg wrote, for ffmpeg failures */
  stderrTail?: string[] | undefined;
}

export interface BatchJobResult {
  id: number;
  input: string;
  output: string;
  preset: string;
  status: JobStatus;
  /** skipped: why (current / locked); failed: the error message; cancelled: interrupted / fail-fast */
  reason: string | null;
  /** skipped jobs: which kind */
  skip?: 'current' | 'locked' | undefined;
  error?: JobError | undefined;
  /** encode attempts made (0 for skipped and never-started jobs) */
  attempts: number;
  elapsedSeconds: number | null;
  /** the input's duration, when it was encoded */
  durationSeconds: number | null;
  /** input duration / elapsed time (x realtime) */
  speed: number | null;
  /** total size of the package's files (from its manifest), for done and current jobs */
  sizeBytes: number | null;
}

export interface BatchSummary {
  startedAt: string;
  finishedAt: string;
  elapsedSeconds: number;
  concurrency: number;
  counts: { total: number; done: number; skipped: number; failed: number; cancelled: number };
  /** why the batch stopped before running every job, if it did */
  stopped: 'interrupted' | 'fail-fast' | null;
  jobs: BatchJobResult[];
}

export type BatchEvent =
  | { type: 'batch-start'; jobs: number; concurrency: number; force: boolean; retries: number; empty: string[] }
  | { type: 'job-start'; id: number; input: string; output: string; preset: string; why: string }
  | { type: 'job-stage'; id: number; stage: StageName; status: 'start' | 'done' }
  | {
      type: 'job-progress';
      id: number;
      percent: number | null;
      outTimeSeconds: number | null;
      durationSeconds: number | null;
      fps: number | null;
      speed: number | null;
      etaSeconds: number | null;
    }
  | { type: 'job-warning'; id: number; message: string }
  | { type: 'job-retry'; id: number; attempt: number; error: JobError }
  | ({ type: 'job-done' } & BatchJobResult)
  | ({ type: 'job-skipped' } & BatchJobResult)
  | ({ type: 'job-failed' } & BatchJobResult)
  | ({ type: 'job-cancelled' } & BatchJobResult)
  | ({ type: 'summary' } & BatchSummary);

export type BatchEventSink = (event: BatchEvent) => void;
