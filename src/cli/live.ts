import { type Command, InvalidArgumentError } from 'commander';
import { shellQuote } from '../ffmpeg/shell-quote.js';
import { buildLiveArgs, srtListenerInput } from '../live/command.js';
import { type LiveEvent, planLiveRun, runLive } from '../live/live.js';
import { DEFAULT_LIVE_LADDER } from '../live/plan.js';
import type { CliIo, CommandContext, GlobalOptions } from './context.js';
import { duration, kbps } from './format.js';
import { statusLines } from './status-lines.js';

function whole(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a whole number');
  return Number(v);
}

function seconds(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n >= 1) || n > 600) throw new InvalidArgumentError('expected seconds from 1 to 600');
  return n;
}

/** Human output: event lines, and a status line rewritten in place in a terminal (every 10 s in plain logs). */
function humanRenderer(ctx: CommandContext): { event: (e: LiveEvent) => void; finish: () => void } {
  const { line, status, finish } = statusLines(ctx);
  return {
    event(e) {
      switch (e.type) {
        case 'live-start':
          line(
            `live: ${e.listen} -> ${e.output}/master.m3u8 (preset ${e.preset}: ${e.rungs.map((r) => `${r.name} ${r.width}x${r.height} ${kbps(r.bitrate)}`).join(', ')}; ${e.frameRate} fps, ${e.segmentDuration} s segments, ${e.window === 0 ? 'every segment kept' : `window ${e.window} segments`}; ffmpeg ${e.ffmpeg.version})`,
          );
          break;
        case 'waiting':
          line(`waiting for the publisher on ${e.listen}${e.session > 1 ? ` (session ${e.session})` : ''}...`);
          break;
        case 'publisher':
          line(`publisher connected${e.remote ? ` from ${e.remote}` : ''} (session ${e.session})`);
          break;
        case 'refused':
          line(`refused ${e.remote}: ${e.reason}`);
          break;
        case 'input':
          line(`input: ${e.video ?? 'no video'}${e.audio ? ` | ${e.audio}` : ' | no audio'}`);
          break;
        case 'master':
          line(`master.m3u8: ${e.variants.map((v) => `${v.name} ${kbps(v.bandwidth)} peak`).join(', ')}`);
          break;
        case 'live': {
          const rates = Object.entries(e.bitrates)
            .map(([k, v]) => `${k} ${v === null ? '-' : kbps(v)}`)
            .join(' ');
          status(
            `live ${duration(e.liveSeconds)}  ${e.fps === null ? '-' : e.fps.toFixed(0)} fps  ${e.speed === null ? '-' : `${e.speed.toFixed(2)}x`}${e.behindSeconds === null ? '' : ` (${e.behindSeconds.toFixed(1)} s behind)`}  ${rates}  dropped ${e.dropFrames ?? 0}  latency ${e.latencySeconds === null ? '-' : `~${e.latencySeconds.toFixed(1)} s`}  segments ${e.segments}`,
          );
          break;
        }
        case 'session-end':
          line(`session ${e.session} ended (${e.reason}) after ${e.segments} segments; waiting for the publisher to come back`);
          break;
        case 'warning':
          line(`note: ${e.message}`);
          break;
        case 'live-done':
          line(`done: ${e.segments} segments in ${e.sessions} session(s), ${duration(e.liveSeconds)} live; playlists ended with #EXT-X-ENDLIST in ${e.output}`);
          break;
      }
    },
    finish,
  };
}

