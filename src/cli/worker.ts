import { type Command, Option } from 'commander';
import { DEFAULT_GRACE_MS, DEFAULT_LOCK_DURATION_MS, DEFAULT_STALLED_INTERVAL_MS } from '../queue/defaults.js';
import { queueTarget } from '../queue/connection.js';
import type { CliIo, CommandContext, GlobalOptions } from './context.js';
import { addQueueOptions, positiveInt, seconds } from './queue.js';
import type { HardwareRequest } from '../encoder/select.js';

type Run = (action: (ctx: CommandContext) => Promise<void>, opts: GlobalOptions) => Promise<void>;
type LogEvent = { type: string; [key: string]: unknown };

/** One human line per worker event (plain/tty/quiet modes; --json prints the events themselves). */
function workerLine(e: LogEvent): string | null {
  const s = (k: string): string => String(e[k] ?? '');
  if (e.type === 'worker') {
    switch (e['status']) {
      case 'ready':
        return `worker ${s('host')}:${s('pid')} ready: queue ${s('queue')} on ${s('redis')}, concurrency ${s('concurrency')}, hw ${s('hw')}`;
      case 'stopping':
        return `stopping: no new jobs; ${s('active')} running job(s) get ${s('graceSeconds')} s to finish, then go back to the queue`;
      case 'stopped':
        return `stopped (${s('completed')} encoded, ${s('skipped')} already current, ${s('failed')} failed attempt(s), ${s('handedBack')} handed back)`;
      case 'error':
        return `queue error: ${s('message')}`;
      default:
        return null;
    }
  }
  if (e.type === 'job') {
    const id = s('id');
    switch (e['status']) {
      case 'start':
        return `${id} start ${s('input')} -> ${s('output')} (preset ${s('preset')}, attempt ${s('attempt')}/${s('attempts')})`;
      case 'cleanup':
        return `${id} removed stale staging folders of dead workers: ${(e['removed'] as string[]).join(', ')}`;
      case 'skipped':
        return `${id} skipped: ${s('reason')}`;
      case 'done':
        return `${id} done in ${Number(e['elapsedSeconds']).toFixed(1)} s: ${s('master')}`;
      case 'retry':
        return `${id} attempt ${s('attempt')}/${s('attempts')} failed, will retry: ${s('code')}: ${s('message')}`;
      case 'failed':
        return `${id} failed (attempt ${s('attempt')}/${s('attempts')}): ${s('code')}: ${s('message')}`;
      case 'handed-back':
        return `${id} aborted and handed back to the queue`;
      case 'abandoned':
        return `${id} abandoned: ${s('reason')}`;
      default:
        return null;
    }
  }
  return null;
}

export function registerWorker(program: Command, io: CliIo, run: Run): void {
  const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();
  addQueueOptions(program.command('worker').description('process queued transcode jobs until stopped (SIGTERM/SIGINT: finish or hand back running jobs, exit 0)'))
    .option('-c, --concurrency <n>', 'jobs at a time (each runs one ffmpeg)', positiveInt, 1)
    .addOption(
      new Option('--hw <kind>', 'hardware for jobs enqueued with --hw auto: auto (NVENC when a trial encode works, else CPU), cpu or nvenc')
        .choices(['auto', 'cpu', 'nvenc'])
        .default('auto'),
    )
    .option('--grace <seconds>', 'on SIGTERM/SIGINT, how long running jobs may take to finish before they are aborted and handed back', seconds, DEFAULT_GRACE_MS / 1000)
    .option('--lock-duration <seconds>', "job lock: renewed while a job runs; a dead worker's job is taken over once it expires", seconds, DEFAULT_LOCK_DURATION_MS / 1000)
    .option('--stalled-interval <seconds>', 'how often to look for jobs of dead workers', seconds, DEFAULT_STALLED_INTERVAL_MS / 1000)
    .addHelpText(
      'after',
      `
Examples:
  $ streamkit worker --redis redis://queue-host:6379
  $ STREAMKIT_REDIS_URL=redis://queue-host:6379 streamkit worker --concurrency 2 --hw cpu --json
A second SIGTERM/SIGINT exits at once (exit 130); the running job is then taken over by another worker once its lock expires.`,
    )
    .action(async (o: { redis?: string; queue?: string; concurrency: number; hw: HardwareRequest; grace: number; lockDuration: number; stalledInterval: number }, cmd: Command) =>
      run(async (ctx) => {
        const target = queueTarget(o, io.env);
        const log = (e: LogEvent): void => {
          if (ctx.mode === 'json') {
            ctx.reporter.event(e);
            return;
          }
          const line = workerLine(e);
          const important = e['status'] === 'failed' || e['status'] === 'error';
          if (line !== null && (ctx.mode !== 'quiet' || important)) (important ? io.err : io.out).write(`[${new Date().toISOString()}] ${line}\n`);
        };
        const { runWorker } = await import('../queue/worker.js');
        await runWorker({
          target,
          concurrency: o.concurrency,
          hw: o.hw,
          graceMs: Math.round(o.grace * 1000),
          lockDurationMs: Math.max(1000, Math.round(o.lockDuration * 1000)),
          stalledIntervalMs: Math.max(500, Math.round(o.stalledInterval * 1000)),
          ffmpeg: ctx.opts.ffmpeg,
          ffprobe: ctx.opts.ffprobe,
          signal: io.signal,
          log,
        });
      }, globals(cmd)),
    );
}
