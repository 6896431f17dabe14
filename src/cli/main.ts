import { ExitCode, isStreamkitError, StreamkitError } from '../errors.js';
import type { CliIo, CommandContext, GlobalOptions } from './context.js';
import { packageVersion } from './version.js';

// The program, its commands and the reporter (commander, execa, zod, yaml, listr2 and everything other
// commands register) are imported on first use, not at start-up: `streamkit --version` answers without
// loading them, and a command pays only for what it uses.

/**
 * The one place that turns errors into exit codes: 0 success, 1 encoding/packaging failed, 2 usage
 * or invalid preset, 3 input missing/unreadable/not media, 4 ffmpeg or encoder unavailable,
 * 130 interrupted.
 */
export async function main(argv: readonly string[], partialIo: Partial<CliIo> = {}): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    // exactly what commander prints for the program's -V/--version option
    (partialIo.out ?? process.stdout).write(`${packageVersion()}\n`);
    return ExitCode.ok;
  }
  const controller = new AbortController();
  const io: CliIo = { out: process.stdout, err: process.stderr, env: process.env, signal: controller.signal, ...partialIo };
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts === 1) controller.abort(sig);
    else process.exit(ExitCode.interrupted); // second Ctrl-C: at once (the exit hook kills ffmpeg)
  };
  const ownSignals = partialIo.signal === undefined;
  if (ownSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  let exitCode: number = ExitCode.ok;
  let ctxUsed: CommandContext | null = null;
  const run = async (action: (ctx: CommandContext) => Promise<void>, opts: GlobalOptions): Promise<void> => {
    if (io.env['NO_COLOR'] !== undefined || opts.color === false) process.env['FORCE_COLOR'] = '0';
    const { makeContext } = await import('./context.js');
    const ctx = makeContext(opts, io);
    ctxUsed = ctx;
    try {
      await action(ctx);
      await ctx.reporter.close();
    } catch (error) {
      const e = controller.signal.aborted && !(isStreamkitError(error) && error.code === 'INTERRUPTED')
        ? new StreamkitError('INTERRUPTED', `Interrupted by ${String(controller.signal.reason)}; nothing was written to the destination.`, { cause: error })
        : error;
      ctx.reporter.error(e, opts.verbose ?? false);
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
      // help and version are "errors" commander throws under exitOverride
      exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    } else {
      const wantsJson = argv.includes('--json');
      const { errorEvent, formatError } = await import('./reporter.js');
      if (wantsJson) io.out.write(`${JSON.stringify(errorEvent(error))}\n`);
      else io.err.write(`${formatError(error, argv.includes('--verbose') || argv.includes('-v'))}\n`);
      exitCode = isStreamkitError(error) ? error.exitCode : ExitCode.failed;
    }
  } finally {
    if (ownSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  void ctxUsed;
  return exitCode;
}
