import { ExitCode, isStreamkitError, type ExitCodeValue } from '../errors.js';

/**
 * The one retry policy of batch (`--retries N`, immediate) and of queue workers (`--attempts N`,
 * with backoff): which failed jobs are worth another attempt. It is decided by the error's exit code
 * class, so every error code is covered, including ones added later:
 *
 * - retried, exit code 1: the work failed on the way (ffmpeg failed, verification failed, the
 *   output folder could not be written, publishing failed), and errors that are not streamkit's own
 *   (a bug, an I/O error): another attempt may succeed.
 * - retried, exit code 4: ffmpeg, an encoder or a feature unavailable. The input and preset are
 *   fine; the machine was not: NVENC sessions taken by other processes, a GPU being reset, a
 *   queue worker without NVENC or with another ffmpeg (the retry may run on another worker).
 * - never retried, exit codes 2 and 3: usage, an invalid or missing preset, a destination that is
 *   not streamkit's to replace, a missing, unreadable or unusable input. The same job fails the same
 *   way; retrying only delays the report.
 * - never retried, 130: an interruption is a stop, not a failure (a queue worker hands such a job
 *   back instead).
 */

const RETRIED_EXIT_CODES: readonly ExitCodeValue[] = [ExitCode.failed, ExitCode.unavailable];

/** May another attempt of the same job succeed where this one failed? */
export function isRetryable(error: unknown): boolean {
  if (!isStreamkitError(error)) return true;
  return RETRIED_EXIT_CODES.includes(error.exitCode);
}

/** The complement, in the queue's words: a permanent failure fails the job at once (BullMQ UnrecoverableError). */
export function isPermanent(error: unknown): boolean {
  return !isRetryable(error);
}
