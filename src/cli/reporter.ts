import type { ListrTaskWrapper, ListrDefaultRenderer, ListrSimpleRenderer } from 'listr2';
import { isStreamkitError, StreamkitError, FfmpegError } from '../errors.js';
import type { TranscodeEvent } from '../events.js';
import { shellQuote } from '../ffmpeg/shell-quote.js';
import { bytes, kbps, progressLine } from './format.js';

/**
 * How a command talks to its audience:
 * - tty: a listr2 task list (probe, one encode task per rung, packaging, verification)
 * - plain: timestamped lines for CI logs, no ANSI, throttled (every 10% or 15 s)
 * - json: newline-delimited JSON events on stdout and nothing else there
 * - quiet: errors only
 */
export type OutputMode = 'tty' | 'plain' | 'json' | 'quiet';

export interface Reporter {
  event(e: TranscodeEvent | { type: string; [k: string]: unknown }): void;
  /** print a final human summary line (not in json/quiet) */
  info(line: string): void;
  error(error: unknown, verbose: boolean): void;
  close(): Promise<void>;
}

export function chooseMode(opts: { json?: boolean; quiet?: boolean }, stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): OutputMode {
  if (opts.json) return 'json';
  if (opts.quiet) return 'quiet';
  if (!stream.isTTY || (env['CI'] !== undefined && env['CI'] !== '' && env['CI'] !== 'false')) return 'plain';
  return 'tty';
}

/** Human error text: one sentence, a hint, the ffmpeg command and stderr tail for ffmpeg failures. */
export function formatError(error: unknown, verbose: boolean): string {
  if (!isStreamkitError(error)) {
    const e = error as Error;
    return `error: ${e?.message ?? String(error)}\n${verbose && e?.stack ? e.stack : 'hint: this looks like a bug in streamkit; rerun with --verbose and report it'}`;
  }
  const lines = [`error: ${error.message}`];
  if (error.details['issues'] && Array.isArray(error.details['issues']) && error.details['issues'].length > 1) {
    for (const i of error.details['issues'] as { file: string; path: string; message: string }[]) lines.push(`  ${i.file}: ${i.path}: ${i.message}`);
  }
  if (error instanceof FfmpegError || Array.isArray(error.details['command'])) {
    const command = (error instanceof FfmpegError ? error.command : (error.details['command'] as string[])) ?? [];
    if (command.length > 0) lines.push(`command: ${shellQuote(command)}`);
    const tail = (error instanceof FfmpegError ? error.stderrTail : (error.details['stderrTail'] as string[] | undefined)) ?? [];
    if (tail.length > 0) lines.push('ffmpeg said:', ...tail.map((l) => `  ${l}`));
  } else if (Array.isArray(error.details['stderrTail']) && (error.details['stderrTail'] as string[]).length > 0) {
    lines.push('ffmpeg said:', ...(error.details['stderrTail'] as string[]).map((l) => `  ${l}`));
  }
  if (error.hint) lines.push(`hint: ${error.hint}`);
  if (verbose && error.stack) lines.push(error.stack);
  return lines.join('\n');
}

export function errorEvent(error: unknown): Record<string, unknown> {
  if (isStreamkitError(error)) return { type: 'error', ...error.toJSON() };
  return { type: 'error', code: 'INTERNAL', exitCode: 1, message: (error as Error)?.message ?? String(error) };
}

