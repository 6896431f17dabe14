import { createReporter, chooseMode, type Reporter, type OutputMode } from './reporter.js';

/** Options every command shares, and what a command needs from its surroundings. */
export interface GlobalOptions {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
  ffmpeg?: string;
  ffprobe?: string;
}

export interface CliIo {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** set by main(): aborted on SIGINT/SIGTERM */
  signal: AbortSignal;
  /** what main() says on stderr when the first SIGINT/SIGTERM arrives (default: ffmpeg is stopped, the staging folder removed); a command that does something else sets it */
  stopNote?: string;
}

export interface CommandContext {
  opts: GlobalOptions;
  mode: OutputMode;
  reporter: Reporter;
  io: CliIo;
}

export function makeContext(opts: GlobalOptions, io: CliIo): CommandContext {
  const mode = chooseMode(opts, io.out as NodeJS.WriteStream, io.env);
  return { opts, mode, reporter: createReporter(mode, { out: io.out, err: io.err, verbose: opts.verbose ?? false }), io };
}
