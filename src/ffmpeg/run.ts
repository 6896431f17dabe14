/**
 * The ONE module that starts processes. Everything else builds argv arrays (no shell, ever) and
 * calls these functions. Output is streamed: stderr keeps a bounded tail, progress is parsed as it
 * arrives, nothing grows with the length of the input.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { FfmpegError, InterruptedError, StreamkitError, lastLines } from '../errors.js';
import { ProgressParser, type ProgressSnapshot } from './progress.js';

export interface CaptureResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Run a short command and capture its output (probing: ffprobe, `ffmpeg -encoders`, trial encodes). */
export async function runCapture(file: string, args: readonly string[], options: { timeoutMs?: number; signal?: AbortSignal; maxBuffer?: number } = {}): Promise<CaptureResult> {
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
  /**
   * Applied to everything that leaves this function as text: the command in errors, stderr lines
   * (tail and onStderrLine). For secrets in the argv, e.g. an RTMP stream key.
   */
  redact?: (text: string) => string;
  /** working folder of the process (relative output paths are resolved against it) */
  cwd?: string;
}

export interface RunFfmpegResult {
  /** last progress snapshot seen */
  last: ProgressSnapshot | null;
  stderrTail: string[];
}

/** Processes started by runFfmpeg and not yet exited: killed if streamkit itself exits. */
const live = new Set<ResultPromise>();
process.once('exit', () => killAllNow());

