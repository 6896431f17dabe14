import type { HardwareRequest } from '../encoder/select.js';
import { isStreamkitError } from '../errors.js';
import type { TranscodeEvent } from '../events.js';
import { readManifest, type Manifest } from '../package/manifest.js';
import type { MediaInfo } from '../media/probe.js';
import type { ResolvedPreset } from '../preset/load.js';
import { transcode, type Toolchain } from '../transcode.js';
import { packageSize, packageState } from './current.js';
import { decideDestination, type DestinationDecision, type ExistingOutput } from './destination.js';
import { jobIdentity } from '../package/job-identity.js';
import { acquireLock, cleanLockLeftovers, type HeldLock } from './lock.js';
import { isRetryable } from './retry.js';
import { cleanStaleStaging } from './stale.js';

/**
 * One job's life, the same for `streamkit transcode`, `streamkit batch` and queue workers:
 *
 * 1. its key (identity.ts); an input that cannot be read fails the job;
 * 2. a current package at the destination: skipped, without taking any lock (`existing: 'update'`;
 *    `transcode` refuses whatever is there unless forced, at step 5);
 * 3. with `lock` (batch runs, which may overlap): the per-destination lock (lock.ts); held by a live
 *    process: skipped as locked. Under it the destination is judged again (another run may have
 *    just finished it);
 * 4. staging folders of dead processes for this destination are removed (stale.ts);
 * 5. the destination decision (destination.ts): create, replace, or refuse a folder that is not a
 *    streamkit package;
 * 6. transcode(), atomic; a failure the retry policy (retry.ts) retries is tried again at once, up
 *    to `retries` more times (queue workers pass none: BullMQ retries with backoff);
 * 7. one result: done, skipped (current or locked), failed (with whether it is retryable) or
 *    cancelled (the signal was aborted).
 */

export interface Job {
  /** absolute path or http(s) URL */
  input: string;
  /** absolute package folder */
  output: string;
  preset: ResolvedPreset;
  frameRate?: string | undefined;
  hw: HardwareRequest;
  /** sidecar subtitle files, `FILE[:LANG]` (transcode --subtitles) */
  subtitles?: readonly string[] | undefined;
  /** --per-title / --no-per-title; absent: the preset decides (part of the job key when given) */
  perTitle?: boolean | undefined;
  /** libvmaf's `vmaf` tool for the per-title analysis (--vmaf) */
  vmaf?: string | undefined;
  /** redo even a current package, and replace a destination that is not a streamkit package */
  force: boolean;
  /** what is at the destination: judged (`update`, the default: batch and the queue) or refused unless forced (`refuse`: transcode) */
  existing?: ExistingOutput | undefined;
}

export interface RunJobOptions {
  toolchain?: Toolchain | undefined;
  /** the input, already being probed with the toolchain's ffprobe (pipeline/probe.ts SourceOptions.probed), for the first attempt */
  probed?: Promise<MediaInfo> | undefined;
  /** aborted = stop: ffmpeg is stopped, staging removed, the result is `cancelled` */
  signal?: AbortSignal | undefined;
  /** further attempts, at once, after a failure the retry policy retries; default 0 */
  retries?: number | undefined;
  /** take the per-destination lock, saying who holds it */
  lock?: { what: string } | undefined;
  /** the hint for an input that cannot be found (where inputs must be) */
  inputHint?: string | undefined;
  onEvent?: ((event: JobEvent) => void) | undefined;
}

export type JobEvent =
  /** staging folders of dead processes removed (and their orphaned ffmpeg killed) */
  | { type: 'cleanup'; removed: string[]; killed: number[] }
  /** the encode starts; `why`: new, or why the destination is replaced */
  | { type: 'start'; why: string }
  /** attempt `attempt` starts after `error` */
  | { type: 'retry'; attempt: number; error: unknown }
  | { type: 'transcode'; event: TranscodeEvent };

export type JobResult = {
  /** encode attempts made (0 when none started) */
  attempts: number;
  elapsedSeconds: number;
} & (
  | { status: 'done'; output: string; master: string | null; sizeBytes: number | null; durationSeconds: number | null; speed: number | null }
  | { status: 'skipped'; skip: 'current' | 'locked'; reason: string; sizeBytes: number | null }
  | { status: 'failed'; error: unknown; retryable: boolean }
  | { status: 'cancelled'; error: unknown }
);

type Outcome = JobResult extends infer R ? (R extends unknown ? Omit<R, 'attempts' | 'elapsedSeconds'> : never) : never;

