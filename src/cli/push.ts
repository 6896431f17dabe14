import { type Command, InvalidArgumentError } from 'commander';
import { shellQuote } from '../ffmpeg/shell-quote.js';
import { describeMedia } from '../media/probe.js';
import { formatRational } from '../media/rational.js';
import { DEFAULT_LIVE_PRESET, planPush, push, type PushEvent } from '../push/push.js';
import type { CliIo, CommandContext, GlobalOptions } from './context.js';
import { duration, kbps } from './format.js';
import { statusLines } from './status-lines.js';
import type { HardwareRequest } from '../encoder/select.js';
import { frameRateOption, hwOption } from './options.js';

/** `[[hh:]mm:]ss[.fff]` or plain seconds -> seconds. */
export function parseDuration(v: string): number {
  const m = /^(?:(?:(\d+):)?(\d{1,2}):)?(\d+(?:\.\d+)?)$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected seconds (90, 1.5) or [hh:]mm:ss (1:30, 01:00:00)');
  const s = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3]);
  if (!(s > 0)) throw new InvalidArgumentError('expected a duration above 0');
  return s;
}

function count(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a whole number (0 = no reconnects)');
  return Number(v);
}

function seconds(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0) || n > 300) throw new InvalidArgumentError('expected seconds above 0 (at most 300), e.g. 2 or 0.5');
  return n;
}

/**
 * Human output for push: event lines (connect, reconnect, done) and a progress line, rewritten in
 * place in a terminal, every 10 s in plain (CI) logs. The URL in events is already redacted.
 */
function humanRenderer(ctx: CommandContext): { event: (e: PushEvent) => void; finish: () => void } {
  const { line, status, finish } = statusLines(ctx);
  return {
    event(e) {
      switch (e.type) {
        case 'push':
          line(
            `push ${e.input} -> ${e.url} (preset ${e.preset}: ${e.encoder} on ${e.hardware}, ${e.width}x${e.height} @ ${e.frameRate} fps, ${kbps(e.videoBitrate)}${e.audioBitrate ? ` + AAC ${kbps(e.audioBitrate)}` : ''}, keyframe every ${e.keyframeInterval.toFixed(2)} s${e.loop ? ', looping' : ''}${e.durationSeconds !== null ? `, for ${duration(e.durationSeconds)}` : ''}; ffmpeg ${e.ffmpeg.version})`,
          );
          break;
        case 'connecting':
          line(`connecting to ${e.url}${e.attempt > 1 ? ` (connection ${e.attempt}, from ${duration(e.startSeconds)} of the input)` : ''}...`);
          break;
        case 'connected':
          line(`connected to ${e.url}, publishing`);
          break;
        case 'live':
          status(
            `live ${duration(e.liveSeconds)}  sent ${duration(e.sentSeconds)}  ${e.fps === null ? '-' : e.fps.toFixed(0)} fps  ${e.bitrateKbps === null ? '-' : kbps(e.bitrateKbps * 1000)}  ${e.speed === null ? '' : `${e.speed.toFixed(2)}x  `}dropped ${e.dropFrames ?? 0}  duplicated ${e.dupFrames ?? 0}`,
          );
          break;
        case 'reconnect':
          line(`connection lost (${e.reason}) after ${duration(e.sentSeconds)} sent; reconnecting in ${e.delaySeconds.toFixed(1)} s (attempt ${e.attempt} of ${e.maxAttempts})`);
          break;
        case 'warning':
          line(`note: ${e.message}`);
          break;
        case 'push-done':
          line(`done: ${duration(e.sentSeconds)} sent to ${e.url}, ${duration(e.liveSeconds)} live, ${e.reconnects} reconnect${e.reconnects === 1 ? '' : 's'}`);
          break;
      }
    },
    finish,
  };
}

