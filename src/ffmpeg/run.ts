/**
 * The ONE module that starts processes. Everything else builds argv arrays (no shell, ever) and
 * calls these functions. Output is streamed: stderr keeps a bounded tail, progress is parsed as it
 * arrives, nothing grows with the length of the input.
 */
import { execa, type ResultPromise } from 'execa';
import { FfmpegError, InterruptedError, StreamkitError, lastLines } from '../errors.js';
import { ProgressParser, type ProgressSnapshot } from './progress.js';

export interface CaptureResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Run a short command and capture its output (probing: ffprobe, `ffmpeg -encoders`, trial encodes). */
export async function runCapture(
  file: string,
  args: readonly string[],
  options: { timeoutMs?: number; signal?: AbortSignal; maxBuffer?: number } = {},
): Promise<CaptureResult> {
  try {
    const result = await execa(file, args, {
      reject: false,
      stdin: 'ignore',
      timeout: options.timeoutMs ?? 60_000,
      cancelSignal: options.signal,
      maxBuffer: options.maxBuffer ?? 64 * 1024 * 1024,
      encoding: 'utf8',
      stripFinalNewline: false,
    });
    if (result.isCanceled) throw new InterruptedError('cancellation');
    if (result.failed && result.exitCode === undefined) {
      const code = (result.cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT' || code === 'EACCES') {
        throw new StreamkitError('FFMPEG_NOT_FOUND', `Cannot run ${file}: ${code === 'ENOENT' ? 'no such file' : 'permission denied'}.`, {
          hint: 'Install ffmpeg (e.g. `apt-get install ffmpeg`) or point --ffmpeg/--ffprobe or STREAMKIT_FFMPEG/STREAMKIT_FFPROBE at a working binary.',
          details: { binary: file },
        });
      }
      if (result.timedOut) {
        throw new FfmpegError(`${file} did not finish within ${(options.timeoutMs ?? 60_000) / 1000} s.`, {
          command: [file, ...args],
          exitCode: null,
          signal: result.signal ?? null,
          stderrTail: lastLines(String(result.stderr ?? '')),
        });
      }
    }
    return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode: result.exitCode ?? -1 };
  } catch (error) {
    if (error instanceof StreamkitError) throw error;
    throw new StreamkitError('FFMPEG_NOT_FOUND', `Cannot run ${file}: ${(error as Error).message}`, { details: { binary: file }, cause: error });
  }
}

export interface RunFfmpegOptions {
  /** called for each completed -progress block */
  onProgress?: (snapshot: ProgressSnapshot) => void;
  /** called for each stderr line (warnings at -loglevel warning) */
  onStderrLine?: (line: string) => void;
  /** aborting asks ffmpeg to stop (SIGTERM, so it closes its files), then kills it after graceMs */
  signal?: AbortSignal;
  graceMs?: number;
  /** how many stderr lines to keep for error reports */
  tailLines?: number;
  /** a short description for error messages, e.g. "encoding the ladder" */
  what?: string;
}

export interface RunFfmpegResult {
  /** last progress snapshot seen */
  last: ProgressSnapshot | null;
  stderrTail: string[];
}

/** Processes started by runFfmpeg and not yet exited: killed if streamkit itself exits. */
const live = new Set<ResultPromise>();
process.once('exit', () => killAllNow());

export function liveProcessCount(): number {
  return live.size;
}

/** SIGKILL every process runFfmpeg started that is still running (second Ctrl-C, process exit). */
export function killAllNow(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** What runFfmpeg puts before the caller's argv. */
export const ffmpegCommandPrefix: readonly string[] = ['-hide_banner', '-nostdin', '-nostats', '-progress', 'pipe:1'];

/**
 * Run ffmpeg with `-progress pipe:1` inserted at the front: stdout carries only key=value progress
 * blocks, stderr the log. The caller's argv must not write to stdout.
 */
export async function runFfmpeg(ffmpeg: string, args: readonly string[], options: RunFfmpegOptions = {}): Promise<RunFfmpegResult> {
  const argv = [...ffmpegCommandPrefix, ...args];
  const command = [ffmpeg, ...argv];
  const tailMax = options.tailLines ?? 20;
  const tail: string[] = [];
  let last: ProgressSnapshot | null = null;
  let stopping: string | null = null;

  if (options.signal?.aborted) throw new InterruptedError(String(options.signal.reason ?? 'cancellation'));

  const child = execa(ffmpeg, argv, {
    reject: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    encoding: 'utf8',
    // we manage termination ourselves so ffmpeg gets a chance to close its outputs
    forceKillAfterDelay: false,
    cleanup: true,
  });
  live.add(child);

  const parser = new ProgressParser();
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    for (const snap of parser.push(chunk)) {
      // once asked to stop, ffmpeg still writes a final `progress=end` block: not real progress
      if (stopping) continue;
      last = snap;
      options.onProgress?.(snap);
    }
  });
  let partial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split(/\r?\n|\r/);
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > tailMax) tail.shift();
      options.onStderrLine?.(line);
    }
  });

  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    if (stopping) {
      child.kill('SIGKILL');
      return;
    }
    stopping = String(options.signal?.reason ?? 'cancellation');
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), options.graceMs ?? 3000);
    killTimer.unref();
  };
  options.signal?.addEventListener('abort', onAbort);

  try {
    const result = await child;
    if (partial.trim() !== '') {
      tail.push(partial);
      if (tail.length > tailMax) tail.shift();
    }
    if (stopping) throw new InterruptedError(stopping);
    const exitCode = result.exitCode ?? null;
    if (exitCode !== 0) {
      const cause = (result.cause as NodeJS.ErrnoException | undefined)?.code;
      if (cause === 'ENOENT' || cause === 'EACCES') {
        throw new StreamkitError('FFMPEG_NOT_FOUND', `Cannot run ${ffmpeg}: ${cause === 'ENOENT' ? 'no such file' : 'permission denied'}.`, {
          hint: 'Install ffmpeg or point --ffmpeg / STREAMKIT_FFMPEG at a working binary.',
          details: { binary: ffmpeg },
        });
      }
      const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${exitCode}`;
      throw new FfmpegError(`ffmpeg ${how} while ${options.what ?? 'running'}.`, {
        command,
        exitCode,
        signal: result.signal ?? null,
        stderrTail: [...tail],
      }, { hint: 'The command and the last lines of ffmpeg\'s log are shown above.' });
    }
    return { last, stderrTail: [...tail] };
  } finally {
    live.delete(child);
    if (killTimer) clearTimeout(killTimer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