/** SIGKILL every process runFfmpeg started that is still running (second Ctrl-C, process exit). */
export function killAllNow(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** What runFfmpeg puts before the caller's argv. */
export const ffmpegCommandPrefix: readonly string[] = ['-hide_banner', '-nostdin', '-nostats', '-progress', 'pipe:1'];

/**
 * On Linux, ffmpeg is started through util-linux `setpriv --pdeathsig KILL`, so the kernel kills it
 * when streamkit dies in a way no exit hook sees (SIGKILL, OOM killer): no orphaned ffmpeg keeps
 * encoding into a staging folder that nobody will commit. setpriv sets the signal and then execs
 * ffmpeg in the same process (same pid, so stopping and exit codes are unchanged). Where setpriv is
 * missing or too old (--pdeathsig needs util-linux 2.33), ffmpeg is started directly and only the
 * exit hook above covers it. STREAMKIT_NO_PDEATHSIG=1 turns the wrapper off.
 */
let deathSignalProbe: Promise<string | null> | null = null;
function deathSignalWrapper(): Promise<string | null> {
  deathSignalProbe ??= (async () => {
    if (process.platform !== 'linux' || (process.env['STREAMKIT_NO_PDEATHSIG'] ?? '') !== '') return null;
    const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
    if (!setpriv) return null;
    try {
      const r = await execa(setpriv, ['--help'], { reject: false, stdin: 'ignore', timeout: 5000, encoding: 'utf8' });
      return r.exitCode === 0 && String(r.stdout).includes('--pdeathsig') ? setpriv : null;
    } catch {
      return null;
    }
  })();
  return deathSignalProbe;
}

/**
 * Look for the setpriv wrapper now (the answer is kept for the process), so that the first ffmpeg
 * run does not wait for `setpriv --help` (about 30 ms between the probe and the encode).
 */
export function prepareFfmpegRuns(): void {
  void deathSignalWrapper();
}

/**
 * Run ffmpeg with `-progress pipe:1` inserted at the front: stdout carries only key=value progress
 * blocks, stderr the log. The caller's argv must not write to stdout.
 */
export async function runFfmpeg(ffmpegPath: string, args: readonly string[], options: RunFfmpegOptions = {}): Promise<RunFfmpegResult> {
  // a relative binary (--ffmpeg ./bin/ffmpeg) means relative to where streamkit runs, not to options.cwd
  const ffmpeg = options.cwd && /[\\/]/.test(ffmpegPath) && !isAbsolute(ffmpegPath) ? resolve(ffmpegPath) : ffmpegPath;
  const argv = [...ffmpegCommandPrefix, ...args];
  const redact = options.redact ?? ((text: string): string => text);
  const command = [ffmpeg, ...argv].map(redact);
  const tailMax = options.tailLines ?? 20;
  const tail: string[] = [];
  let last: ProgressSnapshot | null = null;
  let stopping: string | null = null;

  if (options.signal?.aborted) throw new InterruptedError(String(options.signal.reason ?? 'cancellation'));

  const wrapper = await deathSignalWrapper();
  const child = execa(wrapper ?? ffmpeg, wrapper ? ['--pdeathsig', 'KILL', '--', ffmpeg, ...argv] : argv, {
    reject: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    encoding: 'utf8',
    // we manage termination ourselves so ffmpeg gets a chance to close its outputs
    forceKillAfterDelay: false,
    cleanup: true,
    ...(options.cwd ? { cwd: options.cwd } : {}),
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
    for (const raw of lines) {
      if (raw.trim() === '') continue;
      const line = redact(raw);
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
      tail.push(redact(partial));
      if (tail.length > tailMax) tail.shift();
    }
    if (stopping) throw new InterruptedError(stopping);
    const exitCode = result.exitCode ?? null;
    if (exitCode !== 0) {
      let cause = (result.cause as NodeJS.ErrnoException | undefined)?.code;
      // setpriv could not exec ffmpeg (126: not executable, 127: not found)
      if (wrapper && (exitCode === 126 || exitCode === 127) && tail.some((l) => l.startsWith('setpriv: failed to execute'))) cause = exitCode === 127 ? 'ENOENT' : 'EACCES';
      if (cause === 'ENOENT' || cause === 'EACCES') {
        throw new StreamkitError('FFMPEG_NOT_FOUND', `Cannot run ${ffmpeg}: ${cause === 'ENOENT' ? 'no such file' : 'permission denied'}.`, {
          hint: 'Install ffmpeg or point --ffmpeg / STREAMKIT_FFMPEG at a working binary.',
          details: { binary: ffmpeg },
        });
      }
      const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${exitCode}`;
      throw new FfmpegError(
        `ffmpeg ${how} while ${options.what ?? 'running'}.`,
        {
          command,
          exitCode,
          signal: result.signal ?? null,
          stderrTail: [...tail],
        },
        { hint: "The command and the last lines of ffmpeg's log are shown above." },
      );
    }
    return { last, stderrTail: [...tail] };
  } finally {
    live.delete(child);
    if (killTimer) clearTimeout(killTimer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Processes that talk through named pipes in `dir`: `count` pipes are made, `build` gets their paths
 * and returns every process (the VMAF tools reading y4m from one reference producer and one
 * producer per distorted video). Named pipes, not Node's stdio: Node gives children sockets, which a
 * tool cannot open by path (/dev/fd/N). Each process starts through the same death-signal wrapper as
 * ffmpeg; the first one to fail stops the others (a reader or writer blocked opening a pipe whose
 * other end died would wait forever) and is the one reported. Resolves with every process' output,
 * in order; the pipes are removed.
 */
export async function runWithFifos(
  dir: string,
  count: number,
  build: (fifos: string[]) => { file: string; args: string[] }[],
  options: { signal?: AbortSignal | undefined; what: string; timeoutMs?: number },
): Promise<CaptureResult[]> {
  const tag = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const fifos = Array.from({ length: count }, (_, i) => join(dir, `pipe-${tag}-${i}.y4m`));
  const made = await runCapture('mkfifo', ['-m', '600', ...fifos], { timeoutMs: 10_000 });
  if (made.exitCode !== 0) throw new StreamkitError('FEATURE_UNAVAILABLE', `Cannot make named pipes for ${options.what}: ${made.stderr.trim()}`, { details: { dir } });
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const wrapper = await deathSignalWrapper();
  const start = (file: string, args: string[]) => {
    const child = execa(wrapper ?? file, wrapper ? ['--pdeathsig', 'KILL', '--', file, ...args] : args, {
      reject: false,
      stdin: 'ignore',
      encoding: 'utf8',
      cancelSignal: signal,
      forceKillAfterDelay: 1000,
      timeout: options.timeoutMs ?? 30 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
      cleanup: true,
    });
    live.add(child);
    return child;
  };
  let runs: { file: string; args: string[] }[];
  try {
    runs = build(fifos);
  } catch (error) {
    for (const f of fifos) await rm(f, { force: true });
    throw error;
  }
  const children = runs.map((r) => start(r.file, r.args));
  // in the order they failed: the first is the cause, the others its consequences (a broken pipe)
  const failures: number[] = [];
  try {
    const results = await Promise.all(
      children.map(async (c, i) => {
        const r = await c;
        // a failure ends the others: nobody is left blocked on a pipe
        if (r.exitCode !== 0) {
          failures.push(i);
          stop.abort('another process of the pipeline failed');
        }
        return r;
      }),
    );
    if (options.signal?.aborted) throw new InterruptedError(String(options.signal.reason ?? 'cancellation'));
    const shown = failures[0] ?? -1;
    if (shown >= 0) {
      const r = results[shown]!;
      const cause = (r.cause as NodeJS.ErrnoException | undefined)?.code;
      if (cause === 'ENOENT' || cause === 'EACCES') {
        throw new StreamkitError('FFMPEG_NOT_FOUND', `Cannot run ${runs[shown]!.file}: ${cause === 'ENOENT' ? 'no such file' : 'permission denied'}.`, {
          details: { binary: runs[shown]!.file },
        });
      }
      throw new FfmpegError(`${runs[shown]!.file} ${r.signal ? `was killed by ${r.signal}` : `exited with code ${String(r.exitCode)}`} while ${options.what}.`, {
        command: [runs[shown]!.file, ...runs[shown]!.args],
        exitCode: r.exitCode ?? null,
        signal: r.signal ?? null,
        stderrTail: lastLines(String(r.stderr ?? '')),
      });
    }
    return results.map((c) => ({ stdout: String(c.stdout ?? ''), stderr: String(c.stderr ?? ''), exitCode: c.exitCode ?? -1 }));
  } finally {
    for (const c of children) live.delete(c);
    for (const f of fifos) await rm(f, { force: true });
  }
}