export async function runJob(job: Job, options: RunJobOptions = {}): Promise<JobResult> {
  const started = performance.now();
  const { signal } = options;
  const emit = (e: JobEvent): void => options.onEvent?.(e);
  let attempts = 0;
  const end = (o: Outcome): JobResult => ({ ...o, attempts, elapsedSeconds: (performance.now() - started) / 1000 }) as JobResult;
  const failed = (error: unknown): JobResult => end({ status: 'failed', error, retryable: isRetryable(error) });
  const cancelled = (error: unknown = null): JobResult => end({ status: 'cancelled', error });
  const current = (manifest: Manifest, reason?: string): JobResult =>
    end({ status: 'skipped', skip: 'current', reason: reason ?? `up to date (made ${manifest.createdAt})`, sizeBytes: packageSize(manifest) });

  let key: string;
  try {
    key = (await jobIdentity(job.input, job.preset.preset, job, options.inputHint)).key;
  } catch (error) {
    return failed(error);
  }
  const existing = job.existing ?? 'update';
  // cheap check first: a current package needs no lock
  if (!job.force && existing === 'update') {
    const there = await packageState(job.output, key).catch(() => null);
    if (there?.state === 'current') return current(there.manifest);
  }
  if (signal?.aborted) return cancelled();

  let lock: HeldLock | null = null;
  if (options.lock) {
    try {
      const attempt = await acquireLock(job.output, { what: options.lock.what });
      if (!attempt.acquired) return end({ status: 'skipped', skip: 'locked', reason: attempt.reason, sizeBytes: null });
      lock = attempt.lock;
    } catch (error) {
      return failed(error);
    }
  }
  try {
    let decision: DestinationDecision = decideDestination(job.output, await packageState(job.output, key), job.force, existing);
    if (decision.action === 'skip') return current(decision.manifest);
    const stale = await cleanStaleStaging(job.output);
    if (lock) await cleanLockLeftovers(lock);
    if (stale.removed.length > 0) emit({ type: 'cleanup', ...stale });
    if (decision.action === 'refuse') return failed(decision.error);
    if (signal?.aborted) return cancelled();
    emit({ type: 'start', why: decision.why });

    for (;;) {
      attempts++;
      let duration: number | null = null;
      try {
        const result = await transcode({
          input: job.input,
          preset: job.preset,
          output: job.output,
          force: decision.action === 'replace',
          frameRate: job.frameRate,
          hw: job.hw,
          ...(job.subtitles?.length ? { subtitles: job.subtitles } : {}),
          ...(job.perTitle !== undefined ? { perTitle: job.perTitle } : {}),
          ...(job.vmaf ? { vmaf: job.vmaf } : {}),
          ...(options.toolchain ? { toolchain: options.toolchain } : {}),
          // the probe already started is for the first attempt; a retry probes again
          ...(options.probed && attempts === 1 ? { probed: options.probed } : {}),
          ...(signal ? { signal } : {}),
          onEvent: (e) => {
            if (e.type === 'progress') duration = e.durationSeconds;
            emit({ type: 'transcode', event: e });
          },
        });
        // an orphaned encoder of a dead process may have recreated its folder meanwhile
        await cleanStaleStaging(job.output).catch(() => undefined);
        const manifest = await readManifest(result.output);
        const d = duration as number | null;
        return end({
          status: 'done',
          output: result.output,
          master: result.master,
          sizeBytes: manifest ? packageSize(manifest) : null,
          durationSeconds: d,
          speed: d !== null && result.elapsedSeconds > 0 ? d / result.elapsedSeconds : null,
        });
      } catch (error) {
        if (signal?.aborted) return cancelled(error);
        const there = await packageState(job.output, key).catch(() => null);
        // another process committed this very package meanwhile (a queue worker that lost its job lock and went on)
        if (existing === 'update' && there?.state === 'current' && isStreamkitError(error) && error.code === 'OUTPUT_EXISTS')
          return current(there.manifest, 'completed by another run meanwhile');
        if (attempts > (options.retries ?? 0) || !isRetryable(error)) return failed(error);
        emit({ type: 'retry', attempt: attempts + 1, error });
        // what is at the destination may have changed meanwhile (another tool): decide again
        if (there) decision = decideDestination(job.output, there, job.force, existing);
        if (decision.action === 'skip') return current(decision.manifest);
        if (decision.action === 'refuse') return failed(decision.error);
      }
    }
  } catch (error) {
    return signal?.aborted ? cancelled(error) : failed(error);
  } finally {
    await lock?.release().catch(() => undefined);
  }
}
