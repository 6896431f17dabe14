import { type Command, InvalidArgumentError } from 'commander';
import type { BatchEvent, BatchSummary } from '../batch/events.js';
import { appendStepSummary, displayPath, seconds, speedText, summaryTable, writeBatchReport } from '../batch/report.js';
import { defaultConcurrency, planBatch, type BatchOptions } from '../batch/plan.js';
import { runBatch } from '../batch/runner.js';
import { DEFAULT_OUTPUT_TEMPLATE, TEMPLATE_PLACEHOLDERS } from '../job/template.js';
import { InterruptedError, StreamkitError } from '../errors.js';
import { packageState } from '../job/current.js';
import { decideDestination } from '../job/destination.js';
import { jobIdentity } from '../package/job-identity.js';
import type { CliIo, CommandContext, GlobalOptions } from './context.js';
import { bytes, duration as clock } from './format.js';
import { chooseMode, formatError, type OutputMode } from './reporter.js';
import type { HardwareRequest } from '../encoder/select.js';
import { frameRateOption, hwOption, perTitleOptions, vmafOption } from './options.js';

type Run = (action: (ctx: CommandContext) => Promise<void>, opts: GlobalOptions) => Promise<void>;

interface BatchCliOptions {
  preset?: string;
  output?: string;
  jobs?: string;
  concurrency?: number;
  force?: boolean;
  failFast?: boolean;
  retries: number;
  report?: string;
  framerate?: string;
  hw: HardwareRequest;
  perTitle?: boolean;
  vmaf?: string;
  dryRun?: boolean;
}

function intArg(min: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    return Number(v);
  };
}

interface BatchRenderer {
  event(e: BatchEvent): void;
  /** after the summary event: the table */
  close(summary: BatchSummary | null): void;
}

const stamp = (): string => `[${new Date().toISOString()}] `;

/** CI logs: one timestamped line per job event, progress every 25% (or 30 s) per job, then the table. */
function plainRenderer(io: CliIo, quiet: boolean): BatchRenderer {
  const cwd = process.cwd();
  let total = 0;
  const names = new Map<number, string>();
  const lastProgress = new Map<number, { pct: number; at: number }>();
  const say = (line: string): void => void (quiet ? undefined : io.out.write(`${stamp()}${line}\n`));
  const tag = (id: number): string => `[${id}/${total}]`;
  return {
    event(e) {
      switch (e.type) {
        case 'batch-start':
          total = e.jobs;
          say(
            `batch: ${e.jobs} job${e.jobs === 1 ? '' : 's'}, ${e.concurrency} at a time${e.force ? ', --force' : ''}${e.retries ? `, ${e.retries} retr${e.retries === 1 ? 'y' : 'ies'}` : ''}`,
          );
          for (const x of e.empty) say(`note: ${x} matched no media files`);
          break;
        case 'job-start':
          names.set(e.id, displayPath(e.input, cwd));
          say(`${tag(e.id)} start ${displayPath(e.input, cwd)} -> ${displayPath(e.output, cwd)} (${e.preset}; ${e.why})`);
          break;
        case 'job-progress': {
          const now = Date.now();
          const prev = lastProgress.get(e.id) ?? { pct: -1, at: now };
          const pct = e.percent ?? -1;
          if (Math.floor(pct / 25) > Math.floor(prev.pct / 25) || now - prev.at >= 30_000) {
            lastProgress.set(e.id, { pct, at: now });
            say(
              `${tag(e.id)} ${names.get(e.id) ?? ''} ${e.percent === null ? `${clock(e.outTimeSeconds)} encoded` : `${e.percent.toFixed(0)}%`}${e.speed ? ` ${e.speed.toFixed(2)}x` : ''}${e.etaSeconds !== null ? ` ETA ${clock(e.etaSeconds)}` : ''}`,
            );
          }
          break;
        }
        case 'job-warning':
          say(`${tag(e.id)} note: ${e.message}`);
          break;
        case 'job-retry':
          say(`${tag(e.id)} attempt ${e.attempt - 1} failed (${e.error.message}); retrying`);
          break;
        case 'job-done':
          say(
            `${tag(e.id)} done ${displayPath(e.input, cwd)} in ${seconds(e.elapsedSeconds)} (${speedText(e.speed)}, ${e.sizeBytes === null ? '?' : bytes(e.sizeBytes)}) -> ${displayPath(e.output, cwd)}`,
          );
          break;
        case 'job-skipped':
          say(`${tag(e.id)} skipped ${displayPath(e.input, cwd)}: ${e.reason}`);
          break;
        case 'job-failed':
          io.err.write(
            `${quiet ? '' : stamp()}${tag(e.id)} FAILED ${displayPath(e.input, cwd)}: ${e.error?.message ?? e.reason}${e.error?.hint ? `\n  hint: ${e.error.hint}` : ''}${
              e.error?.stderrTail && e.error.code === 'FFMPEG_FAILED'
                ? `\n  ffmpeg said:\n${e.error.stderrTail
                    .slice(-5)
                    .map((l) => `    ${l}`)
                    .join('\n')}`
                : ''
            }\n`,
          );
          break;
        case 'job-cancelled':
          if (e.attempts > 0) say(`${tag(e.id)} cancelled ${displayPath(e.input, cwd)}: ${e.reason}`);
          break;
        default:
          break;
      }
    },
    close(summary) {
      if (!summary || quiet) return;
      io.out.write(`${summaryTable(summary, cwd).join('\n')}\n`);
    },
  };
}

