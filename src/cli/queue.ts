import { type Command, InvalidArgumentError } from 'commander';
import { addJobs } from '../queue/add.js';
import { openQueue, queueTarget, redactRedisUrl, DEFAULT_QUEUE_NAME, DEFAULT_REDIS_URL } from '../queue/connection.js';
import { DEFAULT_OUTPUT_TEMPLATE, TEMPLATE_PLACEHOLDERS } from '../job/template.js';
import { DEFAULT_RETRY, type QueueJobData } from '../queue/job.js';
import { queueStatus, splitReason, type QueueStatus } from '../queue/status.js';
import type { CliIo, CommandContext, GlobalOptions } from './context.js';
import { progressLine } from './format.js';
import type { HardwareRequest } from '../encoder/select.js';
import { frameRateOption, hwOption, perTitleOptions } from './options.js';

type Run = (action: (ctx: CommandContext) => Promise<void>, opts: GlobalOptions) => Promise<void>;

export function positiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return Number(v);
}

export function seconds(v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v)) throw new InvalidArgumentError('expected a number of seconds such as 30 or 0.5');
  return Number(v);
}

/** --redis and --queue, shared by `queue add`, `queue status` and `worker`. */
export function addQueueOptions(cmd: Command): Command {
  return cmd
    .option('--redis <url>', `Redis URL (else STREAMKIT_REDIS_URL, else ${DEFAULT_REDIS_URL})`)
    .option('--queue <name>', `queue name (else STREAMKIT_QUEUE, else ${DEFAULT_QUEUE_NAME})`);
}

function shortId(id: string): string {
  return id.length > 15 ? `${id.slice(0, 15)}…` : id;
}

function printStatus(io: CliIo, s: QueueStatus, redis: string): void {
  const w = (line: string): void => void io.out.write(`${line}\n`);
  const c = s.counts;
  w(`queue ${s.queue} on ${redis}${s.paused ? ' (paused)' : ''}`);
  w(`waiting ${c.waiting}, active ${c.active}, delayed ${c.delayed}, completed ${c.completed}, failed ${c.failed}`);
  if (s.active.length > 0) {
    w('active:');
    for (const j of s.active) {
      const p = j.progress;
      const what = p === null ? 'starting' : p.stage === 'encode' ? `encode ${progressLine({ ...p, outTimeSeconds: null })}` : p.stage;
      w(`  ${shortId(j.id)}  ${what}  on ${p ? `${p.worker.host}:${p.worker.pid}` : '?'}  attempt ${j.attemptsMade + 1}/${j.attempts}  ${j.input ?? '?'} -> ${j.output ?? '?'}`);
    }
  }
  if (s.delayed.length > 0) {
    w('retrying:');
    for (const j of s.delayed) w(`  ${shortId(j.id)}  next attempt ${j.attemptsMade + 1}/${j.attempts} at ${j.retryAt ?? '?'}  last error ${j.reason ?? '?'}  ${j.input ?? '?'}`);
  }
  if (s.failed.length > 0) {
    w('failed:');
    for (const j of s.failed) w(`  ${shortId(j.id)}  ${j.reason}  (${j.attemptsMade} of ${j.attempts} attempts)  ${j.input ?? '?'}`);
  }
}

