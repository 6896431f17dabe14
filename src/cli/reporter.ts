import type { ListrTaskWrapper, ListrDefaultRenderer, ListrSimpleRenderer } from 'listr2';
import { isStreamkitError } from '../errors.js';
import type { TranscodeEvent } from '../events.js';
import { shellQuote } from '../ffmpeg/shell-quote.js';
import { formatError } from '../format/error-text.js';
import { bytes, kbps, progressLine } from './format.js';
import { perTitleLines } from './per-title-lines.js';
import type { StageName } from '../events.js';
import type { ThumbnailsReport } from '../package/thumbnails.js';
import type { DashReport } from '../package/dash.js';

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

/** `dash manifest.mpd: 7 representations, minBufferTime 6.006 s, bandwidth 180p 228 kb/s, 360p 897 kb/s, audio-1 131 kb/s` */
function dashLine(d: DashReport): string {
  return `dash ${d.manifest}: ${d.representations.length} representations, minBufferTime ${d.minBufferTime} s, bandwidth ${d.representations
    .filter((r) => r.contentType !== 'text')
    .map((r) => `${r.id} ${kbps(r.bandwidth)}`)
    .join(', ')}`;
}

/** `thumbnails poster.jpg, thumbnails.vtt: 6 cues every 2 s on 1 sheet of 6x1 160x90 (24.8 KiB)` */
function thumbnailsLine(t: ThumbnailsReport): string {
  const sheets = `${t.sprites.length} sheet${t.sprites.length === 1 ? '' : 's'}`;
  return `thumbnails ${t.poster}, ${t.vtt}: ${t.count} cues every ${t.intervalSeconds} s on ${sheets} of ${t.columns}x${t.rows} ${t.width}x${t.height} (${bytes(t.sizeBytes)})`;
}

export function chooseMode(opts: { json?: boolean; quiet?: boolean }, stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): OutputMode {
  if (opts.json) return 'json';
  if (opts.quiet) return 'quiet';
  if (!stream.isTTY || (env['CI'] !== undefined && env['CI'] !== '' && env['CI'] !== 'false')) return 'plain';
  // a terminal that reports no width (some CI pseudo-terminals): a redrawn list would wrap into noise
  if (!stream.columns) return 'plain';
  return 'tty';
}

/** Human error text (shared with queue workers' job logs). */
export { formatError };

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

/**
 * When a plain (CI log) reporter prints a progress event: the first one, then each time the percent
 * enters a new 10% step, or every 15 s when nothing else was printed (the only rule when the
 * duration is unknown and percent is null).
 */
export class ProgressThrottle {
  private lastStep = -1;
  private lastAt = -Infinity;
  private pending = false;

  constructor(
    private readonly everyPercent = 10,
    private readonly everyMs = 15_000,
  ) {}

  /** true when this event should be printed now */
  take(percent: number | null, nowMs: number): boolean {
    const step = percent === null ? -1 : Math.floor(Math.min(100, Math.max(0, percent)) / this.everyPercent);
    const print = this.lastAt === -Infinity || step > this.lastStep || nowMs - this.lastAt >= this.everyMs;
    if (print) {
      this.lastStep = Math.max(this.lastStep, step);
      this.lastAt = nowMs;
    }
    this.pending = !print;
    return print;
  }

  /** an event was skipped since the last print (print it when the task ends) */
  get hasPending(): boolean {
    return this.pending;
  }

  reset(): void {
    this.lastStep = -1;
    this.lastAt = -Infinity;
    this.pending = false;
  }
}