function bar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

/** Terminal: finished jobs scroll by; below them an overall bar and one line per running job, redrawn in place. */
function ttyRenderer(io: CliIo): BatchRenderer {
  const cwd = process.cwd();
  const out = io.out as NodeJS.WriteStream;
  const started = Date.now();
  let total = 0;
  const counts = { done: 0, skipped: 0, failed: 0, cancelled: 0 };
  const running = new Map<number, { name: string; stage: string; percent: number | null; speed: number | null; eta: number | null }>();
  let drawn = 0;
  let dirty = true;
  const cols = (): number => Math.max(40, (out.columns || 100) - 1);
  const fitWidth = (s: string): string => (s.length > cols() ? `${s.slice(0, cols() - 1)}…` : s);
  const clear = (): void => {
    if (drawn > 0) out.write(`\x1b[${drawn}A\r\x1b[0J`);
    drawn = 0;
  };
  const draw = (): void => {
    const finished = counts.done + counts.skipped + counts.failed + counts.cancelled;
    const partial = [...running.values()].reduce((a, r) => a + (r.percent ?? 0) / 100, 0);
    const lines = [
      fitWidth(
        `${bar(total ? (finished + partial) / total : 1, 24)} ${finished}/${total} jobs  done ${counts.done} · skipped ${counts.skipped} · failed ${counts.failed}  ${clock((Date.now() - started) / 1000)}`,
      ),
      ...[...running.values()].map((r) =>
        fitWidth(
          `  ▸ ${r.name}  ${r.stage === 'encode' && r.percent !== null ? `${bar(r.percent / 100, 12)} ${r.percent.toFixed(0)}%${r.speed ? ` ${r.speed.toFixed(1)}x` : ''}${r.eta !== null ? ` ETA ${clock(r.eta)}` : ''}` : r.stage}`,
        ),
      ),
    ];
    out.write(`${lines.join('\n')}\n`);
    drawn = lines.length;
    dirty = false;
  };
  const permanent = (line: string): void => {
    clear();
    out.write(`${fitWidth(line)}\n`);
    dirty = true;
  };
  const timer = setInterval(() => {
    if (!dirty && running.size === 0) return;
    clear();
    draw();
  }, 150);
  timer.unref();
  return {
    event(e) {
      switch (e.type) {
        case 'batch-start':
          total = e.jobs;
          for (const x of e.empty) permanent(`note: ${x} matched no media files`);
          break;
        case 'job-start':
          running.set(e.id, { name: displayPath(e.input, cwd), stage: 'starting', percent: null, speed: null, eta: null });
          break;
        case 'job-stage': {
          const r = running.get(e.id);
          if (r && e.status === 'start') r.stage = e.stage;
          break;
        }
        case 'job-progress': {
          const r = running.get(e.id);
          if (r) Object.assign(r, { stage: 'encode', percent: e.percent, speed: e.speed, eta: e.etaSeconds });
          break;
        }
        case 'job-retry':
          permanent(`↻ ${displayPath(running.get(e.id)?.name ?? '', cwd)}: attempt ${e.attempt - 1} failed (${e.error.message}); retrying`);
          break;
        case 'job-done':
          counts.done++;
          running.delete(e.id);
          permanent(
            `✔ ${displayPath(e.input, cwd)} -> ${displayPath(e.output, cwd)}  ${seconds(e.elapsedSeconds)} ${speedText(e.speed)} ${e.sizeBytes === null ? '' : bytes(e.sizeBytes)}`,
          );
          break;
        case 'job-skipped':
          counts.skipped++;
          permanent(`↷ ${displayPath(e.input, cwd)}: ${e.reason}`);
          break;
        case 'job-failed':
          counts.failed++;
          running.delete(e.id);
          permanent(`✖ ${displayPath(e.input, cwd)}: ${e.error?.message ?? e.reason}`);
          break;
        case 'job-cancelled':
          counts.cancelled++;
          running.delete(e.id);
          if (e.attempts > 0) permanent(`■ ${displayPath(e.input, cwd)}: ${e.reason}`);
          break;
        default:
          break;
      }
      dirty = true;
    },
    close(summary) {
      clearInterval(timer);
      clear();
      if (summary) out.write(`\n${summaryTable(summary, cwd).join('\n')}\n`);
    },
  };
}