function jsonReporter(out: NodeJS.WritableStream): Reporter {
  return {
    event: (e) => out.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`),
    info: () => undefined,
    error: (error) => out.write(`${JSON.stringify({ time: new Date().toISOString(), ...errorEvent(error) })}\n`),
    close: async () => undefined,
  };
}

function plainReporter(out: NodeJS.WritableStream, err: NodeJS.WritableStream, quiet: boolean): Reporter {
  let lastPct = -Infinity;
  let lastAt = 0;
  const say = (line: string): void => {
    if (!quiet) out.write(`[${new Date().toISOString()}] ${line}\n`);
  };
  return {
    event(e) {
      const ev = e as TranscodeEvent;
      switch (ev.type) {
        case 'start':
          say(`start ${ev.input} -> ${ev.output} (preset ${ev.preset}, ${ev.encoder} on ${ev.hardware}: ${ev.hardwareReason}; ffmpeg ${ev.ffmpeg.version})`);
          say(`ladder @ ${ev.frameRate} fps: ${ev.ladder.map((r) => `${r.name} ${r.width}x${r.height} ${kbps(r.bitrate)}`).join(', ')}`);
          break;
        case 'stage':
          if (ev.status === 'start') say(`${ev.stage}...`);
          break;
        case 'progress': {
          const now = Date.now();
          const pct = ev.percent ?? -1;
          if (pct >= lastPct + 10 || now - lastAt >= 15_000 || (ev.percent === 100 && lastPct < 100)) {
            lastPct = pct >= 0 ? Math.floor(pct / 10) * 10 : lastPct;
            lastAt = now;
            say(`encode ${progressLine(ev)}`);
          }
          break;
        }
        case 'rung':
          say(`rung ${ev.name} ${ev.width}x${ev.height} ${ev.codecs.join(',')} BANDWIDTH ${kbps(ev.bandwidth)} AVERAGE ${kbps(ev.averageBandwidth)} ${bytes(ev.sizeBytes)}`);
          break;
        case 'warning':
          say(`note: ${ev.message}`);
          break;
        case 'done':
          say(`done in ${ev.elapsedSeconds.toFixed(1)} s: ${ev.master} (${bytes(ev.sizeBytes)})`);
          break;
        default:
          say(Object.entries(e).filter(([k]) => k !== 'type').map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ').replace(/^/, `${(e as { type: string }).type} `));
      }
    },
    info: (line) => {
      if (!quiet) out.write(`${line}\n`);
    },
    error: (error, verbose) => err.write(`${formatError(error, verbose)}\n`),
    close: async () => undefined,
  };
}

type Gate = { resolve: () => void; reject: (e: unknown) => void; promise: Promise<void> };
function gate(): Gate {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { resolve, reject, promise };
}

/** listr2 list driven by events: each stage is a task whose promise settles on the stage's events. */
function ttyReporter(err: NodeJS.WritableStream): Reporter {
  const stages = ['probe', 'encode', 'package', 'verify', 'commit'] as const;
  const gates = Object.fromEntries(stages.map((s) => [s, gate()])) as Record<(typeof stages)[number], Gate>;
  const started = gate();
  let ladder: { name: string; width: number; height: number }[] = [];
  let encodeTasks: ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>[] = [];
  let current: (typeof stages)[number] = 'probe';
  let failed = false;
  const lines: string[] = [];
  // listr2 is loaded only here, for terminals: json, plain and quiet runs never pay for its import;
  // events that arrive before it is loaded only settle gates, which the tasks read when they run
  const running = import('listr2').then(({ Listr }) => new Listr(
    [
      { title: 'Probe input, preset and ffmpeg', task: () => gates.probe.promise },
      {
        title: 'Encode',
        task: async (_ctx, task) => {
          await started.promise;
          return task.newListr(
            ladder.map((r) => ({
              title: `${r.name} ${r.width}x${r.height}`,
              task: async (_c: unknown, t: ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>) => {
                encodeTasks.push(t);
                await gates.encode.promise;
              },
            })),
            { concurrent: true, exitOnError: true },
          );
        },
      },
      { title: 'Package HLS (measure bitrates, CODECS, playlists)', task: () => gates.package.promise },
      { title: 'Verify (keyframes, alignment, decode)', task: () => gates.verify.promise },
      { title: 'Move into place', task: () => gates.commit.promise },
    ],
    { concurrent: false, exitOnError: true, rendererOptions: { collapseSubtasks: false }, fallbackRendererCondition: false },
  ).run()).catch(() => undefined);
  return {
    event(e) {
      const ev = e as TranscodeEvent;
      if (ev.type === 'start') {
        ladder = ev.ladder;
        encodeTasks = [];
        started.resolve();
        lines.push(`${ev.encoder} on ${ev.hardware} (${ev.hardwareReason}), ${ev.frameRate} fps, ffmpeg ${ev.ffmpeg.version}`);
      } else if (ev.type === 'stage') {
        if (ev.status === 'start') current = ev.stage;
        if (ev.status === 'done') gates[ev.stage].resolve();
      } else if (ev.type === 'progress') {
        for (const t of encodeTasks) t.output = progressLine(ev);
      } else if (ev.type === 'warning') {
        lines.push(`note: ${ev.message}`);
      } else if (ev.type === 'rung') {
        lines.push(`${ev.name.padEnd(8)} ${`${ev.width}x${ev.height}`.padEnd(10)} ${ev.codecs.join(',').padEnd(24)} BANDWIDTH ${kbps(ev.bandwidth).padStart(11)}  AVERAGE ${kbps(ev.averageBandwidth).padStart(11)}  ${bytes(ev.sizeBytes)}`);
      } else if (ev.type === 'done') {
        lines.push(`done in ${ev.elapsedSeconds.toFixed(1)} s: ${ev.master}`);
      }
    },
    info: (line) => lines.push(line),
    error: (error, verbose) => {
      failed = true;
      const abort = new Error(isStreamkitError(error) ? error.message : String(error));
      started.resolve();
      gates[current].reject(abort);
      lines.push(formatError(error, verbose));
    },
    async close() {
      if (!failed) for (const s of stages) gates[s].resolve();
      started.resolve();
      await running;
      if (lines.length > 0) (failed ? err : process.stdout).write(`${lines.join('\n')}\n`);
    },
  };
}

export function createReporter(mode: OutputMode, io: { out?: NodeJS.WritableStream; err?: NodeJS.WritableStream } = {}): Reporter {
  const out = io.out ?? process.stdout;
  const err = io.err ?? process.stderr;
  switch (mode) {
    case 'json':
      return jsonReporter(out);
    case 'plain':
      return plainReporter(out, err, false);
    case 'quiet':
      return plainReporter(out, err, true);
    case 'tty':
      return ttyReporter(err);
  }
}

export { StreamkitError };