export function registerPush(program: Command, io: CliIo, run: (action: (ctx: CommandContext) => Promise<void>, opts: GlobalOptions) => Promise<void>): void {
  program
    .command('push')
    .description('encode INPUT in real time with a live preset and publish it to an RTMP(S) ingest server')
    .argument('<input>', 'media file (a path is always a file) or an explicit http(s):// URL')
    .argument('<url>', 'rtmp://host[:port]/app/STREAM_KEY or rtmps://...; the key is never printed')
    .option('-p, --preset <name|file>', 'live preset (live: true)', DEFAULT_LIVE_PRESET)
    .option('--loop', 'loop the input forever (a test stream); stop with Ctrl-C or --duration')
    .option('--duration <time>', 'stop after this much stream: seconds or [hh:]mm:ss (kept across reconnects)', parseDuration)
    .option('--reconnect-attempts <n>', 'after the stream was live: attempts to reconnect when the connection drops (0: none)', count, 5)
    .option('--reconnect-delay <seconds>', 'first wait before reconnecting; doubles per failed attempt, at most 30 s', seconds, 2)
    .addOption(frameRateOption())
    .addOption(hwOption())
    .option('--dry-run', 'print what would be published and the ffmpeg command (key redacted); publish nothing')
    .addHelpText(
      'after',
      `
Examples:
  $ streamkit push movie.mp4 rtmp://127.0.0.1/live/$STREAM_KEY
  $ streamkit push sample.mp4 rtmp://ingest.example.com/app/$KEY --loop --duration 1:00:00
  $ streamkit push talk.mp4 rtmps://live.example.com:443/app/$KEY --reconnect-attempts 10 --json`,
    )
    .action(
      async (
        input: string,
        url: string,
        o: {
          preset: string;
          loop?: boolean;
          duration?: number;
          reconnectAttempts: number;
          reconnectDelay: number;
          framerate?: string;
          hw: HardwareRequest;
          dryRun?: boolean;
        },
        cmd: Command,
      ) =>
        run(async (ctx) => {
          const common = {
            input,
            url,
            preset: o.preset,
            loop: o.loop ?? false,
            durationSeconds: o.duration ?? null,
            reconnectAttempts: o.reconnectAttempts,
            reconnectDelaySeconds: o.reconnectDelay,
            ffmpeg: ctx.opts.ffmpeg,
            ffprobe: ctx.opts.ffprobe,
            frameRate: o.framerate,
            hw: o.hw,
            signal: io.signal,
          };
          if (o.dryRun) {
            const planned = await planPush(common);
            const command = [planned.toolchain.ffmpeg.path, '-hide_banner', '-nostdin', ...planned.redactedArgv];
            const rung = planned.plan.ladder.rungs[0]!;
            if (ctx.mode === 'json') {
              ctx.reporter.event({
                type: 'push-plan',
                input,
                url: planned.target.redacted,
                preset: planned.preset.name,
                encoder: planned.hardware.encoder,
                hardware: planned.hardware.hardware,
                width: rung.width,
                height: rung.height,
                frameRate: formatRational(planned.plan.ladder.frameRate),
                bitrate: rung.bitrate,
                notes: planned.notes,
                command,
              });
              return;
            }
            io.out.write(`# ${describeMedia(planned.plan.media)}\n`);
            io.out.write(
              `# preset ${planned.preset.name}: ${planned.hardware.encoder} on ${planned.hardware.hardware}, ${rung.width}x${rung.height} @ ${formatRational(planned.plan.ladder.frameRate)} fps, ${kbps(rung.bitrate)}, keyframe every ${planned.plan.ladder.gopFrames} frames\n`,
            );
            for (const n of planned.notes) io.out.write(`# note: ${n}\n`);
            io.out.write(`# publish to ${planned.target.redacted} (stream key redacted below)\n`);
            io.out.write(`${shellQuote(command)}\n`);
            return;
          }
          if (ctx.mode === 'json') {
            await push({ ...common, onEvent: (e) => ctx.reporter.event(e) });
            return;
          }
          const r = humanRenderer(ctx);
          try {
            await push({ ...common, onEvent: r.event });
          } finally {
            r.finish();
          }
        }, cmd.optsWithGlobals<GlobalOptions>()),
    );
}
