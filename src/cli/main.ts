import { existsSync, writeSync } from 'node:fs';
import type { CommanderError } from 'commander';
import { streamkitVersion } from '../version.js';
import { ExitCode, isStreamkitError, StreamkitError } from '../errors.js';
import { killAllNow } from '../ffmpeg/run.js';
import { discardAllSync } from '../package/atomic.js';
import { releaseAllLocksSync } from '../job/lock.js';
import { makeContext, type CliIo, type CommandContext, type GlobalOptions } from './context.js';
import { errorEvent, formatError, type OutputMode } from './reporter.js';

/**
 * The one place that turns errors into exit codes: 0 success, 1 encoding/packaging failed, 2 usage
 * or invalid preset, 3 input missing/unreadable/not media, 4 ffmpeg or encoder unavailable,
 * 130 interrupted.
 *
 * Cancellation: the first SIGINT/SIGTERM aborts the running command (ffmpeg is asked to stop with
 * SIGTERM, killed after a grace period, then the staging folder is removed and the process exits
 * 130). A second signal stops at once: every ffmpeg is SIGKILLed, the staging folders are removed
 * synchronously, exit 130. A closed stdout (`streamkit ... | head`) counts as an interruption too.
 */
export async function main(argv: readonly string[], partialIo: Partial<CliIo> = {}): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    // exactly what commander prints for the program's -V/--version option
    (partialIo.out ?? process.stdout).write(`${streamkitVersion()}\n`);
    return ExitCode.ok;
  }
  const controller = new AbortController();
  const io: CliIo = { out: process.stdout, err: process.stderr, env: process.env, signal: controller.signal, ...partialIo };
  let interrupts = 0;
  let mode: OutputMode | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts === 1) {
      controller.abort(sig);
      // the task list shows the interruption itself; elsewhere say what happens now (on stderr,
      // stdout stays machine-readable)
      if (mode !== 'tty' && mode !== 'quiet') io.err.write(`${sig}: ${io.stopNote ?? 'stopping ffmpeg and removing the temporary output'} (again to stop at once)...\n`);
      return;
    }
    // second Ctrl-C: at once. Kill first, then remove what the killed processes were writing.
    killAllNow();
    discardAllSync();
    releaseAllLocksSync();
    try {
      // fd 2 directly: listr2 may be holding process.stderr's writes while it renders
      writeSync(2, `\nerror: stopped at once by a second ${sig}; the temporary output was removed.\n`);
    } catch {
      /* stderr gone too */
    }
    process.exit(ExitCode.interrupted);
  };
  // `streamkit --json ... | head -1`: the reader went away. Stop the work (and clean up) rather
  // than crash on EPIPE with the staging folder left behind.
  let outBroken = false;
  const onOutError = (error: NodeJS.ErrnoException): void => {
    outBroken = true;
    if (!controller.signal.aborted) controller.abort(error.code === 'EPIPE' ? 'a closed stdout (EPIPE)' : `a stdout error (${error.code ?? error.message})`);
  };
  const ownSignals = partialIo.signal === undefined;
  if (ownSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  // stays attached: a write's EPIPE can arrive after main() has returned
  io.out.on('error', onOutError);
  const wantsJson = argv.includes('--json');
  let exitCode: number = ExitCode.ok;
  const run = async (action: (ctx: CommandContext) => Promise<void>, opts: GlobalOptions): Promise<void> => {
    if (io.env['NO_COLOR'] === undefined && opts.color === false) process.env['NO_COLOR'] = '1';
    const ctx = makeContext(opts, io);
    mode = ctx.mode;
    try {
      await action(ctx);
      await ctx.reporter.close();
    } catch (error) {
      const e =
        controller.signal.aborted && !(isStreamkitError(error) && error.code === 'INTERRUPTED')
          ? new StreamkitError('INTERRUPTED', `Interrupted by ${String(controller.signal.reason)}; nothing was written to the destination.`, { cause: error })
          : error;
      ctx.reporter.error(e, opts.verbose ?? false);
      // the reporter may have written the error to the stdout that just broke
      if (outBroken && ctx.mode === 'json') io.err.write(`${formatError(e, opts.verbose ?? false)}\n`);
      await ctx.reporter.close();
      exitCode = isStreamkitError(e) ? e.exitCode : ExitCode.failed;
    }
  };
  try {
    const { createProgram } = await import('./program.js');
    const program = createProgram(io, run);
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    const { CommanderError } = await import('commander');
    if (error instanceof CommanderError) {
      // help and version are "errors" commander throws under exitOverride; it has printed its text
      exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      if (exitCode !== ExitCode.ok) {
        const hint = usageHint(error);
        if (hint) io.err.write(`hint: ${hint}\n`);
        if (wantsJson) {
          const message = error.message.replace(/^error:\s*/, '');
          io.out.write(`${JSON.stringify({ time: new Date().toISOString(), type: 'error', code: 'USAGE', exitCode: ExitCode.usage, message, hint })}\n`);
        }
      }
    } else {
      if (wantsJson) io.out.write(`${JSON.stringify({ time: new Date().toISOString(), ...errorEvent(error) })}\n`);
      else io.err.write(`${formatError(error, argv.includes('--verbose') || argv.includes('-v'))}\n`);
      exitCode = isStreamkitError(error) ? error.exitCode : ExitCode.failed;
    }
  } finally {
    if (ownSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  return exitCode;
}

/** `streamkit transcode -y ...` where `-y` is a file: say how to name it. */
function usageHint(error: CommanderError): string | undefined {
  if (error.code !== 'commander.unknownOption') return undefined;
  const m = /'([^']+)'/.exec(error.message);
  const name = m?.[1];
  if (name && existsSync(name)) return `to read the file named ${name}, write ./${name} (or put it after --, e.g. streamkit transcode -p h264-ladder -- ${name})`;
  return undefined;
}
