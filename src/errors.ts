/**
 * Typed errors. Every failure a user can cause or meet carries a stable `code`, the process exit code
 * the CLI maps it to, a one-sentence message, an optional hint, and the data needed to act on it.
 */

export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  input: 3,
  unavailable: 4,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'USAGE'
  | 'PRESET_INVALID'
  | 'PRESET_NOT_FOUND'
  | 'INPUT_MISSING'
  | 'INPUT_UNREADABLE'
  | 'INPUT_NOT_MEDIA'
  | 'INPUT_NO_VIDEO'
  | 'INPUT_REFUSED'
  | 'OUTPUT_EXISTS'
  | 'OUTPUT_UNWRITABLE'
  | 'NO_SPACE'
  | 'FFMPEG_NOT_FOUND'
  | 'ENCODER_UNAVAILABLE'
  | 'FEATURE_UNAVAILABLE'
  | 'FFMPEG_FAILED'
  | 'VERIFY_FAILED'
  | 'PUBLISH_FAILED'
  | 'JOB_FAILED'
  | 'INTERRUPTED';

const exitCodes: Record<ErrorCode, ExitCodeValue> = {
  USAGE: ExitCode.usage,
  PRESET_INVALID: ExitCode.usage,
  PRESET_NOT_FOUND: ExitCode.usage,
  INPUT_MISSING: ExitCode.input,
  INPUT_UNREADABLE: ExitCode.input,
  INPUT_NOT_MEDIA: ExitCode.input,
  INPUT_NO_VIDEO: ExitCode.input,
  INPUT_REFUSED: ExitCode.input,
  OUTPUT_EXISTS: ExitCode.usage,
  OUTPUT_UNWRITABLE: ExitCode.failed,
  NO_SPACE: ExitCode.failed,
  FFMPEG_NOT_FOUND: ExitCode.unavailable,
  ENCODER_UNAVAILABLE: ExitCode.unavailable,
  FEATURE_UNAVAILABLE: ExitCode.unavailable,
  FFMPEG_FAILED: ExitCode.failed,
  VERIFY_FAILED: ExitCode.failed,
  PUBLISH_FAILED: ExitCode.failed,
  JOB_FAILED: ExitCode.failed,
  INTERRUPTED: ExitCode.interrupted,
};

export interface StreamkitErrorOptions {
  hint?: string;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class StreamkitError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: StreamkitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StreamkitError';
    this.code = code;
    this.exitCode = exitCodes[code];
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, exitCode: this.exitCode, message: this.message, hint: this.hint, ...this.details };
  }
}

/** One problem in a preset file: where it is and what was expected. */
export interface PresetIssue {
  file: string;
  path: string;
  message: string;
}

export class PresetError extends StreamkitError {
  readonly issues: PresetIssue[];
  constructor(issues: PresetIssue[], options: StreamkitErrorOptions = {}) {
    const first = issues[0];
    const where = first ? `${first.file}: ${first.path || '(root)'}: ${first.message}` : 'invalid preset';
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    super('PRESET_INVALID', `Invalid preset ${where}${more}`, {
      ...options,
      details: { ...options.details, issues },
    });
    this.name = 'PresetError';
    this.issues = issues;
  }
}

/** ffmpeg (or ffprobe) ran and failed: carries the exact command and the tail of its stderr. */
export class FfmpegError extends StreamkitError {
  readonly command: string[];
  readonly ffmpegExitCode: number | null;
  readonly signal: string | null;
  readonly stderrTail: string[];
  constructor(message: string, data: { command: string[]; exitCode: number | null; signal?: string | null; stderrTail: string[] }, options: StreamkitErrorOptions = {}) {
    super('FFMPEG_FAILED', message, {
      ...options,
      details: {
        ...options.details,
        command: data.command,
        ffmpegExitCode: data.exitCode,
        signal: data.signal ?? null,
        stderrTail: data.stderrTail,
      },
    });
    this.name = 'FfmpegError';
    this.command = data.command;
    this.ffmpegExitCode = data.exitCode;
    this.signal = data.signal ?? null;
    this.stderrTail = data.stderrTail;
  }
}

export class InterruptedError extends StreamkitError {
  constructor(signal: string) {
    super('INTERRUPTED', `Interrupted by ${signal}; nothing was written to the destination.`, { details: { signal } });
    this.name = 'InterruptedError';
  }
}

export function isStreamkitError(error: unknown): error is StreamkitError {
  return error instanceof StreamkitError;
}

/** Keep the last `n` non-empty lines of a text (stderr tails shown to users). */
export function lastLines(text: string, n = 20): string[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.slice(-n);
}