function jsonRenderer(io: CliIo): BatchRenderer {
  return {
    event: (e) => void io.out.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`),
    close: () => undefined,
  };
}

function makeRenderer(mode: OutputMode, io: CliIo): BatchRenderer {
  if (mode === 'json') return jsonRenderer(io);
  if (mode === 'tty') return ttyRenderer(io);
  return plainRenderer(io, mode === 'quiet');
}

/** --dry-run: the jobs, where each would go and whether it would run. */
async function dryRun(options: BatchOptions, mode: OutputMode, io: CliIo): Promise<void> {
  const plan = await planBatch(options);
  const cwd = process.cwd();
  const jobs = [];
  for (const j of plan.jobs) {
    let status: string;
    try {
      const { key } = await jobIdentity(j.input, j.preset.preset, j);
      const d = decideDestination(j.output, await packageState(j.output, key), options.force ?? false);
      status =
        d.action === 'skip'
          ? 'current: would skip'
          : d.action === 'create'
            ? 'would run (no package yet)'
            : d.action === 'replace'
              ? `would run (${d.why.replace(/^forced \(--force\)/, '--force')})`
              : `would fail: ${d.error.message}`;
    } catch (error) {
      status = `would fail: ${(error as Error).message}`;
    }
    jobs.push({ id: j.id, input: j.input, output: j.output, preset: j.preset.name, frameRate: j.frameRate ?? null, hw: j.hw, status });
  }
  if (mode === 'json') {
    io.out.write(`${JSON.stringify({ time: new Date().toISOString(), type: 'batch-plan', concurrency: options.concurrency ?? defaultConcurrency(), jobs, empty: plan.empty })}\n`);
    return;
  }
  for (const x of plan.empty) io.out.write(`# note: ${x} matched no media files\n`);
  for (const j of jobs) io.out.write(`${displayPath(j.input, cwd)} -> ${displayPath(j.output, cwd)} [${j.preset}] ${j.status}\n`);
  io.out.write(`# ${jobs.length} job${jobs.length === 1 ? '' : 's'}, ${options.concurrency ?? defaultConcurrency()} at a time\n`);
}

export function registerBatch(program: Command, io: CliIo, run: Run): void {
  program
    .command('batch')
    .description('transcode many inputs (files, folders, globs or a jobs file); packages that are already current are skipped')
    .argument('[inputs...]', 'media files, folders (searched recursively for media files) and quoted globs ("media/**/*.mp4")')
    .option('-p, --preset <name|file>', 'preset for every input (and for jobs-file entries without one)')
    .option('-o, --output <template>', `package folder template; placeholders ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')} (default: ${DEFAULT_OUTPUT_TEMPLATE})`)
    .option('--jobs <file>', 'YAML/JSON list of jobs: { input, preset?, output?, overrides?: { frameRate?, hw? } }')
    .option('-j, --concurrency <n>', `jobs at once (default: half the cores, at least 1; here ${defaultConcurrency()})`, intArg(1))
    .option('-f, --force', 'redo every job, even current ones (an old package is replaced only once the new one is complete)')
    .option('--fail-fast', 'stop at the first failed job (running jobs are cancelled and leave nothing behind)')
    .option('--retries <n>', 'retry a failed job up to N times, at once: failures with exit code 1 or 4 are retried, input, preset and usage failures (2, 3) never', intArg(0), 0)
    .option('--report <file>', 'write the summary as JSON to FILE')
    .addOption(frameRateOption())
    .addOption(hwOption())
    .addOption(perTitleOptions()[0]!)
    .addOption(perTitleOptions()[1]!)
    .addOption(vmafOption())
    .option('--dry-run', 'list the jobs, their outputs and whether each would run; run nothing')
    .addHelpText(
      'after',
      `
Exit codes: 0 every job done or skipped, 1 a job failed, 2 usage, 130 interrupted.
Examples:
  $ streamkit batch media/ --preset h264-ladder -o '/srv/hls/{reldir}/{stem}'
  $ streamkit batch 'uploads/**/*.{mp4,mov}' -p hevc-ladder --concurrency 2 --report batch.json
  $ streamkit batch --jobs jobs.yaml --json > events.ndjson
  $ streamkit batch media/ -p h264-ladder --dry-run
  $ streamkit batch media/ -p h264-ladder --per-title -o '/srv/hls/{stem}'   (analyses are cached: a re-run does not analyse again)`,
    )
    .action(async (inputs: string[], o: BatchCliOptions, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const mode = chooseMode(globals, io.out as NodeJS.WriteStream, io.env);
      // the shared reporter would start the single-transcode task list in a terminal: batch draws its
      // own view, so the shared reporter only prints the final error (as in quiet mode)
      await run(
        async () => {
          if (inputs.length === 0 && !o.jobs) {
            throw new StreamkitError('USAGE', 'Nothing to do: no inputs and no --jobs file.', { hint: 'Example: streamkit batch media/ --preset h264-ladder' });
          }
          const options: BatchOptions = {
            inputs,
            jobsFile: o.jobs,
            preset: o.preset,
            output: o.output,
            concurrency: o.concurrency,
            force: o.force,
            failFast: o.failFast,
            retries: o.retries,
            frameRate: o.framerate,
            hw: o.hw,
            perTitle: o.perTitle,
            vmaf: o.vmaf,
            ffmpeg: globals.ffmpeg,
            ffprobe: globals.ffprobe,
            signal: io.signal,
          };
          if (o.dryRun) return dryRun(options, mode, io);
          const renderer = makeRenderer(mode, io);
          let summary: BatchSummary | null = null;
          try {
            summary = await runBatch(options, (e) => renderer.event(e));
          } finally {
            renderer.close(summary);
          }
          if (o.report) await writeBatchReport(o.report, summary);
          const stepSummary = io.env['GITHUB_STEP_SUMMARY'];
          if (stepSummary) {
            await appendStepSummary(stepSummary, summary).catch((error: unknown) => {
              io.err.write(
                `${formatError(new StreamkitError('OUTPUT_UNWRITABLE', `Cannot append to GITHUB_STEP_SUMMARY (${stepSummary}): ${(error as Error).message}`), false)}\n`,
              );
            });
          }
          if (summary.stopped === 'interrupted') throw new InterruptedError(String(io.signal.reason ?? 'SIGINT'));
          if (summary.counts.failed > 0) {
            throw new StreamkitError('JOB_FAILED', `${summary.counts.failed} of ${summary.counts.total} job${summary.counts.total === 1 ? '' : 's'} failed.`, {
              hint: 'Each reason is listed above (and in --report). Run the same command again to retry only what is not done.',
              details: { failed: summary.jobs.filter((j) => j.status === 'failed').map((j) => ({ input: j.input, error: j.error })) },
            });
          }
        },
        mode === 'tty' ? { ...globals, quiet: true } : globals,
      );
    });
}