export function registerLive(program: Command, io: CliIo, run: (action: (ctx: CommandContext) => Promise<void>, opts: GlobalOptions) => Promise<void>): void {
  program
    .command('live')
    .description('take a live RTMP or SRT stream in and publish it as a live HLS ladder (runs until stopped)')
    .requiredOption('--listen <url>', 'rtmp://HOST:PORT/APP/STREAM_KEY or srt://HOST:PORT?passphrase=SECRET; only that key/passphrase may publish')
    .option('-p, --preset <name|file>', 'live ladder preset (live: true, packaging.hls)', DEFAULT_LIVE_LADDER)
    .requiredOption('-o, --output <dir>', 'folder for master.m3u8 and the rendition folders (hand it to a CDN or `streamkit serve`)')
    .option('-f, --force', 'replace an earlier package in the output folder')
    .option('--window <segments>', 'segments listed in each playlist (0: keep every segment, an EVENT playlist)', whole, 10)
    .option('--delete-after <seconds>', 'how long a segment stays on disk after it left the window (default: the window duration)', seconds)
    .option('--stall-timeout <seconds>', 'no data from the publisher for this long: the session ends and streamkit waits for it to return', seconds, 5)
    .option('--dry-run', 'print the ladder and the ffmpeg command of a session (secrets redacted); listen for nothing')
    .addHelpText(
      'after',
      `
Examples:
  $ streamkit live --listen rtmp://0.0.0.0:1935/live/$STREAM_KEY -o /srv/hls/live
  $ streamkit live --listen 'srt://0.0.0.0:9000?passphrase=$SRT_SECRET' --preset live-ladder -o out/live
  $ streamkit live --listen rtmp://127.0.0.1:1935/live/test --window 0 -o out/event   # keep the whole event

SIGTERM ends the playlists with #EXT-X-ENDLIST and exits 0; Ctrl-C does the same and exits 130.`,
    )
    .action(
      async (o: { listen: string; preset: string; output: string; force?: boolean; window: number; deleteAfter?: number; stallTimeout: number; dryRun?: boolean }, cmd: Command) =>
        run(async (ctx) => {
          const common = { listen: o.listen, preset: o.preset, ffmpeg: ctx.opts.ffmpeg, ffprobe: ctx.opts.ffprobe };
          if (o.dryRun) {
            const { target, plan, toolchain } = await planLiveRun(common);
            const input =
              target.kind === 'rtmp' ? { kind: 'rtmp' as const, url: `rtmp://127.0.0.1:PORT/${target.app}/${target.key}`, options: [] } : srtListenerInput(target, o.stallTimeout);
            const command = [toolchain.ffmpeg.path, ...buildLiveArgs(plan, { input, sessionDir: '.live/s0001', ioTimeoutSeconds: o.stallTimeout })].map(target.redact);
            if (ctx.mode === 'json') {
              ctx.reporter.event({
                type: 'live-plan',
                listen: target.redacted,
                preset: plan.preset,
                rungs: plan.rungs,
                frameRate: plan.fps,
                segmentDuration: plan.segmentDuration,
                command,
              });
              return;
            }
            io.out.write(`# listen on ${target.redacted}${target.kind === 'rtmp' ? ' (streamkit; ffmpeg listens on a loopback PORT behind it)' : ''}\n`);
            for (const r of plan.rungs) io.out.write(`# ${r.name.padEnd(6)} ${`${r.width}x${r.height}`.padEnd(10)} ${kbps(r.bitrate)} (max ${kbps(r.maxrate)})\n`);
            io.out.write(`# ${plan.fps} fps, keyframe every ${plan.gopFrames} frames, ${plan.segmentDuration} s segments\n${shellQuote(command)}\n`);
            return;
          }
          io.stopNote = 'ending the live playlists with #EXT-X-ENDLIST';
          const options = {
            ...common,
            output: o.output,
            force: o.force,
            window: o.window,
            deleteAfterSeconds: o.deleteAfter,
            stallSeconds: o.stallTimeout,
            signal: io.signal,
          };
          if (ctx.mode === 'json') {
            await runLive({ ...options, onEvent: (e) => ctx.reporter.event(e) });
            return;
          }
          const r = humanRenderer(ctx);
          try {
            await runLive({ ...options, onEvent: r.event });
          } finally {
            r.finish();
          }
        }, cmd.optsWithGlobals<GlobalOptions>()),
    );
}