function plainReporter(out: NodeJS.WritableStream, err: NodeJS.WritableStream, quiet: boolean, verbose: boolean): Reporter {
  const throttle = new ProgressThrottle();
  const analysisThrottle = new ProgressThrottle(25);
  let lastProgress: Parameters<typeof progressLine>[0] | null = null;
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
          if (verbose && ev.command) say(`command: ${shellQuote(ev.command)}`);
          break;
        case 'stage':
          if (ev.status === 'start') {
            if (ev.stage === 'encode') throttle.reset();
            say(`${ev.stage}...`);
          } else if (ev.stage === 'encode' && throttle.hasPending && lastProgress) {
            // the last state of the encode, so the log ends on where it really got to
            say(`encode ${progressLine(lastProgress)}`);
          }
          break;
        case 'progress':
          lastProgress = ev;
          if (throttle.take(ev.percent, Date.now())) say(`encode ${progressLine(ev)}`);
          break;
        case 'analysis':
          if (analysisThrottle.take(ev.percent, Date.now()) || ev.percent >= 100)
            say(`per-title ${ev.phase === 'check' ? 'check' : 'analysis'} ${ev.percent.toFixed(0)}% (${ev.phase})`);
          break;
        case 'per-title':
          for (const l of perTitleLines(ev)) say(l);
          break;
        case 'rung':
          say(`rung ${ev.name} ${ev.width}x${ev.height} ${ev.codecs.join(',')} BANDWIDTH ${kbps(ev.bandwidth)} AVERAGE ${kbps(ev.averageBandwidth)} ${bytes(ev.sizeBytes)}`);
          break;
        case 'file':
          say(
            `file ${ev.path} ${ev.width}x${ev.height} ${[ev.videoCodec, ...ev.audioCodecs].join(',')} ${ev.durationSeconds.toFixed(2)} s ${kbps(ev.bitrate)} ${bytes(ev.sizeBytes)}`,
          );
          break;
        case 'warning':
          if (ev.source !== 'ffmpeg') say(`note: ${ev.message}`);
          else if (verbose) say(`ffmpeg: ${ev.message}`);
          break;
        case 'done':
          if (ev.thumbnails) say(thumbnailsLine(ev.thumbnails));
          if (ev.dash) say(dashLine(ev.dash));
          say(`done in ${ev.elapsedSeconds.toFixed(1)} s: ${ev.master ?? ev.output} (${bytes(ev.sizeBytes)})`);
          break;
        default:
          say(
            Object.entries(e)
              .filter(([k]) => k !== 'type')
              .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join(' ')
              .replace(/^/, `${(e as { type: string }).type} `),
          );
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

type Stage = StageName;
const stages: readonly Stage[] = ['probe', 'encode', 'package', 'verify', 'commit'];

/**
 * listr2 list driven by transcode events: each stage is a task whose promise settles on the stage's
 * events, one encode subtask per rung. The list starts with the first transcode event, so commands
 * that emit none (probe, presets, doctor) print only their own text.
 */
function ttyReporter(out: NodeJS.WritableStream, err: NodeJS.WritableStream, verbose: boolean): Reporter {
  const gates = Object.fromEntries(stages.map((s) => [s, gate()])) as Record<Stage, Gate>;
  const started = gate();
  let ladder: { name: string; width: number; height: number }[] = [];
  let encodeTasks: ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>[] = [];
  let current: Stage = 'probe';
  let failed = false;
  let running: Promise<unknown> | null = null;
  const lines: string[] = [];
  let chosenPerTitle: string[] | null = null;
  let probeTask: ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer> | null = null;
  const startList = (): void => {
    if (running) return;
    // listr2 loads only here: only a terminal needs it, and every other mode starts faster without it
    running = import('listr2').then(({ Listr }) => runList(Listr)).catch(() => undefined);
  };
  const runList = (Listr: typeof import('listr2').Listr): Promise<unknown> => {
    const list = new Listr(
      [
        {
          title: 'Probe input, preset and ffmpeg',
          task: (_ctx, task) => {
            probeTask = task;
            return gates.probe.promise;
          },
        },
        {
          title: 'Encode (one ffmpeg process for the whole ladder)',
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
      {
        concurrent: false,
        exitOnError: true,
        // streamkit handles SIGINT itself (stop ffmpeg, remove the staging folder, exit 130);
        // listr2's own handler would exit 127 at once and leave both behind
        registerSignalListeners: false,
        rendererOptions: { collapseSubtasks: false, showErrorMessage: false },
        fallbackRendererCondition: false,
      },
    );
    return list.run();
  };
  return {
    event(e) {
      const ev = e as TranscodeEvent;
      startList();
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
        if (ev.source !== 'ffmpeg') lines.push(`note: ${ev.message}`);
        else if (verbose) lines.push(`ffmpeg: ${ev.message}`);
      } else if (ev.type === 'file') {
        lines.push(
          `${ev.path.padEnd(18)} ${`${ev.width}x${ev.height}`.padEnd(10)} ${[ev.videoCodec, ...ev.audioCodecs].join(',').padEnd(24)} ${kbps(ev.bitrate).padStart(11)}  ${bytes(ev.sizeBytes)}`,
        );
      } else if (ev.type === 'analysis') {
        if (ev.phase !== 'check' && probeTask) probeTask.output = `per-title analysis: ${ev.phase} ${ev.percent.toFixed(0)}%`;
      } else if (ev.type === 'per-title') {
        // the measured report supersedes the chosen one
        if (ev.when === 'measured') lines.push(...perTitleLines(ev));
        else chosenPerTitle = perTitleLines(ev);
      } else if (ev.type === 'rung') {
        lines.push(
          `${ev.name.padEnd(8)} ${`${ev.width}x${ev.height}`.padEnd(10)} ${ev.codecs.join(',').padEnd(24)} BANDWIDTH ${kbps(ev.bandwidth).padStart(11)}  AVERAGE ${kbps(ev.averageBandwidth).padStart(11)}  ${bytes(ev.sizeBytes)}`,
        );
      } else if (ev.type === 'done') {
        if (ev.thumbnails) lines.push(thumbnailsLine(ev.thumbnails));
        if (ev.dash) lines.push(dashLine(ev.dash));
        lines.push(`done in ${ev.elapsedSeconds.toFixed(1)} s: ${ev.master ?? ev.output}`);
      }
    },
    info: (line) => lines.push(line),
    error: (error, verbose) => {
      failed = true;
      if (running) {
        const abort = new Error(isStreamkitError(error) ? error.message : String(error));
        started.resolve();
        gates[current].reject(abort);
      }
      lines.push(formatError(error, verbose));
    },
    async close() {
      // a run that failed after the analysis still shows what the analysis chose
      if (chosenPerTitle && !lines.some((l) => l.startsWith('per-title:'))) lines.unshift(...chosenPerTitle);
      if (!failed) for (const s of stages) gates[s].resolve();
      started.resolve();
      if (running) await running;
      if (lines.length > 0) (failed ? err : out).write(`${lines.join('\n')}\n`);
    },
  };
}

export function createReporter(mode: OutputMode, io: { out?: NodeJS.WritableStream; err?: NodeJS.WritableStream; verbose?: boolean } = {}): Reporter {
  const out = io.out ?? process.stdout;
  const err = io.err ?? process.stderr;
  switch (mode) {
    case 'json':
      return jsonReporter(out);
    case 'plain':
      return plainReporter(out, err, false, io.verbose ?? false);
    case 'quiet':
      return plainReporter(out, err, true, false);
    case 'tty':
      return ttyReporter(out, err, io.verbose ?? false);
  }
}