export function registerQueue(program: Command, io: CliIo, run: Run): void {
  const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();
  const queue = program.command('queue').description('enqueue transcode jobs for `streamkit worker`s (BullMQ on Redis) and watch them');

  addQueueOptions(
    queue
      .command('add')
      .description('enqueue one transcode job per INPUT; the resolved preset travels inside the job')
      .argument('<input...>', 'absolute paths on storage every worker mounts at the same path, or http(s) URLs')
      .requiredOption('-p, --preset <name|file>', 'built-in preset name or preset file (resolved here; workers need no preset files)')
      .option(
        '-o, --output <template>',
        `package folder template, as for batch -o: ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')} ({dir} not for URL inputs; {reldir} is empty)`,
        DEFAULT_OUTPUT_TEMPLATE,
      ),
  )
    .addOption(frameRateOption())
    .addOption(hwOption('the worker decides, see `worker --hw`'))
    .addOption(perTitleOptions()[0]!)
    .addOption(perTitleOptions()[1]!)
    .option(
      '--attempts <n>',
      'tries in all before a job stays failed: failures with exit code 1 or 4 are retried, input, preset and usage failures (2, 3) never',
      positiveInt,
      DEFAULT_RETRY.attempts,
    )
    .option('--backoff <seconds>', 'wait before the first retry, doubling each time', seconds, DEFAULT_RETRY.backoffMs / 1000)
    .option('-f, --force', 'enqueue again even if the same job already completed or failed, and re-encode even if its package is current')
    .addHelpText(
      'after',
      `
Examples:
  $ streamkit queue add /srv/media/in/*.mp4 --preset h264-ladder --output '/srv/media/out/{stem}-{preset}'
  $ streamkit queue add https://cdn.example.com/a.mp4 -p ./ladder.yaml -o '/srv/media/out/{stem}' --redis redis://queue-host:6379
Adding the same input, preset, options and destination again is one job (reported as a duplicate).`,
    )
    .action(
      async (
        inputs: string[],
        o: {
          preset: string;
          output: string;
          framerate?: string;
          hw: HardwareRequest;
          perTitle?: boolean;
          attempts: number;
          backoff: number;
          force?: boolean;
          redis?: string;
          queue?: string;
        },
        cmd: Command,
      ) =>
        run(async (ctx) => {
          const target = queueTarget(o, io.env);
          const q = await openQueue<QueueJobData>(target);
          try {
            const added = await addJobs(q, inputs, {
              preset: o.preset,
              output: o.output,
              frameRate: o.framerate,
              hw: o.hw,
              perTitle: o.perTitle,
              force: o.force,
              retry: { attempts: o.attempts, backoffMs: Math.round(o.backoff * 1000) },
            });
            for (const a of added) {
              if (ctx.mode === 'json') ctx.reporter.event({ type: 'queued', ...a });
              else if (ctx.mode !== 'quiet') io.out.write(`${a.outcome === 'duplicate' ? `duplicate (${a.previousState})` : a.outcome} ${a.id} ${a.input} -> ${a.output}\n`);
            }
            const count = (k: string): number => added.filter((a) => a.outcome === k).length;
            const totals = { added: count('added'), replaced: count('replaced'), duplicates: count('duplicate') };
            if (ctx.mode === 'json') ctx.reporter.event({ type: 'queue-add', queue: target.queueName, ...totals });
            else if (ctx.mode !== 'quiet') io.out.write(`${totals.added + totals.replaced} job(s) enqueued on ${target.queueName}, ${totals.duplicates} duplicate(s)\n`);
          } finally {
            await q.close();
          }
        }, globals(cmd)),
    );

  addQueueOptions(queue.command('status').description('job counts, active jobs with progress, failed jobs with their reason'))
    .option('--limit <n>', 'list at most this many jobs of each kind', positiveInt, 20)
    .addHelpText('after', '\nExamples:\n  $ streamkit queue status\n  $ streamkit queue status --json --redis redis://queue-host:6379')
    .action(async (o: { redis?: string; queue?: string; limit: number }, cmd: Command) =>
      run(async (ctx) => {
        const target = queueTarget(o, io.env);
        const q = await openQueue(target);
        try {
          const s = await queueStatus(q, o.limit);
          if (ctx.mode === 'json') {
            ctx.reporter.event({
              type: 'queue-status',
              redis: redactRedisUrl(target.redisUrl),
              ...s,
              failed: s.failed.map((f) => ({ ...f, message: splitReason(f.reason).message })),
            });
          } else printStatus(io, s, redactRedisUrl(target.redisUrl));
        } finally {
          await q.close();
        }
      }, globals(cmd)),
    );
}
